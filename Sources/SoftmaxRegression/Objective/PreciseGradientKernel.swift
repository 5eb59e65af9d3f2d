#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The same fused pass as `GradientKernel`, in Double: logits, softmax, loss and gradient
/// sums are all computed in Double from the Float32 features (which are exact in Double).
///
/// Used to finish an optimization once the Float32 objective is too coarse to tell nearby
/// points apart (its logits carry ~1e-7 relative rounding, which on nearly separable data
/// with a small λ is more than the remaining decrease). One row at a time, SIMD4<Double>
/// dot products; about 4–6× the time of the Float32 kernel. Cost: 4·rows·rowStride·K flops.
struct PreciseGradientKernel: @unchecked Sendable {
  // @unchecked: the pointers are only read during a pass; each shard's accumulator is
  // written by the one worker that holds that shard.
  let features: UnsafePointer<Float>
  let rowStride: Int
  let labels: UnsafePointer<Int32>
  let classCount: Int
  /// K × rowStride weights and K biases, in Double.
  let weights: UnsafePointer<Double>
  let bias: UnsafePointer<Double>
  var rowIndices: UnsafePointer<Int32>? = nil
  var rowWeights: UnsafePointer<Float>? = nil

  typealias Vector4 = SIMD4<Double>

  /// Scratch doubles `accumulate` needs: the row in Double, logits and exponentials.
  static func scratchCount(classCount: Int, rowStride: Int) -> Int {
    rowStride + 2 * paddedClassCount(classCount)
  }

  /// K rounded up to 4, the Double vector width.
  static func paddedClassCount(_ classCount: Int) -> Int { (classCount + 3) / 4 * 4 }

  func accumulate(
    rows: Range<Int>, into accumulator: inout PartialSums<Double>.Accumulator,
    scratch: UnsafeMutableBufferPointer<Double>
  ) {
    let row = scratch.baseAddress!
    let paddedClasses = Self.paddedClassCount(classCount)
    let logits = row + rowStride
    let exponentials = logits + paddedClasses
    // Padding lanes hold −∞, whose exponential is exactly 0.
    for lane in classCount..<paddedClasses { logits[lane] = -.infinity }
    let biasGradient = accumulator.gradient + classCount * rowStride
    for position in rows {
      let index = Int(rowIndices?[position] ?? Int32(position))
      DoubleRow.widen(features + index * rowStride, into: row, rowStride: rowStride)
      var maximum = -Double.infinity
      var argmax = 0
      for classIndex in 0..<classCount {
        let z = DoubleRow.dot(weights + classIndex * rowStride, row, rowStride: rowStride) + bias[classIndex]
        logits[classIndex] = z
        if z > maximum {
          maximum = z
          argmax = classIndex
        }
      }
      let label = Int(labels[index])
      var lane = 0
      while lane < paddedClasses {
        let shifted = UnsafeRawPointer(logits + lane).loadUnaligned(as: Vector4.self) - Vector4(repeating: maximum)
        UnsafeMutableRawPointer(exponentials + lane).storeBytes(of: VectorMath.exp(shifted), as: Vector4.self)
        lane += 4
      }
      var normaliser = 0.0
      var othersThanMaximum = 0.0
      var othersThanTrue = 0.0
      for classIndex in 0..<classCount {
        let exponential = exponentials[classIndex]
        normaliser += exponential
        if classIndex != argmax { othersThanMaximum += exponential }
        if classIndex != label { othersThanTrue += exponential }
      }
      let weight = Double(rowWeights?[index] ?? 1)
      accumulator.loss += weight * (log1p(othersThanMaximum) + (maximum - logits[label]))
      accumulator.weightSum += weight
      if argmax == label { accumulator.correctCount += 1 }
      let scale = weight / normaliser
      for classIndex in 0..<classCount {
        let coefficient =
          classIndex == label ? -othersThanTrue * scale : exponentials[classIndex] * scale
        biasGradient[classIndex] += coefficient
        DoubleRow.addScaled(
          row, coefficient, into: accumulator.gradient + classIndex * rowStride, rowStride: rowStride)
      }
    }
  }
}
