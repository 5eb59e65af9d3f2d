import Foundation
import Testing
@testable import SoftmaxRegression

@Suite("The blocked pass for wide models")
struct WideGradientPassTests {
  /// Shapes around the pass's edges: blocks of 256 rows cut mid-group, classes not a
  /// multiple of 2 or 4, features not a multiple of 8 or 16; and class tiles of 16 and more
  /// (the AVX-512 build's logit tiles of 1, 2 and 3 panels of 16 classes, the last one
  /// partly past K, and 8 × 32 gradient tiles, with 32-column strips, a tail of 8 or 16
  /// columns, and classes past the last 8 of a tile: 530 classes make tiles of 80 on two
  /// threads, the last of 50; every class occurs, as rows ≥ classes).
  static let shapes: [(rows: Int, features: Int, classes: Int)] = [
    (1, 1, 2), (7, 9, 5), (33, 17, 7), (300, 24, 3), (529, 13, 11), (70, 47, 64), (131, 100, 37), (530, 5, 530),
  ]

  /// The builds of steps 1 and 3 this machine runs: the Swift one, and AVX-512F where the
  /// CPU has it.
  static let builds = [false] + (WideGradientPass.runsAVX512 ? [true] : [])

  @Test("matches a plain scalar implementation in Double, in each build of the steps",
    arguments: 0..<shapes.count, builds)
  func matchesScalarReference(shapeIndex: Int, avx512: Bool) throws {
    let shape = Self.shapes[shapeIndex]
    let dataset = randomDataset(rows: shape.rows, features: shape.features, classes: shape.classes, seed: UInt64(shapeIndex))
    let objective = try SoftmaxObjective(dataset: dataset, lambda: 0.05, executor: ShardedExecutor(threadCount: 2))
    objective.passKind = .blocked
    objective.blockedPassUsesAVX512 = avx512
    let layout = objective.layout
    let parameters = randomParameters(layout, seed: 7 + UInt64(shapeIndex))
    let (evaluation, gradient) = objective.evaluationAndGradient(parameters)
    let (weights, bias) = layout.unpack(parameters)
    let reference = ScalarReference(dataset: dataset, lambda: 0.05).evaluate(
      weights: (0..<layout.classCount).map { k in (0..<layout.featureCount).map { Double(weights[k * layout.featureCount + $0]) } },
      bias: bias.map(Double.init))
    #expect(abs(evaluation.value - reference.value) <= 1e-5 * max(1, abs(reference.value)))
    #expect(evaluation.correctCount == reference.correct)
    #expect(evaluation.rowCount == dataset.rowCount)
    for k in 0..<layout.classCount {
      for j in 0..<layout.featureCount {
        #expect(abs(gradient[k * layout.rowStride + j] - reference.weightGradient[k][j]) <= 1e-5, "W[\(k)][\(j)]")
      }
      for j in layout.featureCount..<layout.rowStride {
        #expect(gradient[k * layout.rowStride + j] == 0, "padding stays zero")
      }
      #expect(abs(gradient[layout.biasOffset + k] - reference.biasGradient[k]) <= 1e-5, "b[\(k)]")
    }
  }

  @Test("bit-identical for 1, 2 and 5 threads, with row weights, a row subset and a shuffled mini-batch; close to the fused kernel",
    arguments: builds)
  func deterministicAcrossThreads(avx512: Bool) throws {
    let dataset = randomDataset(rows: 700, features: 21, classes: 9, seed: 3)
    var random = SplitMix64(seed: 11)
    let rowWeights = (0..<dataset.rowCount).map { _ in Float(random.next() % 5) * 0.25 }
    let rows = (0..<Int32(dataset.rowCount)).filter { $0 % 3 != 1 }
    func run(threads: Int, wide: Bool) throws -> [[UInt64]] {
      let objective = try SoftmaxObjective(
        dataset: dataset, regularizer: L2Penalty(lambda: 0.01, layout: ParameterLayout(classCount: 9, featureCount: 21)),
        rows: rows, rowWeights: rowWeights, shards: nil, executor: ShardedExecutor(threadCount: threads),
        reducer: ShardOrderReducer(), scaling: nil)
      objective.passKind = wide ? .blocked : .fused
      objective.blockedPassUsesAVX512 = avx512
      let parameters = randomParameters(objective.layout, seed: 5)
      let (full, fullGradient) = objective.evaluationAndGradient(parameters)
      var generator = SplitMix64(seed: 2)
      objective.shuffleRows(using: &generator)
      var batchGradient = [Double](repeating: 0, count: objective.parameterCount)
      let batch = parameters.withUnsafeBufferPointer { point in
        batchGradient.withUnsafeMutableBufferPointer { objective.evaluate(at: point, gradient: $0, positions: 37..<330) }
      }
      return [
        [full.value.bitPattern, UInt64(full.correctCount), batch.value.bitPattern, UInt64(batch.rowCount)],
        fullGradient.map(\.bitPattern), batchGradient.map(\.bitPattern),
      ]
    }
    let one = try run(threads: 1, wide: true)
    #expect(try run(threads: 2, wide: true) == one)
    #expect(try run(threads: 5, wide: true) == one)
    let fused = try run(threads: 2, wide: false)
    for (wide, other) in zip(one[1] + one[2], fused[1] + fused[2]) {
      #expect(abs(Double(bitPattern: wide) - Double(bitPattern: other)) <= 1e-5)
    }
    #expect(abs(Double(bitPattern: one[0][0]) - Double(bitPattern: fused[0][0])) <= 1e-5)
    #expect(one[0][1] == fused[0][1] && one[0][3] == fused[0][3])
  }

  @Test("a matrix read from disk (read-ahead and drop-behind per block) gives the same bits")
  func streamingFromDisk() throws {
    let temporary = TemporaryDirectory()
    let path = temporary.path + "/wide.smx"
    try GaussianClusters(rowCount: 1300, featureCount: 20, classCount: 9, seed: 2).makeDataset().writeCache(to: path)
    func evaluate(streamed: Bool) throws -> [UInt64] {
      let dataset = try Dataset(cacheAt: path)
      dataset.features.streamsFromDisk = streamed
      let objective = try SoftmaxObjective(dataset: dataset, lambda: 0.01, executor: ShardedExecutor(threadCount: 2))
      objective.passKind = .blocked
      let (evaluation, gradient) = objective.evaluationAndGradient(randomParameters(objective.layout, seed: 4))
      return [evaluation.value.bitPattern] + gradient.map(\.bitPattern)
    }
    #expect(try evaluate(streamed: true) == evaluate(streamed: false))
  }

  @Test("chosen where faster (wide and long rows) or where the fused kernel's shard sums would pass max(64 MB, a tenth of the matrix)")
  func choice() throws {
    func kind(rows: Int, features: Int, classes: Int) throws -> SoftmaxObjective.PassKind {
      try SoftmaxObjective(
        dataset: randomDataset(rows: rows, features: features, classes: classes, seed: 1), lambda: 0,
        executor: ShardedExecutor(threadCount: 1)
      ).passKind
    }
    #expect(try kind(rows: 64, features: 100, classes: 10) == .fused)
    // Rows of 104 floats: long enough for the AVX-512F steps only.
    let avx512 = WideGradientPass.runsAVX512
    #expect(try kind(rows: 1000, features: 100, classes: 1000) == (avx512 ? .blocked : .fused))
    #expect(try kind(rows: 100, features: 24, classes: 3000) == .fused)  // 72,000, rows of 24
    #expect(try kind(rows: 600, features: 1000, classes: 528) == .blocked)  // 528,000
    // 1,000,000 rows in 512 shards at K = 1,000, D = 100: 213 MB of shard sums for a 416 MB
    // matrix; at K = 10, 2 MB.
    let shards = Shards(rowCount: 1_000_000).count
    #expect(WideGradientPass.isPreferred(classCount: 1000, rowStride: 104, rowCount: 1_000_000, shardCount: shards))
    #expect(!WideGradientPass.isPreferred(classCount: 10, rowStride: 104, rowCount: 1_000_000, shardCount: shards))
    #expect(WideGradientPass.isPreferred(classCount: 1000, rowStride: 104, rowCount: 50_000, shardCount: 64) == avx512)
  }
}

@Suite("Double passes in waves of shard slots")
struct ShardWaveTests {
  @Test("a Double pass and a Hessian-vector product run in waves of 2 slots give the bits of one wave, for 1 and 3 threads")
  func wavesGiveTheSameBits() throws {
    let dataset = randomDataset(rows: 3300, features: 5, classes: 3, seed: 4)
    func run(threads: Int, slots: Int?) throws -> [UInt64] {
      let objective = try SoftmaxObjective(dataset: dataset, lambda: 0.01, executor: ShardedExecutor(threadCount: threads))
      #expect(objective.shards.count == 4)
      objective.doubleSlotLimit = slots
      objective.precision = .double
      let parameters = randomParameters(objective.layout, seed: 3)
      let (evaluation, gradient) = objective.evaluationAndGradient(parameters)
      var product = [Double](repeating: 0, count: objective.parameterCount)
      let direction = randomParameters(objective.layout, seed: 9)
      parameters.withUnsafeBufferPointer { point in
        direction.withUnsafeBufferPointer { direction in
          product.withUnsafeMutableBufferPointer {
            objective.hessianVectorProduct(at: point, direction: direction, into: $0)
          }
        }
      }
      return [evaluation.value.bitPattern, UInt64(evaluation.correctCount), UInt64(evaluation.rowCount)]
        + gradient.map(\.bitPattern) + product.map(\.bitPattern)
    }
    let whole = try run(threads: 1, slots: nil)
    #expect(try run(threads: 1, slots: 2) == whole)
    #expect(try run(threads: 3, slots: 2) == whole)
    #expect(try run(threads: 3, slots: 3) == whole)
  }
}
