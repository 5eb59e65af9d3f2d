/// The penalty r(θ) = (λ/2) ‖W‖² on the weights: not the bias, not the row padding.
///
///     ∇r = λW (0 for b),   ∇²r · v = λ v_W (0 for b)
///
/// All in Double; cost O(K·D) per call.
public struct L2Penalty: SmoothRegularizer {
  /// λ ≥ 0.
  public let lambda: Double
  /// Where W sits in θ.
  public let layout: ParameterLayout

  /// The penalty λ for parameters laid out as `layout`.
  public init(lambda: Double, layout: ParameterLayout) {
    self.lambda = lambda
    self.layout = layout
  }

  /// (λ/2) Σ_k Σ_{j<D} W_kj².
  public func value(_ parameters: UnsafeBufferPointer<Double>) -> Double {
    guard lambda != 0 else { return 0 }
    var sumOfSquares = 0.0
    for classIndex in 0..<layout.classCount {
      let row = classIndex * layout.rowStride
      for feature in 0..<layout.featureCount {
        let weight = parameters[row + feature]
        sumOfSquares += weight * weight
      }
    }
    return 0.5 * lambda * sumOfSquares
  }

  /// gradient += λW on the weights (padding entries are 0 in θ, so they stay 0).
  public func addGradient(
    _ parameters: UnsafeBufferPointer<Double>, into gradient: UnsafeMutableBufferPointer<Double>
  ) {
    addScaled(parameters, into: gradient)
  }

  /// product += λ v on the weights.
  public func addHessianVectorProduct(
    _ direction: UnsafeBufferPointer<Double>, into product: UnsafeMutableBufferPointer<Double>
  ) {
    addScaled(direction, into: product)
  }

  private func addScaled(
    _ vector: UnsafeBufferPointer<Double>, into target: UnsafeMutableBufferPointer<Double>
  ) {
    for index in 0..<layout.biasOffset { target[index] += lambda * vector[index] }
  }
}
