import Foundation
import Testing
@testable import SoftmaxRegression

#if arch(x86_64)
  import CKernel

  /// The C build of the Float32 kernel (what a dependency at a release tag runs) against the
  /// Swift kernel of this build. In a development build (x86-64-v3, `SOFTMAX_FMA`) the two
  /// must agree bit for bit; in a portable build the Swift kernel rounds products apart, so
  /// they only agree closely.
  @Suite("The C kernel for AVX2 + FMA", .enabled(if: softmax_kernel_avx2_available() == 1))
  struct NativeKernelTests {
    struct Sums: Equatable {
      var gradient: [UInt32]
      var loss: UInt64
      var weightSum: UInt64
      var correctCount: Int
    }

    /// Runs `native` or the Swift kernel over `rows` of a seeded problem.
    func run(
      rowCount: Int, featureCount: Int, classCount: Int, rows: Range<Int>, shuffled: Bool, weighted: Bool,
      scale: Float, native: Bool
    ) -> Sums {
      var random = SplitMix64(seed: UInt64(rowCount * 131 + featureCount * 7 + classCount))
      let rowStride = (featureCount + 7) / 8 * 8
      var features = [Float](repeating: 0, count: rowCount * rowStride)
      for row in 0..<rowCount {
        for column in 0..<featureCount { features[row * rowStride + column] = Float(random.nextGaussian()) * scale }
      }
      let labels = (0..<rowCount).map { _ in Int32(random.next() % UInt64(classCount)) }
      var weights = [Float](repeating: 0, count: classCount * rowStride)
      for k in 0..<classCount {
        for column in 0..<featureCount { weights[k * rowStride + column] = Float(random.nextGaussian()) }
      }
      let bias = (0..<classCount).map { _ in Float(random.nextGaussian()) }
      var order = (0..<Int32(rowCount)).map { $0 }
      if shuffled { order.shuffle(using: &random) }
      let rowWeights = (0..<rowCount).map { _ in Float(random.next() % 4) * 0.5 }
      let parameterCount = classCount * rowStride + classCount
      var gradient = [Float](repeating: 0, count: parameterCount)
      var scratch = [Float](
        repeating: .nan, count: GradientKernel.scratchCount(classCount: classCount, rowStride: rowStride))
      var scalars = (loss: 0.0, weightSum: 0.0, correctCount: 0)
      features.withUnsafeBufferPointer { features in
        labels.withUnsafeBufferPointer { labels in
          weights.withUnsafeBufferPointer { weights in
            bias.withUnsafeBufferPointer { bias in
              order.withUnsafeBufferPointer { order in
                rowWeights.withUnsafeBufferPointer { rowWeights in
                  gradient.withUnsafeMutableBufferPointer { gradient in
                    scratch.withUnsafeMutableBufferPointer { scratch in
                      var kernel = GradientKernel(
                        features: features.baseAddress!, rowStride: rowStride, labels: labels.baseAddress!,
                        classCount: classCount, weights: weights.baseAddress!, bias: bias.baseAddress!)
                      if shuffled { kernel.rowIndices = order.baseAddress }
                      if weighted { kernel.rowWeights = rowWeights.baseAddress }
                      var accumulator = PartialSums<Float>.Accumulator(gradient: gradient.baseAddress!)
                      accumulator.loss = 0.25  // sums add to what the accumulator holds
                      if native {
                        kernel.accumulateNative(rows: rows, into: &accumulator, scratch: scratch)
                      } else {
                        kernel.accumulateInSwift(rows: rows, into: &accumulator, scratch: scratch)
                      }
                      scalars = (accumulator.loss, accumulator.weightSum, accumulator.correctCount)
                    }
                  }
                }
              }
            }
          }
        }
      }
      return Sums(
        gradient: gradient.map(\.bitPattern), loss: scalars.loss.bitPattern,
        weightSum: scalars.weightSum.bitPattern, correctCount: scalars.correctCount)
    }

    @Test(
      "same sums as the Swift kernel: K odd and even, D not a multiple of 8, partial tiles, row subsets, weights, confident rows",
      arguments: [
        (2, 1, 5), (3, 7, 19), (10, 64, 64), (11, 100, 37), (4, 13, 200),
      ])
    func matchesSwiftKernel(classCount: Int, featureCount: Int, rowCount: Int) {
      for (shuffled, weighted, scale) in [(false, false, Float(1)), (true, true, 1), (true, false, 30)] {
        let rows = shuffled ? 1..<(rowCount - 1 > 1 ? rowCount - 1 : rowCount) : 0..<rowCount
        let native = run(
          rowCount: rowCount, featureCount: featureCount, classCount: classCount, rows: rows, shuffled: shuffled,
          weighted: weighted, scale: scale, native: true)
        let swift = run(
          rowCount: rowCount, featureCount: featureCount, classCount: classCount, rows: rows, shuffled: shuffled,
          weighted: weighted, scale: scale, native: false)
        #if SOFTMAX_FMA
          #expect(native == swift, "K \(classCount), D \(featureCount), rows \(rows), scale \(scale)")
        #else
          let close = zip(native.gradient, swift.gradient).allSatisfy { abs(Float(bitPattern: $0) - Float(bitPattern: $1)) <= 1e-3 * max(1, abs(Float(bitPattern: $1))) }
          #expect(close && native.correctCount == swift.correctCount)
        #endif
        #expect(native.correctCount > 0 || rowCount < 8)
      }
    }
  }
#endif
