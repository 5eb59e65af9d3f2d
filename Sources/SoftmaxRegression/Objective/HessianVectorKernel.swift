/// The product of the data term's Hessian with a direction u = (U, c), as a fused pass over
/// a range of rows in Double:
///
///     z_i = W x_i + b,   p_i = softmax(z_i),   s_i = U x_i + c,   s̄_i = Σ_k p_ik s_ik
///     r_ik = v_i p_ik (s_ik − s̄_i)
///     (∇² Σ_i v_i ℓ_i · u)_{w_k} = Σ_i r_ik x_i,   (…)_{b_k} = Σ_i r_ik
///
/// (∇²ℓ_i = (diag p_i − p_i p_iᵀ) ⊗ [x_i, 1][x_i, 1]ᵀ.) The sums go into the accumulator's
/// gradient slot in the θ layout, and Σ v_i into its weight sum; the objective divides by
/// the weight sum and adds the penalty's part after the reduction, as for the gradient.
/// One row at a time, like `PreciseGradientKernel`. Cost: 6·rows·rowStride·K flops.
struct HessianVectorKernel: ShardKernel, @unchecked Sendable {
  // @unchecked: the pointers are only read during a pass; each shard's accumulator is
  // written by the one worker that holds that shard.
  let features: UnsafePointer<Float>
  let rowStride: Int
  let classCount: Int
  /// θ: K × rowStride weights and K biases.
  let weights: UnsafePointer<Double>
  let bias: UnsafePointer<Double>
  /// u, in the same layout.
  let directionWeights: UnsafePointer<Double>
  let directionBias: UnsafePointer<Double>
  var rowIndices: UnsafePointer<Int32>? = nil
  var rowWeights: UnsafePointer<Float>? = nil

  /// Scratch doubles `accumulate` needs: the row in Double, logits, exponentials, and the
  /// direction's logits.
  static func scratchCount(classCount: Int, rowStride: Int) -> Int {
    rowStride + 3 * PreciseGradientKernel.paddedClassCount(classCount)
  }

  func accumulate(
    rows: Range<Int>, into accumulator: inout PartialSums<Double>.Accumulator,
    scratch: UnsafeMutableBufferPointer<Double>
  ) {
    let row = scratch.baseAddress!
    let paddedClasses = PreciseGradientKernel.paddedClassCount(classCount)
    let logits = row + rowStride
    let exponentials = logits + paddedClasses
    let directionLogits = exponentials + paddedClasses
    for lane in classCount..<paddedClasses { logits[lane] = -.infinity }
    let biasProduct = accumulator.gradient + classCount * rowStride
    for position in rows {
      let index = Int(rowIndices?[position] ?? Int32(position))
      DoubleRow.widen(features + index * rowStride, into: row, rowStride: rowStride)
      var maximum = -Double.infinity
      for classIndex in 0..<classCount {
        let offset = classIndex * rowStride
        logits[classIndex] = DoubleRow.dot(weights + offset, row, rowStride: rowStride) + bias[classIndex]
        maximum = max(maximum, logits[classIndex])
        directionLogits[classIndex] =
          DoubleRow.dot(directionWeights + offset, row, rowStride: rowStride) + directionBias[classIndex]
      }
      var lane = 0
      while lane < paddedClasses {
        let shifted = DoubleRow.load(logits + lane) - DoubleRow.Vector4(repeating: maximum)
        UnsafeMutableRawPointer(exponentials + lane).storeBytes(
          of: VectorMath.exp(shifted), as: DoubleRow.Vector4.self)
        lane += 4
      }
      var normaliser = 0.0
      var weightedDirection = 0.0
      for classIndex in 0..<classCount {
        normaliser += exponentials[classIndex]
        weightedDirection += exponentials[classIndex] * directionLogits[classIndex]
      }
      let meanDirection = weightedDirection / normaliser
      let weight = Double(rowWeights?[index] ?? 1)
      accumulator.weightSum += weight
      let scale = weight / normaliser
      for classIndex in 0..<classCount {
        let coefficient = scale * exponentials[classIndex] * (directionLogits[classIndex] - meanDirection)
        biasProduct[classIndex] += coefficient
        DoubleRow.addScaled(
          row, coefficient, into: accumulator.gradient + classIndex * rowStride, rowStride: rowStride)
      }
    }
  }
}
