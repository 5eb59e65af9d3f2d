/// Where W and b sit in the flat parameter vector θ the optimizers update.
///
/// θ = [W row-major, K rows of `rowStride` floats (columns ≥ featureCount are padding, kept
/// 0) | b, K floats]. The padding matches the feature rows' padding, so the kernel reads
/// whole 8-float chunks of both.
public struct ParameterLayout: Sendable, Equatable {
  /// The number of classes K.
  public let classCount: Int
  /// The number of features D.
  public let featureCount: Int
  /// Floats per weight row: D rounded up to 8.
  public let rowStride: Int

  /// The layout for K classes and D features.
  public init(classCount: Int, featureCount: Int) {
    self.classCount = classCount
    self.featureCount = featureCount
    self.rowStride = FeatureMatrix.paddedStride(forFeatureCount: featureCount)
  }

  /// The offset of b in θ.
  public var biasOffset: Int { classCount * rowStride }
  /// The length of θ.
  public var parameterCount: Int { biasOffset + classCount }

  /// θ from unpadded weights (K × D, row-major) and biases.
  public func pack<Scalar: BinaryFloatingPoint>(weights: [Scalar], bias: [Scalar]) -> [Double] {
    precondition(weights.count == classCount * featureCount && bias.count == classCount)
    var parameters = [Double](repeating: 0, count: parameterCount)
    for classIndex in 0..<classCount {
      for feature in 0..<featureCount {
        parameters[classIndex * rowStride + feature] = Double(weights[classIndex * featureCount + feature])
      }
      parameters[biasOffset + classIndex] = Double(bias[classIndex])
    }
    return parameters
  }

  /// Unpadded weights (K × D, row-major) and biases from θ, rounded to Float32 (the
  /// precision of a model).
  public func unpack(_ parameters: [Double]) -> (weights: [Float], bias: [Float]) {
    precondition(parameters.count == parameterCount)
    var weights: [Float] = []
    weights.reserveCapacity(classCount * featureCount)
    for classIndex in 0..<classCount {
      let start = classIndex * rowStride
      weights += parameters[start..<(start + featureCount)].map { Float($0) }
    }
    return (weights, parameters[biasOffset...].map { Float($0) })
  }
}
