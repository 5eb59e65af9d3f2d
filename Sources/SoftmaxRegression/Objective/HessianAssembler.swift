import Foundation

/// The data term's Hessian ∇²J(θ) as a dense matrix, for Newton steps where K·(D+1) is small
/// (the way scikit-learn's newton-cholesky solves them):
///
///     H[(k,a),(l,b)] = (1/Σv) Σ_i v_i (δ_kl p_ik − p_ik p_il) u_ia u_ib
///
/// with u_i = (x_i in θ's coordinates, 1): the features and a 1 for the bias. The matrix is
/// in the compact order (class k's D weights and then its bias: index k·(D+1) + a); the
/// penalty is not included.
///
/// Since Σ_l p_il = 1, every block row sums to zero (Σ_l H_kl = 0), so the blocks of the last
/// class follow from the others: H_k,K−1 = −Σ_{l<K−1} H_kl and H_K−1,K−1 = −Σ_{k<K−1} H_k,K−1.
/// Only the pairs k ≤ l < K − 1 are summed over the rows (for K = 10, 19% less work; for
/// K = 3, 55% less). The rows go in chunks; within a chunk each such pair is one task, its
/// D̃ × D̃ block summed over the chunk's rows in row order by one thread, so the matrix is
/// bit-identical for any thread count. Cost: m · (K−1)K/2 · (D+1)² multiply-adds (half for
/// the diagonal blocks); memory: K²(D+1)² doubles and a chunk of rows.
struct HessianAssembler: @unchecked Sendable {
  // @unchecked: the pointers are read-only during assembly; each pair block is written by
  // the one task that owns it.
  let features: FeatureMatrix
  let layout: ParameterLayout
  /// Dataset rows to include, in order; nil for all.
  let rows: [Int32]?
  /// A weight per dataset row, or nil for 1.
  let rowWeights: [Float]?
  let scaling: FeatureScaling?

  /// Rows per chunk: U (chunk × D̃) stays in the core's cache while every pair reads it.
  static let chunkRows = 128
  /// The largest order assembled: a 1024² matrix is 8 MB and its Cholesky factorization
  /// 1.8 · 10⁸ multiply-adds, a few passes' worth.
  static let maximumOrder = 1024
  /// The most rows a preconditioning Hessian sums over: at K = 10, D = 100 about one
  /// Hessian-vector pass over 200,000 rows, and still close to the Hessian of all rows.
  static let maximumRows = 4096
  /// A chunk with fewer multiply-adds than this is summed on one thread: waking the workers
  /// costs more than it saves.
  private static let parallelChunkWork = 1 << 20

  /// The order of the compact matrix: K · (D + 1).
  var order: Int { layout.classCount * (layout.featureCount + 1) }

  /// The compact index of θ's entry `parameter`, or nil for row padding.
  func compactIndex(ofParameter parameter: Int) -> Int? {
    let width = layout.featureCount + 1
    if parameter >= layout.biasOffset { return (parameter - layout.biasOffset) * width + layout.featureCount }
    let (classIndex, column) = parameter.quotientAndRemainder(dividingBy: layout.rowStride)
    return column < layout.featureCount ? classIndex * width + column : nil
  }

  /// ∇² of the data term at θ (`parameters`, in θ's layout), row-major order × order.
  func assemble(at parameters: [Double], on executor: ShardedExecutor) -> [Double] {
    let classes = layout.classCount
    let width = layout.featureCount + 1
    let paddedWidth = (width + 7) & ~7
    let pairs = (0..<(classes - 1)).flatMap { k in (k..<(classes - 1)).map { (k, $0) } }
    let blockSize = paddedWidth * paddedWidth
    let blocks = UnsafeMutableBufferPointer<Double>.allocate(capacity: pairs.count * blockSize)
    blocks.initialize(repeating: 0)
    let chunk = UnsafeMutableBufferPointer<Double>.allocate(capacity: Self.chunkRows * paddedWidth)
    chunk.initialize(repeating: 0)
    let panels = UnsafeMutableBufferPointer<Double>.allocate(capacity: Self.chunkRows * paddedWidth)
    let probabilities = UnsafeMutableBufferPointer<Double>.allocate(capacity: Self.chunkRows * classes)
    let rowWeight = UnsafeMutableBufferPointer<Double>.allocate(capacity: Self.chunkRows)
    defer {
      blocks.deallocate()
      chunk.deallocate()
      panels.deallocate()
      probabilities.deallocate()
      rowWeight.deallocate()
    }
    var weightSum = 0.0
    let rowCount = rows?.count ?? features.rowCount
    var start = 0
    while start < rowCount {
      let count = min(Self.chunkRows, rowCount - start)
      for offset in 0..<count {
        let row = Int(rows?[start + offset] ?? Int32(start + offset))
        let weight = Double(rowWeights?[row] ?? 1)
        rowWeight[offset] = weight
        weightSum += weight
        loadRow(row, into: chunk.baseAddress! + offset * paddedWidth)
        softmax(
          of: chunk.baseAddress! + offset * paddedWidth, parameters: parameters,
          into: probabilities.baseAddress! + offset * classes)
      }
      Self.pack(chunk.baseAddress!, rows: count, paddedWidth: paddedWidth, into: panels.baseAddress!)
      let context = ChunkContext(
        rows: UnsafePointer(chunk.baseAddress!), panels: UnsafePointer(panels.baseAddress!),
        probabilities: UnsafePointer(probabilities.baseAddress!),
        weights: UnsafePointer(rowWeight.baseAddress!), count: count, classes: classes,
        width: width, paddedWidth: paddedWidth, blocks: blocks.baseAddress!)
      let chunkWork = count * pairs.count * paddedWidth * paddedWidth
      (chunkWork < Self.parallelChunkWork ? ShardedExecutor(threadCount: 1) : executor)
        .forEachShard(pairs.count) { pair in
        let (k, l) = pairs[pair]
        context.accumulate(classes: k, l, into: context.blocks + pair * blockSize)
      }
      start += count
    }
    return compactMatrix(blocks: UnsafeBufferPointer(blocks), pairs: pairs, width: width,
      paddedWidth: paddedWidth, scale: 1 / (weightSum > 0 ? weightSum : 1))
  }

  /// The chunk's rows in panels of 8 columns, each panel's rows contiguous
  /// (panel p, row i at p · chunkRows · 8 + i · 8): the tiles then read them in order.
  private static func pack(
    _ rows: UnsafePointer<Double>, rows count: Int, paddedWidth: Int,
    into panels: UnsafeMutablePointer<Double>
  ) {
    for panel in 0..<(paddedWidth / 8) {
      let target = panels + panel * chunkRows * 8
      for row in 0..<count {
        for lane in 0..<8 { target[row * 8 + lane] = rows[row * paddedWidth + panel * 8 + lane] }
      }
    }
  }

  /// u for dataset row `row`: its features in θ's coordinates, then 1, then zeros.
  private func loadRow(_ row: Int, into target: UnsafeMutablePointer<Double>) {
    let values = features.rowPointer(row)
    for column in 0..<layout.featureCount {
      var value = Double(values[column])
      if let scaling { value = (value - scaling.shift[column]) / scaling.divisor[column] }
      target[column] = value
    }
    target[layout.featureCount] = 1
  }

  /// p = softmax(W u + b), log-sum-exp style.
  private func softmax(
    of row: UnsafePointer<Double>, parameters: [Double], into probabilities: UnsafeMutablePointer<Double>
  ) {
    var maximum = -Double.infinity
    for classIndex in 0..<layout.classCount {
      var logit = parameters[layout.biasOffset + classIndex]
      let offset = classIndex * layout.rowStride
      for column in 0..<layout.featureCount { logit += parameters[offset + column] * row[column] }
      probabilities[classIndex] = logit
      maximum = max(maximum, logit)
    }
    var sum = 0.0
    for classIndex in 0..<layout.classCount {
      probabilities[classIndex] = Foundation.exp(probabilities[classIndex] - maximum)
      sum += probabilities[classIndex]
    }
    for classIndex in 0..<layout.classCount { probabilities[classIndex] /= sum }
  }

  /// The pair blocks, scaled, written out as the full symmetric compact matrix, with the
  /// last class's blocks from the zero block-row sums.
  private func compactMatrix(
    blocks: UnsafeBufferPointer<Double>, pairs: [(Int, Int)], width: Int, paddedWidth: Int,
    scale: Double
  ) -> [Double] {
    let n = order
    let last = layout.classCount - 1
    var matrix = [Double](repeating: 0, count: n * n)
    func set(_ k: Int, _ a: Int, _ l: Int, _ b: Int, _ value: Double) {
      matrix[(k * width + a) * n + l * width + b] = value
      matrix[(l * width + b) * n + k * width + a] = value
    }
    for (pair, (k, l)) in pairs.enumerated() {
      let block = pair * paddedWidth * paddedWidth
      for a in 0..<width {
        for b in 0..<width {
          // Diagonal blocks hold only b ≥ a.
          set(k, a, l, b, scale * blocks[block + (k == l ? min(a, b) * paddedWidth + max(a, b) : a * paddedWidth + b)])
        }
      }
    }
    for k in 0..<last {
      for a in 0..<width {
        for b in 0..<width {
          var sum = 0.0
          for l in 0..<last { sum += matrix[(k * width + a) * n + l * width + b] }
          set(k, a, last, b, -sum)
        }
      }
    }
    for a in 0..<width {
      for b in 0..<width {
        var sum = 0.0
        for k in 0..<last { sum += matrix[(k * width + a) * n + last * width + b] }
        set(last, a, last, b, -sum)
      }
    }
    return matrix
  }
}

/// One chunk of rows in Double (u_i, padded) and their probabilities, as the pair tasks read it.
private struct ChunkContext: @unchecked Sendable {
  let rows: UnsafePointer<Double>
  /// The rows in panels of 8 columns (`HessianAssembler.pack`).
  let panels: UnsafePointer<Double>
  let probabilities: UnsafePointer<Double>
  let weights: UnsafePointer<Double>
  let count: Int
  let classes: Int
  let width: Int
  let paddedWidth: Int
  /// The pair blocks, one per task.
  let blocks: UnsafeMutablePointer<Double>

  /// block += Σ_i c_i u_i u_iᵀ with c_i = v_i (δ_kl p_ik − p_ik p_il), as block += Vᵀ U with
  /// V_i = c_i u_i, in 4 × 8 tiles held in registers over the chunk's rows, V and U read from
  /// panels (4 and 8 columns wide) that stay in the first-level cache; for k = l only the
  /// tiles that reach the diagonal or above.
  func accumulate(classes k: Int, _ l: Int, into block: UnsafeMutablePointer<Double>) {
    let scaled = UnsafeMutablePointer<Double>.allocate(capacity: count * paddedWidth)
    defer { scaled.deallocate() }
    for i in 0..<count {
      let pk = probabilities[i * classes + k]
      let pl = probabilities[i * classes + l]
      let coefficient = SIMD4(repeating: weights[i] * ((k == l ? pk : 0) - pk * pl))
      var source = rows + i * paddedWidth
      var target = scaled + i * 4
      for _ in 0..<(paddedWidth / 4) {
        let values = UnsafeRawPointer(source).loadUnaligned(as: SIMD4<Double>.self)
        UnsafeMutableRawPointer(target).storeBytes(of: coefficient * values, as: SIMD4<Double>.self)
        source += 4
        target += count * 4
      }
    }
    var a = 0
    while a < width {
      var b = k == l ? a & ~7 : 0
      while b < width {
        tile(rowsFrom: a, columnsFrom: b, scaled: scaled + (a / 4) * count * 4, block: block)
        b += 8
      }
      a += 4
    }
  }

  /// block[a..<a+4, b..<b+8] += Σ_i V[i, a..<a+4]ᵀ U[i, b..<b+8] (`left`: V's panel for a).
  @inline(__always)
  private func tile(
    rowsFrom a: Int, columnsFrom b: Int, scaled left: UnsafePointer<Double>,
    block: UnsafeMutablePointer<Double>
  ) {
    typealias Lanes = SIMD4<Double>
    func load(_ pointer: UnsafePointer<Double>) -> Lanes {
      UnsafeRawPointer(pointer).loadUnaligned(as: Lanes.self)
    }
    let target = block + a * paddedWidth + b
    var s00 = load(target), s01 = load(target + 4)
    var s10 = load(target + paddedWidth), s11 = load(target + paddedWidth + 4)
    var s20 = load(target + 2 * paddedWidth), s21 = load(target + 2 * paddedWidth + 4)
    var s30 = load(target + 3 * paddedWidth), s31 = load(target + 3 * paddedWidth + 4)
    var left = left
    var right = panels + (b / 8) * HessianAssembler.chunkRows * 8
    for _ in 0..<count {
      let right0 = load(right), right1 = load(right + 4)
      let v0 = Lanes(repeating: left[0]), v1 = Lanes(repeating: left[1])
      let v2 = Lanes(repeating: left[2]), v3 = Lanes(repeating: left[3])
      s00 = DoubleRow.fusedMultiplyAdd(v0, right0, s00); s01 = DoubleRow.fusedMultiplyAdd(v0, right1, s01)
      s10 = DoubleRow.fusedMultiplyAdd(v1, right0, s10); s11 = DoubleRow.fusedMultiplyAdd(v1, right1, s11)
      s20 = DoubleRow.fusedMultiplyAdd(v2, right0, s20); s21 = DoubleRow.fusedMultiplyAdd(v2, right1, s21)
      s30 = DoubleRow.fusedMultiplyAdd(v3, right0, s30); s31 = DoubleRow.fusedMultiplyAdd(v3, right1, s31)
      left += 4
      right += 8
    }
    func store(_ value: Lanes, _ pointer: UnsafeMutablePointer<Double>) {
      UnsafeMutableRawPointer(pointer).storeBytes(of: value, as: Lanes.self)
    }
    store(s00, target); store(s01, target + 4)
    store(s10, target + paddedWidth); store(s11, target + paddedWidth + 4)
    store(s20, target + 2 * paddedWidth); store(s21, target + 2 * paddedWidth + 4)
    store(s30, target + 3 * paddedWidth); store(s31, target + 3 * paddedWidth + 4)
  }
}
