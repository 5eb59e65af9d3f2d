/// The per-column affine map from the stored feature values x' to the coordinates the
/// parameters θ = (W, b) are expressed in, u_j = (x'_j − shift_j) / divisor_j, folded into
/// the parameters so that the stored values are never rewritten.
///
/// The logits in θ's coordinates equal the kernel's logits on the stored values with
///
///     W'_kj = W_kj / d_j,        b'_k = b_k − Σ_j W_kj · a_j / d_j        (a = shift, d = divisor)
///
/// a linear map θ ↦ θ' = Aθ (`toKernel`). By the chain rule the gradient in θ is Aᵀ times the
/// kernel's gradient (`fromKernel`): ∂J/∂W_kj = (∂J/∂W'_kj − ∂J/∂b'_k · a_j) / d_j, ∂J/∂b_k =
/// ∂J/∂b'_k; a Hessian-vector product is Aᵀ H' A v. Both maps are O(K · D) in Double, next to
/// the O(m · K · D) pass.
///
/// Training uses it for standardisation: u = (x − mean) / scale in the units the data was
/// written in, where x = x' · 2^e + offset is the stored value decoded (`ColumnEncoding`); so
/// a = (mean − offset) · 2^−e and d = scale · 2^−e. Without standardisation, u = x.
struct FeatureScaling: Sendable {
  /// a_j, in stored units.
  let shift: [Double]
  /// d_j > 0, in stored units.
  let divisor: [Double]

  /// The map to u = (x − mean) / scale (mean 0 and scale 1 without a standardisation) for
  /// data stored with `encoding`; nil when it is the identity (the kernel then takes θ as
  /// it is).
  init?(encoding: ColumnEncoding, standardization: Standardization?) {
    let count = encoding.offset.count
    let mean = standardization?.mean ?? [Double](repeating: 0, count: count)
    let scale = standardization?.scale ?? [Double](repeating: 1, count: count)
    let shift = (0..<count).map { (mean[$0] - encoding.offset[$0]) * encoding.scale[$0] }
    let divisor = (0..<count).map { scale[$0] * encoding.scale[$0] }
    guard shift.contains(where: { $0 != 0 }) || divisor.contains(where: { $0 != 1 }) else {
      return nil
    }
    self.shift = shift
    self.divisor = divisor
  }

  /// θ' = Aθ: the kernel's parameters (or direction) for θ (or a direction) in u coordinates.
  func toKernel(
    _ parameters: UnsafeBufferPointer<Double>, into kernel: UnsafeMutableBufferPointer<Double>,
    layout: ParameterLayout
  ) {
    for classIndex in 0..<layout.classCount {
      let row = classIndex * layout.rowStride
      var bias = parameters[layout.biasOffset + classIndex]
      for column in 0..<layout.featureCount {
        let weight = parameters[row + column] / divisor[column]
        kernel[row + column] = weight
        bias -= weight * shift[column]
      }
      for column in layout.featureCount..<layout.rowStride { kernel[row + column] = 0 }
      kernel[layout.biasOffset + classIndex] = bias
    }
  }

  /// g ← Aᵀg, in place: a gradient (or Hessian-vector product) in the kernel's parameters
  /// becomes one in θ's.
  func fromKernel(_ gradient: UnsafeMutableBufferPointer<Double>, layout: ParameterLayout) {
    for classIndex in 0..<layout.classCount {
      let row = classIndex * layout.rowStride
      let biasGradient = gradient[layout.biasOffset + classIndex]
      for column in 0..<layout.featureCount {
        gradient[row + column] = (gradient[row + column] - biasGradient * shift[column]) / divisor[column]
      }
    }
  }
}
