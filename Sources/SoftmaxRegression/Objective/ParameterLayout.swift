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
  public func pack(weights: [Float], bias: [Float]) -> [Float] {
    precondition(weights.count == classCount * featureCount && bias.count == classCount)
    var parameters = [Float](repeating: 0, count: parameterCount)
    for classIndex in 0..<classCount {
      for feature in 0..<featureCount {
        parameters[classIndex * rowStride + feature] = weights[classIndex * featureCount + feature]
      }
      parameters[biasOffset + classIndex] = bias[classIndex]
    }
    return parameters
  }

  /// Unpadded weights (K × D, row-major) and biases from θ.
  public func unpack(_ parameters: [Float]) -> (weights: [Float], bias: [Float]) {
    precondition(parameters.count == parameterCount)
    var weights: [Float] = []
    weights.reserveCapacity(classCount * featureCount)
    for classIndex in 0..<classCount {
      weights += parameters[(classIndex * rowStride)..<(classIndex * rowStride + featureCount)]
    }
    return (weights, Array(parameters[biasOffset...]))
  }
}
