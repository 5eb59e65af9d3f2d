import CKernel
#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The fused per-row work of the softmax objective over a range of rows, in one pass.
///
/// For each row x_i with label y_i it computes the logits z_ik = w_k·x_i + b_k, the stable
/// softmax p_ik = exp(z_ik − max_l z_il) / Σ_l exp(z_il − max_l z_il), the row loss
/// −log p_iy = log Σ_l exp(z_il − max) − (z_iy − max), the coefficients c_ik = p_ik − 1{y_i=k},
/// and adds into the accumulator (the loss and c_iy are computed without cancellation for
/// confidently classified rows, see `computeCoefficients`)
///
///     gradientW[k] += Σ_i c_ik · x_i      (K × rowStride, row-major, padding stays 0)
///     gradientB[k] += Σ_i c_ik
///     loss         += Σ_i −log p_iy        (Double)
///     correct      += #{i : argmax_k z_ik = y_i}   (first maximum wins)
///
/// With row weights v_i, every row's loss and coefficients are multiplied by v_i and
/// `weightSum` collects Σ v_i (the number of rows when there are no weights). Rows are
/// addressed through `rowIndices` when given (a subset or a shuffled order), so a
/// validation split or a mini-batch is a view of the data, not a copy.
///
/// Sums, not means: the objective divides by Σ v_i after reducing the shards. Nothing m×K is
/// materialised; scratch is O(K) per 8-row tile. Cost: 4·rows·rowStride·K flops plus
/// O(rows·K) for the softmax.
///
/// Layout of the work, per tile of 8 rows (two quads of 4):
/// - Logits: register tiles of 4 rows × 2 classes (8 accumulators, 4 row and 2 weight
///   vectors: 14 of the 16 AVX2 registers), so each weight chunk is loaded once per 4 rows
///   and each row chunk once per 2 classes. The 8 dot products are reduced together by a
///   shuffle tree (`reduceEight`, 21 vector ops instead of 8 separate horizontal sums).
/// - Softmax: logits are kept class-major, one SIMD8 vector of 8 rows per class, so max,
///   argmax, exp, log, loss and coefficients are lane-wise vector code with no per-row
///   branches or horizontal sums. (Measured: the row-at-a-time softmax with a scalar
///   max/argmax scan took a third of the epoch at D = 100.)
/// - Gradient: register tiles of 4 rows × 2 classes again; coefficients are broadcast.
/// - Memory: the logit and gradient loops also prefetch the next tile's rows, a cache line
///   every few iterations (`RowPrefetcher`), so that reading them overlaps this tile's
///   arithmetic. The loops run in segments of `segment` floats, one request per segment,
///   which keeps the prefetch bookkeeping out of the innermost loops.
struct GradientKernel: @unchecked Sendable {
  // @unchecked: the pointers are only read during a pass; each shard's accumulator is
  // written by the one worker that holds that shard.

  /// Row-major features, `rowStride` floats per row, padding zero.
  let features: UnsafePointer<Float>
  let rowStride: Int
  /// Class index of each row.
  let labels: UnsafePointer<Int32>
  let classCount: Int
  /// K × rowStride weights, row-major (one row per class), padding zero.
  let weights: UnsafePointer<Float>
  /// K biases.
  let bias: UnsafePointer<Float>
  /// The data row at each position, or nil when position i is row i.
  var rowIndices: UnsafePointer<Int32>? = nil
  /// A weight per data row (indexed by row, not position), or nil for weight 1.
  var rowWeights: UnsafePointer<Float>? = nil

  typealias Accumulator = PartialSums<Float>.Accumulator

  static let tileRows = 8

  /// Four row pointers processed together by the register tiles.
  typealias Quad = (
    UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>
  )

  /// The scratch floats `accumulate` needs: logits, coefficients and bias sums for an
  /// 8-row tile (8 per class each), and one zero row standing in for rows past the end.
  static func scratchCount(classCount: Int, rowStride: Int) -> Int {
    3 * classCount * 8 + rowStride
  }

  /// Adds the contributions of `rows` into `accumulator`, using `scratch` (at least
  /// `scratchCount` floats) as working space.
  func accumulate(
    rows: Range<Int>, into accumulator: inout Accumulator, scratch: UnsafeMutableBufferPointer<Float>
  ) {
    precondition(scratch.count >= Self.scratchCount(classCount: classCount, rowStride: rowStride))
    #if !SOFTMAX_FMA && arch(x86_64)
      if Self.runsNativeKernel {
        accumulateNative(rows: rows, into: &accumulator, scratch: scratch)
        return
      }
    #endif
    accumulateInSwift(rows: rows, into: &accumulator, scratch: scratch)
  }

  /// The Swift kernel; `accumulate` runs it unless the C build of it does (see below).
  func accumulateInSwift(
    rows: Range<Int>, into accumulator: inout Accumulator, scratch: UnsafeMutableBufferPointer<Float>
  ) {
    let vectorsPerClass = 8
    do {
      let logits = scratch.baseAddress!
      let coefficients = logits + classCount * vectorsPerClass
      let biasSums = coefficients + classCount * vectorsPerClass
      let zeroRow = UnsafePointer(biasSums + classCount * vectorsPerClass)
      scratch.update(repeating: 0)
      var correctLanes = SIMD8<Int32>()
      let segment = 8 * prefetchSegmentIterations
      var position = rows.lowerBound
      var (tileRows, active) = tileRowIndices(at: position, end: rows.upperBound)
      while position < rows.upperBound {
        let (nextRows, nextActive) = tileRowIndices(at: position + active, end: rows.upperBound)
        var prefetcher = RowPrefetcher(
          features: features, rowStride: rowStride, rows: nextRows, rowCount: nextActive)
        func rowPointer(_ offset: Int) -> UnsafePointer<Float> {
          offset < active ? features + Int(tileRows[offset]) * rowStride : zeroRow
        }
        let quads: (Quad, Quad) = (
          (rowPointer(0), rowPointer(1), rowPointer(2), rowPointer(3)),
          (rowPointer(4), rowPointer(5), rowPointer(6), rowPointer(7))
        )
        var tileLabels = Vector8(repeating: -1)
        var tileWeights = Vector8()
        for offset in 0..<active {
          let row = Int(tileRows[offset])
          tileLabels[offset] = Float(labels[row])
          tileWeights[offset] = rowWeights?[row] ?? 1
        }
        computeLogits(quads.0, laneOffset: 0, into: logits, prefetching: &prefetcher, every: segment)
        computeLogits(quads.1, laneOffset: 4, into: logits, prefetching: &prefetcher, every: segment)
        let lossLanes = computeCoefficients(
          logits: logits, labels: tileLabels, weights: tileWeights, into: coefficients,
          biasSums: biasSums, correctLanes: &correctLanes)
        accumulator.loss += Double(treeSum(lossLanes))
        accumulator.weightSum += Double(treeSum(tileWeights))
        addGradient(
          quads.0, coefficients: coefficients, laneOffset: 0, into: accumulator.gradient,
          prefetching: &prefetcher, every: segment)
        addGradient(
          quads.1, coefficients: coefficients, laneOffset: 4, into: accumulator.gradient,
          prefetching: &prefetcher, every: segment)
        position += active
        (tileRows, active) = (nextRows, nextActive)
      }
      accumulator.correctCount += Int(correctLanes.wrappedSum())
      let biasGradient = accumulator.gradient + classCount * rowStride
      for classIndex in 0..<classCount {
        biasGradient[classIndex] += treeSum(loadVector(biasSums + classIndex * vectorsPerClass))
      }
    }
  }

  // MARK: - The C build for AVX2 + FMA

  /// Whether `accumulate` runs the C build of this kernel (`CKernel`): in a build without
  /// `SOFTMAX_FMA` (a dependency at a release tag, or SOFTMAX_PORTABLE=1), where the Swift
  /// code is compiled for baseline x86-64 and would multiply and add apart on 4-lane
  /// halves, on a CPU with AVX2 and FMA. The C function carries its own target attribute,
  /// which SwiftPM accepts without unsafe flags. `SOFTMAX_NATIVE_KERNEL=0` turns it off
  /// (to measure the portable kernel). Both builds give the same bits (a test checks).
  static let runsNativeKernel: Bool = {
    #if arch(x86_64)
      return nativeKernelsAllowed && softmax_kernel_avx2_available() == 1
    #else
      return false
    #endif
  }()

  /// False when `SOFTMAX_NATIVE_KERNEL=0` asks for the Swift kernels only (the C builds of
  /// this kernel and of the blocked pass's steps are then never called).
  static let nativeKernelsAllowed: Bool =
    getenv("SOFTMAX_NATIVE_KERNEL").map { String(cString: $0) != "0" } ?? true

  #if arch(x86_64)
    /// The C build of `accumulateInSwift` (same tiles, same operations in the same order).
    /// Call only when `softmax_kernel_avx2_available()`.
    func accumulateNative(
      rows: Range<Int>, into accumulator: inout Accumulator, scratch: UnsafeMutableBufferPointer<Float>
    ) {
      var input = softmax_kernel_input(
        features: features, rowStride: rowStride, labels: labels, classCount: classCount, weights: weights,
        bias: bias, rowIndices: rowIndices, rowWeights: rowWeights)
      var sums = softmax_kernel_sums(
        gradient: accumulator.gradient, loss: accumulator.loss, weightSum: accumulator.weightSum,
        correctCount: accumulator.correctCount)
      softmax_kernel_accumulate_avx2(
        &input, rows.lowerBound, rows.upperBound, &sums, scratch.baseAddress, scratch.count)
      accumulator.loss = sums.loss
      accumulator.weightSum = sums.weightSum
      accumulator.correctCount = sums.correctCount
    }
  #endif

  /// The inner-loop iterations between two prefetches of the next tile's rows, chosen so
  /// that the requests spread over all of this tile's logit and gradient loops: 2 quads ×
  /// 2 passes × ⌈K/2⌉ class loops of rowStride/8 iterations.
  var prefetchSegmentIterations: Int {
    let iterationsPerTile = 4 * ((classCount + 1) / 2) * (rowStride / 8)
    return RowPrefetcher.iterationsPerLine(features: features, rowStride: rowStride, iterations: iterationsPerTile)
  }

  /// The data rows of the tile starting at `position` (−1 past `end`) and how many there are.
  private func tileRowIndices(at position: Int, end: Int) -> (SIMD8<Int32>, Int) {
    let count = max(0, min(Self.tileRows, end - position))
    var indices = SIMD8<Int32>(repeating: -1)
    for offset in 0..<count {
      indices[offset] = rowIndices?[position + offset] ?? Int32(position + offset)
    }
    return (indices, count)
  }

  // MARK: - Logits

  /// Writes z_rk for the quad's 4 rows into lanes laneOffset..<laneOffset+4 of each class's
  /// logit vector (class-major: `logits + 8k`).
  private func computeLogits(
    _ quad: Quad, laneOffset: Int, into logits: UnsafeMutablePointer<Float>,
    prefetching sharedPrefetcher: inout RowPrefetcher, every segment: Int
  ) {
    // A local copy keeps the prefetcher's counters in registers through the loops.
    var prefetcher = sharedPrefetcher
    defer { sharedPrefetcher = prefetcher }
    let (row0, row1, row2, row3) = quad
    var classIndex = 0
    while classIndex + 1 < classCount {
      let weights0 = weights + classIndex * rowStride
      let weights1 = weights0 + rowStride
      var sum00 = Vector8(), sum01 = Vector8(), sum10 = Vector8(), sum11 = Vector8()
      var sum20 = Vector8(), sum21 = Vector8(), sum30 = Vector8(), sum31 = Vector8()
      var offset = 0
      while offset < rowStride {
        prefetcher.requestNextLine()
        let segmentEnd = min(rowStride, offset &+ segment)
        repeat {
          let w0 = loadVector(weights0 + offset)
          let w1 = loadVector(weights1 + offset)
          let x0 = loadVector(row0 + offset)
          sum00 = multiplyAdd(x0, w0, sum00)
          sum01 = multiplyAdd(x0, w1, sum01)
          let x1 = loadVector(row1 + offset)
          sum10 = multiplyAdd(x1, w0, sum10)
          sum11 = multiplyAdd(x1, w1, sum11)
          let x2 = loadVector(row2 + offset)
          sum20 = multiplyAdd(x2, w0, sum20)
          sum21 = multiplyAdd(x2, w1, sum21)
          let x3 = loadVector(row3 + offset)
          sum30 = multiplyAdd(x3, w0, sum30)
          sum31 = multiplyAdd(x3, w1, sum31)
          offset &+= 8
        } while offset < segmentEnd
      }
      // Lanes: rows 0–3 of class k, then rows 0–3 of class k+1: two 4-lane stores.
      let dots = Self.reduceEight(sum00, sum10, sum20, sum30, sum01, sum11, sum21, sum31)
      let biases = SIMD4<Float>(repeating: bias[classIndex])
      let nextBiases = SIMD4<Float>(repeating: bias[classIndex + 1])
      let logits0 = logits + classIndex * 8 + laneOffset
      UnsafeMutableRawPointer(logits0).storeBytes(of: dots.lowHalf + biases, as: SIMD4<Float>.self)
      UnsafeMutableRawPointer(logits0 + 8).storeBytes(of: dots.highHalf + nextBiases, as: SIMD4<Float>.self)
      classIndex += 2
    }
    if classIndex < classCount {
      let weights0 = weights + classIndex * rowStride
      var sum0 = Vector8(), sum1 = Vector8(), sum2 = Vector8(), sum3 = Vector8()
      var offset = 0
      while offset < rowStride {
        prefetcher.requestNextLine()
        let segmentEnd = min(rowStride, offset &+ segment)
        repeat {
          let w0 = loadVector(weights0 + offset)
          sum0 = multiplyAdd(loadVector(row0 + offset), w0, sum0)
          sum1 = multiplyAdd(loadVector(row1 + offset), w0, sum1)
          sum2 = multiplyAdd(loadVector(row2 + offset), w0, sum2)
          sum3 = multiplyAdd(loadVector(row3 + offset), w0, sum3)
          offset &+= 8
        } while offset < segmentEnd
      }
      let dots = Self.reduceFour(sum0, sum1, sum2, sum3) + SIMD4<Float>(repeating: bias[classIndex])
      UnsafeMutableRawPointer(logits + classIndex * 8 + laneOffset).storeBytes(of: dots, as: SIMD4<Float>.self)
    }
  }

  // The horizontal sums below move floats with 64-bit shifts, blends and 64-bit unpacks.
  // Written with element-wise initialisers (`Vector8(a[0], a[2], …)`), LLVM scalarised the
  // whole tree into ~90 inserts and shuffles per call; this form stays at ~30 vector ops.

  /// [a0+a1, b0+b1, a2+a3, b2+b3, a4+a5, b4+b5, a6+a7, b6+b7]: shifts and a blend, no shuffles.
  @inline(__always)
  static func interleavedPairSums(_ a: Vector8, _ b: Vector8) -> Vector8 {
    typealias Words = SIMD4<UInt64>
    let aSums = a + unsafeBitCast(unsafeBitCast(a, to: Words.self) &>> 32, to: Vector8.self)
    let bSums = b + unsafeBitCast(unsafeBitCast(b, to: Words.self) &<< 32, to: Vector8.self)
    var oddLanes = SIMDMask<SIMD8<Int32>>()
    oddLanes[1] = true
    oddLanes[3] = true
    oddLanes[5] = true
    oddLanes[7] = true
    return aSums.replacing(with: bSums, where: oddLanes)
  }

  /// [Σa₀…₃, Σb₀…₃, Σc₀…₃, Σd₀…₃, Σa₄…₇, Σb₄…₇, Σc₄…₇, Σd₄…₇] from two `interleavedPairSums`
  /// results x = (a, b) and y = (c, d): 64-bit unpacks within each 128-bit half.
  @inline(__always)
  static func quadSums(_ x: Vector8, _ y: Vector8) -> Vector8 {
    typealias Pairs = SIMD4<Double>  // a pair of floats per lane; never used as numbers
    let xPairs = unsafeBitCast(x, to: Pairs.self), yPairs = unsafeBitCast(y, to: Pairs.self)
    let low = unsafeBitCast(Pairs(xPairs[0], yPairs[0], xPairs[2], yPairs[2]), to: Vector8.self)
    let high = unsafeBitCast(Pairs(xPairs[1], yPairs[1], xPairs[3], yPairs[3]), to: Vector8.self)
    return low + high
  }

  /// [Σa, Σb, Σc, Σd, Σe, Σf, Σg, Σh]: eight horizontal sums with one tree, each summed as
  /// ((x0+x1)+(x2+x3)) + ((x4+x5)+(x6+x7)).
  @inline(__always)
  static func reduceEight(
    _ a: Vector8, _ b: Vector8, _ c: Vector8, _ d: Vector8,
    _ e: Vector8, _ f: Vector8, _ g: Vector8, _ h: Vector8
  ) -> Vector8 {
    let abcd = quadSums(interleavedPairSums(a, b), interleavedPairSums(c, d))
    let efgh = quadSums(interleavedPairSums(e, f), interleavedPairSums(g, h))
    return Vector8(lowHalf: abcd.lowHalf, highHalf: efgh.lowHalf)
      + Vector8(lowHalf: abcd.highHalf, highHalf: efgh.highHalf)
  }

  /// [Σa, Σb, Σc, Σd].
  @inline(__always)
  static func reduceFour(_ a: Vector8, _ b: Vector8, _ c: Vector8, _ d: Vector8) -> SIMD4<Float> {
    let abcd = quadSums(interleavedPairSums(a, b), interleavedPairSums(c, d))
    return abcd.lowHalf + abcd.highHalf
  }

  // MARK: - Softmax, loss and coefficients (8 rows in the lanes)

  /// The softmax, loss and coefficients of one 8-row tile, lane per row; returns each lane's
  /// weighted loss v_i·(−log p_iy).
  ///
  /// Kept out of line, and free of horizontal sums (the caller sums the returned lanes): an
  /// in-order `sum()` here made LLVM scalarise the loops that feed it (per-lane branches and
  /// scalar loads, measured 6% slower per epoch).
  @inline(never)
  func computeCoefficients(
    logits: UnsafeMutablePointer<Float>, labels: Vector8, weights: Vector8,
    into coefficients: UnsafeMutablePointer<Float>, biasSums: UnsafeMutablePointer<Float>,
    correctLanes: inout SIMD8<Int32>
  ) -> Vector8 {
    // Lanes past the last row have label −1 and weight 0: they never count as correct, and
    // the weight removes them from every sum (their logits are the biases, so finite).
    // Maximum and argmax (the first maximal class, as `predict` breaks ties).
    var maximum = loadVector(logits)
    var argmax = Vector8()
    for classIndex in 1..<classCount {
      let z = loadVector(logits + classIndex * 8)
      let greater = z .> maximum
      maximum.replace(with: z, where: greater)
      argmax.replace(with: Float(classIndex), where: greater)
    }
    // The exponentials e_k = exp(z_k − max), and two sums that avoid cancellation for
    // confidently classified rows, where s = Σ e_k is 1 + tiny: the sum without the
    // maximal term (s − 1, exactly, since that term is exp(0) = 1) and the sum without the
    // true class's term (so that p_y − 1 = −Σ_{k≠y} e_k / s keeps its digits).
    var normaliser = Vector8()
    var othersThanMaximum = Vector8()
    var othersThanTrue = Vector8()
    var trueLogit = Vector8()
    for classIndex in 0..<classCount {
      let z = loadVector(logits + classIndex * 8)
      let classValue = Vector8(repeating: Float(classIndex))
      let exponential = VectorMath.expOfNonPositive(z - maximum)
      storeVector(exponential, coefficients + classIndex * 8)
      normaliser += exponential
      othersThanMaximum += exponential.replacing(with: 0, where: argmax .== classValue)
      let isTrue = labels .== classValue
      othersThanTrue += exponential.replacing(with: 0, where: isTrue)
      trueLogit.replace(with: z, where: isTrue)
    }
    // A true lane of a mask is −1.
    correctLanes &-= unsafeBitCast(argmax .== labels, to: SIMD8<Int32>.self)
    // −log p_y = log s − (z_y − max) = log1p(s − 1) + (max − z_y).
    let rowLoss = VectorMath.log1p(othersThanMaximum) + (maximum - trueLogit)
    let lossLanes = rowLoss * weights
    let reciprocal = 1 / normaliser
    let trueCoefficient = -othersThanTrue * reciprocal
    for classIndex in 0..<classCount {
      let isTrue = labels .== Vector8(repeating: Float(classIndex))
      var coefficient = loadVector(coefficients + classIndex * 8) * reciprocal
      coefficient.replace(with: trueCoefficient, where: isTrue)
      coefficient *= weights
      storeVector(coefficient, coefficients + classIndex * 8)
      let sums = biasSums + classIndex * 8
      storeVector(loadVector(sums) + coefficient, sums)
    }
    return lossLanes
  }

  // MARK: - Gradient

  /// gradientW[k] += Σ_{r in quad} c_rk · x_r, for every class.
  private func addGradient(
    _ quad: Quad, coefficients: UnsafePointer<Float>, laneOffset: Int,
    into gradient: UnsafeMutablePointer<Float>, prefetching sharedPrefetcher: inout RowPrefetcher,
    every segment: Int
  ) {
    var prefetcher = sharedPrefetcher
    defer { sharedPrefetcher = prefetcher }
    let (row0, row1, row2, row3) = quad
    var classIndex = 0
    while classIndex + 1 < classCount {
      let c0 = coefficients + classIndex * 8 + laneOffset
      let c1 = c0 + 8
      let v00 = Vector8(repeating: c0[0]), v01 = Vector8(repeating: c1[0])
      let v10 = Vector8(repeating: c0[1]), v11 = Vector8(repeating: c1[1])
      let v20 = Vector8(repeating: c0[2]), v21 = Vector8(repeating: c1[2])
      let v30 = Vector8(repeating: c0[3]), v31 = Vector8(repeating: c1[3])
      let gradient0 = gradient + classIndex * rowStride
      let gradient1 = gradient0 + rowStride
      var offset = 0
      while offset < rowStride {
        prefetcher.requestNextLine()
        let segmentEnd = min(rowStride, offset &+ segment)
        repeat {
          let x0 = loadVector(row0 + offset)
          let x1 = loadVector(row1 + offset)
          let x2 = loadVector(row2 + offset)
          let x3 = loadVector(row3 + offset)
          var g0 = loadVector(gradient0 + offset)
          var g1 = loadVector(gradient1 + offset)
          g0 = multiplyAdd(x0, v00, g0)
          g1 = multiplyAdd(x0, v01, g1)
          g0 = multiplyAdd(x1, v10, g0)
          g1 = multiplyAdd(x1, v11, g1)
          g0 = multiplyAdd(x2, v20, g0)
          g1 = multiplyAdd(x2, v21, g1)
          g0 = multiplyAdd(x3, v30, g0)
          g1 = multiplyAdd(x3, v31, g1)
          storeVector(g0, gradient0 + offset)
          storeVector(g1, gradient1 + offset)
          offset &+= 8
        } while offset < segmentEnd
      }
      classIndex += 2
    }
    if classIndex < classCount {
      let c0 = coefficients + classIndex * 8 + laneOffset
      let v0 = Vector8(repeating: c0[0]), v1 = Vector8(repeating: c0[1])
      let v2 = Vector8(repeating: c0[2]), v3 = Vector8(repeating: c0[3])
      let gradient0 = gradient + classIndex * rowStride
      var offset = 0
      while offset < rowStride {
        prefetcher.requestNextLine()
        let segmentEnd = min(rowStride, offset &+ segment)
        repeat {
          var g0 = loadVector(gradient0 + offset)
          g0 = multiplyAdd(loadVector(row0 + offset), v0, g0)
          g0 = multiplyAdd(loadVector(row1 + offset), v1, g0)
          g0 = multiplyAdd(loadVector(row2 + offset), v2, g0)
          g0 = multiplyAdd(loadVector(row3 + offset), v3, g0)
          storeVector(g0, gradient0 + offset)
          offset &+= 8
        } while offset < segmentEnd
      }
    }
  }
}
