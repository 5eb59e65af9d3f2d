/// The fused per-row work of the softmax objective over a range of rows, in one pass.
///
/// For each row x_i with label y_i it computes the logits z_ik = w_k·x_i + b_k, the stable
/// softmax p_ik = exp(z_ik − max_l z_il) / Σ_l exp(z_il − max_l z_il), the row loss
/// −log p_iy = log Σ_l exp(z_il − max) − (z_iy − max), the coefficients c_ik = p_ik − 1{y_i=k},
/// and adds into the accumulator
///
///     gradientW[k] += Σ_i c_ik · x_i      (K × rowStride, row-major, padding stays 0)
///     gradientB[k] += Σ_i c_ik
///     loss         += Σ_i −log p_iy        (Double)
///     correct      += #{i : argmax_k z_ik = y_i}   (first maximum wins)
///
/// Sums, not means: the objective divides by m after reducing the shards. Nothing m×K is
/// materialised; scratch is O(K) per 4-row tile. Cost: 4·rows·rowStride·K flops plus
/// O(rows·K) for the softmax.
///
/// Register tiling: 4 rows × 2 classes per inner loop (8 accumulators, 4 row vectors and 2
/// weight vectors: 14 of the 16 AVX2 registers), so each weight chunk is loaded once per 4
/// rows and each row chunk once per 2 classes. The softmax is vectorised across classes and
/// the log across the tile's rows (`VectorMath`).
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

  /// Where one shard's sums go.
  struct Accumulator {
    /// K × rowStride, then K bias entries.
    var gradient: UnsafeMutablePointer<Float>
    var loss: Double = 0
    var correctCount: Int = 0
  }

  static let tileRows = 4

  /// Adds the contributions of `rows` into `accumulator`.
  func accumulate(rows: Range<Int>, into accumulator: inout Accumulator) {
    let paddedClassCount = (classCount + 7) / 8 * 8
    let tileRows = Self.tileRows
    withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * tileRows * paddedClassCount + rowStride) {
      scratch in
      let base = scratch.baseAddress!
      let logits = base
      let coefficients = base + tileRows * paddedClassCount
      let zeroRow = base + 2 * tileRows * paddedClassCount
      // Padding lanes of the logits stay −∞ so their exponentials are exactly 0.
      logits.initialize(repeating: -.infinity, count: tileRows * paddedClassCount)
      coefficients.initialize(repeating: 0, count: tileRows * paddedClassCount)
      zeroRow.initialize(repeating: 0, count: rowStride)
      var tile = Tile(
        rows: (UnsafePointer(zeroRow), UnsafePointer(zeroRow), UnsafePointer(zeroRow), UnsafePointer(zeroRow)), labels: (0, 0, 0, 0), activeCount: 0,
        logits: logits, coefficients: coefficients, paddedClassCount: paddedClassCount)
      var row = rows.lowerBound
      while row < rows.upperBound {
        let active = min(tileRows, rows.upperBound - row)
        tile.load(
          features: features, rowStride: rowStride, labels: labels, firstRow: row,
          activeCount: active, zeroRow: zeroRow)
        computeLogits(&tile)
        computeCoefficients(&tile, into: &accumulator)
        addGradient(tile, into: accumulator.gradient)
        row += active
      }
    }
  }

  /// Four rows in flight; inactive rows (past the range) point at a zero row.
  struct Tile {
    var rows:
      (UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>)
    var labels: (Int, Int, Int, Int)
    var activeCount: Int
    /// 4 × paddedClassCount logits, then the same for coefficients.
    let logits: UnsafeMutablePointer<Float>
    let coefficients: UnsafeMutablePointer<Float>
    let paddedClassCount: Int

    mutating func load(
      features: UnsafePointer<Float>, rowStride: Int, labels source: UnsafePointer<Int32>,
      firstRow: Int, activeCount: Int, zeroRow: UnsafePointer<Float>
    ) {
      func row(_ offset: Int) -> UnsafePointer<Float> {
        offset < activeCount ? features + (firstRow + offset) * rowStride : UnsafePointer(zeroRow)
      }
      func label(_ offset: Int) -> Int { offset < activeCount ? Int(source[firstRow + offset]) : 0 }
      rows = (row(0), row(1), row(2), row(3))
      labels = (label(0), label(1), label(2), label(3))
      self.activeCount = activeCount
    }

    func label(_ offset: Int) -> Int {
      switch offset {
      case 0: return labels.0
      case 1: return labels.1
      case 2: return labels.2
      default: return labels.3
      }
    }
  }

  // MARK: - Logits

  private func computeLogits(_ tile: inout Tile) {
    let (row0, row1, row2, row3) = tile.rows
    let stride = tile.paddedClassCount
    var classIndex = 0
    while classIndex + 1 < classCount {
      let weights0 = weights + classIndex * rowStride
      let weights1 = weights0 + rowStride
      var sum00 = Vector8(), sum01 = Vector8(), sum10 = Vector8(), sum11 = Vector8()
      var sum20 = Vector8(), sum21 = Vector8(), sum30 = Vector8(), sum31 = Vector8()
      var offset = 0
      while offset < rowStride {
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
        offset += 8
      }
      let bias0 = bias[classIndex]
      let bias1 = bias[classIndex + 1]
      tile.logits[classIndex] = sum00.sum() + bias0
      tile.logits[classIndex + 1] = sum01.sum() + bias1
      tile.logits[stride + classIndex] = sum10.sum() + bias0
      tile.logits[stride + classIndex + 1] = sum11.sum() + bias1
      tile.logits[2 * stride + classIndex] = sum20.sum() + bias0
      tile.logits[2 * stride + classIndex + 1] = sum21.sum() + bias1
      tile.logits[3 * stride + classIndex] = sum30.sum() + bias0
      tile.logits[3 * stride + classIndex + 1] = sum31.sum() + bias1
      classIndex += 2
    }
    if classIndex < classCount {
      let weights0 = weights + classIndex * rowStride
      var sum0 = Vector8(), sum1 = Vector8(), sum2 = Vector8(), sum3 = Vector8()
      var offset = 0
      while offset < rowStride {
        let w0 = loadVector(weights0 + offset)
        sum0 = multiplyAdd(loadVector(row0 + offset), w0, sum0)
        sum1 = multiplyAdd(loadVector(row1 + offset), w0, sum1)
        sum2 = multiplyAdd(loadVector(row2 + offset), w0, sum2)
        sum3 = multiplyAdd(loadVector(row3 + offset), w0, sum3)
        offset += 8
      }
      let bias0 = bias[classIndex]
      tile.logits[classIndex] = sum0.sum() + bias0
      tile.logits[stride + classIndex] = sum1.sum() + bias0
      tile.logits[2 * stride + classIndex] = sum2.sum() + bias0
      tile.logits[3 * stride + classIndex] = sum3.sum() + bias0
    }
  }

  // MARK: - Softmax, loss and coefficients

  private func computeCoefficients(_ tile: inout Tile, into accumulator: inout Accumulator) {
    let stride = tile.paddedClassCount
    var normalisers = Vector8(repeating: 1)
    var maxima = Vector8()
    for offset in 0..<tile.activeCount {
      let logits = tile.logits + offset * stride
      let coefficients = tile.coefficients + offset * stride
      var maximum = logits[0]
      var argmax = 0
      for classIndex in 1..<classCount where logits[classIndex] > maximum {
        maximum = logits[classIndex]
        argmax = classIndex
      }
      if argmax == tile.label(offset) { accumulator.correctCount += 1 }
      let shift = Vector8(repeating: maximum)
      var sum = Vector8()
      var lane = 0
      while lane < stride {
        let exponentials = VectorMath.exp(loadVector(logits + lane) - shift)
        storeVector(exponentials, coefficients + lane)
        sum += exponentials
        lane += 8
      }
      normalisers[offset] = sum.sum()
      maxima[offset] = maximum
    }
    let logNormalisers = VectorMath.log(normalisers)
    let reciprocals = 1 / normalisers
    for offset in 0..<Tile.rowsPerTile {
      let coefficients = tile.coefficients + offset * stride
      guard offset < tile.activeCount else {
        coefficients.update(repeating: 0, count: stride)
        continue
      }
      let label = tile.label(offset)
      let scale = Vector8(repeating: reciprocals[offset])
      var lane = 0
      while lane < stride {
        storeVector(loadVector(coefficients + lane) * scale, coefficients + lane)
        lane += 8
      }
      coefficients[label] -= 1
      let shiftedTrueLogit = tile.logits[offset * stride + label] - maxima[offset]
      accumulator.loss += Double(logNormalisers[offset] - shiftedTrueLogit)
    }
  }

  // MARK: - Gradient

  private func addGradient(_ tile: Tile, into gradient: UnsafeMutablePointer<Float>) {
    let (row0, row1, row2, row3) = tile.rows
    let stride = tile.paddedClassCount
    let biasGradient = gradient + classCount * rowStride
    var classIndex = 0
    while classIndex + 1 < classCount {
      let c00 = tile.coefficients[classIndex]
      let c01 = tile.coefficients[classIndex + 1]
      let c10 = tile.coefficients[stride + classIndex]
      let c11 = tile.coefficients[stride + classIndex + 1]
      let c20 = tile.coefficients[2 * stride + classIndex]
      let c21 = tile.coefficients[2 * stride + classIndex + 1]
      let c30 = tile.coefficients[3 * stride + classIndex]
      let c31 = tile.coefficients[3 * stride + classIndex + 1]
      biasGradient[classIndex] += (c00 + c10) + (c20 + c30)
      biasGradient[classIndex + 1] += (c01 + c11) + (c21 + c31)
      let v00 = Vector8(repeating: c00), v01 = Vector8(repeating: c01)
      let v10 = Vector8(repeating: c10), v11 = Vector8(repeating: c11)
      let v20 = Vector8(repeating: c20), v21 = Vector8(repeating: c21)
      let v30 = Vector8(repeating: c30), v31 = Vector8(repeating: c31)
      let gradient0 = gradient + classIndex * rowStride
      let gradient1 = gradient0 + rowStride
      var offset = 0
      while offset < rowStride {
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
        offset += 8
      }
      classIndex += 2
    }
    if classIndex < classCount {
      let c0 = tile.coefficients[classIndex]
      let c1 = tile.coefficients[stride + classIndex]
      let c2 = tile.coefficients[2 * stride + classIndex]
      let c3 = tile.coefficients[3 * stride + classIndex]
      biasGradient[classIndex] += (c0 + c1) + (c2 + c3)
      let v0 = Vector8(repeating: c0), v1 = Vector8(repeating: c1)
      let v2 = Vector8(repeating: c2), v3 = Vector8(repeating: c3)
      let gradient0 = gradient + classIndex * rowStride
      var offset = 0
      while offset < rowStride {
        var g0 = loadVector(gradient0 + offset)
        g0 = multiplyAdd(loadVector(row0 + offset), v0, g0)
        g0 = multiplyAdd(loadVector(row1 + offset), v1, g0)
        g0 = multiplyAdd(loadVector(row2 + offset), v2, g0)
        g0 = multiplyAdd(loadVector(row3 + offset), v3, g0)
        storeVector(g0, gradient0 + offset)
        offset += 8
      }
    }
  }
}

extension GradientKernel.Tile {
  static let rowsPerTile = GradientKernel.tileRows
}
