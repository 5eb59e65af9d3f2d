import Foundation
import Testing
@testable import SoftmaxRegression

@Suite("The fused objective and gradient")
struct GradientTests {
  /// Shapes around the kernel's tile edges: rows not a multiple of 4, features not a
  /// multiple of 8, odd and even class counts.
  static let shapes: [(rows: Int, features: Int, classes: Int)] = [
    (1, 1, 2), (3, 5, 3), (4, 8, 2), (7, 9, 5), (13, 17, 4), (33, 16, 7), (50, 3, 10),
  ]

  @Test("matches a plain scalar implementation in Double", arguments: 0..<shapes.count)
  func matchesScalarReference(shapeIndex: Int) throws {
    let shape = Self.shapes[shapeIndex]
    let dataset = randomDataset(rows: shape.rows, features: shape.features, classes: shape.classes, seed: UInt64(shapeIndex))
    let lambda = 0.05
    let objective = try SoftmaxObjective(dataset: dataset, lambda: lambda, executor: ShardedExecutor(threadCount: 1))
    let layout = objective.layout
    let parameters = randomParameters(layout, seed: 99 + UInt64(shapeIndex))
    let (evaluation, gradient) = objective.evaluationAndGradient(parameters)
    let value = evaluation.value

    let (weights, bias) = layout.unpack(parameters)
    let reference = ScalarReference(dataset: dataset, lambda: lambda).evaluate(
      weights: (0..<layout.classCount).map { k in (0..<layout.featureCount).map { Double(weights[k * layout.featureCount + $0]) } },
      bias: bias.map(Double.init))

    #expect(abs(value - reference.value) <= 1e-5 * max(1, abs(reference.value)))
    #expect(evaluation.correctCount == reference.correct)
    #expect(evaluation.rowCount == dataset.rowCount)
    for k in 0..<layout.classCount {
      for j in 0..<layout.featureCount {
        let fused = Double(gradient[k * layout.rowStride + j])
        #expect(abs(fused - reference.weightGradient[k][j]) <= 1e-5, "W[\(k)][\(j)]")
      }
      for j in layout.featureCount..<layout.rowStride {
        #expect(gradient[k * layout.rowStride + j] == 0, "padding stays zero")
      }
      #expect(abs(Double(gradient[layout.biasOffset + k]) - reference.biasGradient[k]) <= 1e-5, "b[\(k)]")
    }
  }

  @Test("with the standardisation and the encoding folded into the parameters, it matches the scalar reference on the standardised values as read",
    arguments: [SoftmaxObjective.Precision.single, .double])
  func foldedScaling(precision: SoftmaxObjective.Precision) throws {
    let dataset = try offsetDataset(rows: 37, classes: 3, seed: 4)
    #expect(!dataset.encoding.isIdentity)
    let (objective, standardization) = try standardizedObjective(dataset, lambda: 0.05)
    objective.precision = precision
    let layout = objective.layout
    let parameters = randomParameters(layout, seed: 8)
    let (evaluation, gradient) = objective.evaluationAndGradient(parameters)
    var reference = ScalarReference(dataset: dataset, lambda: 0.05)
    reference.rows = reference.rows.map { row in row.indices.map { standardization.apply(row[$0], column: $0) } }
    let (weights, bias) = layout.unpack(parameters)
    let expected = reference.evaluate(
      weights: (0..<layout.classCount).map { k in (0..<layout.featureCount).map { Double(weights[k * layout.featureCount + $0]) } },
      bias: bias.map(Double.init))
    let tolerance = precision == .double ? 1e-12 : 1e-5
    #expect(abs(evaluation.value - expected.value) <= tolerance * expected.value)
    #expect(evaluation.correctCount == expected.correct)
    for k in 0..<layout.classCount {
      for j in 0..<layout.featureCount {
        #expect(abs(gradient[k * layout.rowStride + j] - expected.weightGradient[k][j]) <= tolerance, "W[\(k)][\(j)]")
      }
      #expect(abs(gradient[layout.biasOffset + k] - expected.biasGradient[k]) <= tolerance, "b[\(k)]")
    }
  }

  @Test("equals central finite differences of the objective")
  func matchesFiniteDifferences() throws {
    let dataset = randomDataset(rows: 23, features: 6, classes: 3, seed: 7)
    let lambda = 0.1
    let objective = try SoftmaxObjective(dataset: dataset, lambda: lambda, executor: ShardedExecutor(threadCount: 1))
    let layout = objective.layout
    let parameters = randomParameters(layout, seed: 11)
    let (_, gradient) = objective.valueAndGradient(parameters)
    let step = 1e-2
    var checked = 0
    for index in 0..<layout.parameterCount {
      let isPadding = index < layout.biasOffset && index % layout.rowStride >= layout.featureCount
      if isPadding { continue }
      var plus = parameters
      var minus = parameters
      plus[index] += step
      minus[index] -= step
      let difference = (objective.valueAndGradient(plus).0 - objective.valueAndGradient(minus).0) / (2 * step)
      #expect(abs(difference - Double(gradient[index])) <= 2e-4 + 1e-3 * abs(difference), "θ[\(index)]")
      checked += 1
    }
    #expect(checked == layout.classCount * (layout.featureCount + 1))
  }

  @Test("the scalar reference itself agrees with finite differences in Double")
  func referenceMatchesFiniteDifferences() {
    let dataset = randomDataset(rows: 9, features: 3, classes: 3, seed: 5)
    let reference = ScalarReference(dataset: dataset, lambda: 0.2)
    var random = SplitMix64(seed: 3)
    let weights = (0..<3).map { _ in (0..<3).map { _ in Double(random.nextGaussian()) } }
    let bias = (0..<3).map { _ in Double(random.nextGaussian()) }
    let analytic = reference.evaluate(weights: weights, bias: bias)
    let h = 1e-6
    for k in 0..<3 {
      for j in 0..<3 {
        var plus = weights, minus = weights
        plus[k][j] += h
        minus[k][j] -= h
        let numeric = (reference.evaluate(weights: plus, bias: bias).value - reference.evaluate(weights: minus, bias: bias).value) / (2 * h)
        #expect(abs(numeric - analytic.weightGradient[k][j]) < 1e-7)
      }
      var plus = bias, minus = bias
      plus[k] += h
      minus[k] -= h
      let numeric = (reference.evaluate(weights: weights, bias: plus).value - reference.evaluate(weights: weights, bias: minus).value) / (2 * h)
      #expect(abs(numeric - analytic.biasGradient[k]) < 1e-7)
    }
  }

  @Test("the Double kernel matches the scalar reference to 1e-12 and finite differences to 1e-8",
    arguments: 0..<shapes.count)
  func preciseKernel(shapeIndex: Int) throws {
    let shape = Self.shapes[shapeIndex]
    let dataset = randomDataset(rows: shape.rows, features: shape.features, classes: shape.classes, seed: 40 + UInt64(shapeIndex))
    let objective = try SoftmaxObjective(dataset: dataset, lambda: 0.03, executor: ShardedExecutor(threadCount: 2))
    objective.precision = .double
    let layout = objective.layout
    var parameters = randomParameters(layout, seed: 7)
    for index in parameters.indices where parameters[index] != 0 { parameters[index] += 1e-9 * Double(index) }
    let (value, gradient) = objective.valueAndGradient(parameters)
    let reference = ScalarReference(dataset: dataset, lambda: 0.03).evaluate(
      weights: (0..<layout.classCount).map { k in (0..<layout.featureCount).map { parameters[k * layout.rowStride + $0] } },
      bias: (0..<layout.classCount).map { parameters[layout.biasOffset + $0] })
    #expect(abs(value - reference.value) <= 1e-12 * max(1, reference.value))
    for k in 0..<layout.classCount {
      for j in 0..<layout.featureCount {
        #expect(abs(gradient[k * layout.rowStride + j] - reference.weightGradient[k][j]) <= 1e-12)
      }
      #expect(abs(gradient[layout.biasOffset + k] - reference.biasGradient[k]) <= 1e-12)
    }
    let h = 1e-5
    for index in [0, layout.biasOffset] {
      var plus = parameters, minus = parameters
      plus[index] += h
      minus[index] -= h
      let numeric = (objective.valueAndGradient(plus).0 - objective.valueAndGradient(minus).0) / (2 * h)
      #expect(abs(numeric - gradient[index]) <= 1e-8)
    }
  }

  @Test("is bit-identical for 1, 2, 3 and 8 threads")
  func identicalAcrossThreadCounts() throws {
    let dataset = randomDataset(rows: 203, features: 11, classes: 5, seed: 21)
    let shards = Shards(rowCount: dataset.rowCount, rowsPerShard: 12)
    #expect(shards.count == 13)
    let parameters = randomParameters(ParameterLayout(classCount: 5, featureCount: 11), seed: 4)
    let results = try [1, 2, 3, 8].map { threads in
      try SoftmaxObjective(dataset: dataset, lambda: 0.01, shards: shards, executor: ShardedExecutor(threadCount: threads))
        .valueAndGradient(parameters)
    }
    for result in results.dropFirst() {
      #expect(result.0.bitPattern == results[0].0.bitPattern)
      #expect(result.1.map(\.bitPattern) == results[0].1.map(\.bitPattern))
    }
    let precise = try [1, 2, 3, 8].map { threads in
      let objective = try SoftmaxObjective(dataset: dataset, lambda: 0.01, shards: shards, executor: ShardedExecutor(threadCount: threads))
      objective.precision = .double
      return objective.valueAndGradient(parameters)
    }
    for result in precise.dropFirst() {
      #expect(result.0.bitPattern == precise[0].0.bitPattern)
      #expect(result.1.map(\.bitPattern) == precise[0].1.map(\.bitPattern))
    }
  }

  @Test("lanes past the last row of a tile add nothing, even where class 0 wins")
  func partialTileLanes() throws {
    // 5 rows fill 5 of a tile's 8 lanes; the 3 empty lanes see only the biases, and bias 0
    // makes class 0 their argmax too.
    let dataset = try Dataset(
      rows: (0..<5).map { [Float($0), 1] }, labels: ["0", "1", "2", "1", "2"])
    let objective = try SoftmaxObjective(dataset: dataset, lambda: 0, executor: ShardedExecutor(threadCount: 1))
    let layout = objective.layout
    let parameters = layout.pack(weights: [Float](repeating: 0, count: 3 * 2), bias: [Float(10), 0, 0])
    let (evaluation, gradient) = objective.evaluationAndGradient(parameters)
    let value = evaluation.value
    let reference = ScalarReference(dataset: dataset, lambda: 0).evaluate(
      weights: [[0, 0], [0, 0], [0, 0]], bias: [10, 0, 0])
    #expect(evaluation.correctCount == 1)
    #expect(reference.correct == 1)
    #expect(abs(value - reference.value) <= 1e-5 * reference.value)
    for k in 0..<3 {
      #expect(abs(Double(gradient[layout.biasOffset + k]) - reference.biasGradient[k]) <= 1e-5)
    }
  }

  @Test("the kernel's horizontal sums equal scalar sums in the documented order")
  func horizontalSums() {
    var generator = SplitMix64(seed: 31)
    func pairwiseSum(_ v: Vector8) -> Float { ((v[0] + v[1]) + (v[2] + v[3])) + ((v[4] + v[5]) + (v[6] + v[7])) }
    for _ in 0..<200 {
      // Mixed magnitudes, so that another summation order gives other bits.
      let vectors = (0..<8).map { _ in
        Vector8((0..<8).map { _ in Float(generator.nextUniform() - 0.5) * Float(1 << (generator.next() % 24)) })
      }
      let eight = GradientKernel.reduceEight(
        vectors[0], vectors[1], vectors[2], vectors[3], vectors[4], vectors[5], vectors[6], vectors[7])
      let four = GradientKernel.reduceFour(vectors[0], vectors[1], vectors[2], vectors[3])
      for lane in 0..<8 {
        #expect(eight[lane].bitPattern == pairwiseSum(vectors[lane]).bitPattern, "lane \(lane)")
      }
      for lane in 0..<4 {
        #expect(four[lane].bitPattern == pairwiseSum(vectors[lane]).bitPattern, "lane \(lane)")
      }
    }
  }

  @Test("does not overflow for logits near 1e4 (max subtracted)")
  func largeLogitsStayFinite() throws {
    let dataset = randomDataset(rows: 10, features: 2, classes: 3, seed: 8, scale: 1000)
    let objective = try SoftmaxObjective(dataset: dataset, lambda: 0, executor: ShardedExecutor(threadCount: 1))
    let parameters = randomParameters(objective.layout, seed: 9, scale: 10)
    let (value, gradient) = objective.valueAndGradient(parameters)
    #expect(value.isFinite)
    #expect(gradient.allSatisfy { $0.isFinite })
    let (weights, bias) = objective.layout.unpack(parameters)
    let reference = ScalarReference(dataset: dataset, lambda: 0).evaluate(
      weights: (0..<3).map { k in (0..<2).map { Double(weights[k * 2 + $0]) } }, bias: bias.map(Double.init))
    #expect(abs(value - reference.value) <= 1e-4 * reference.value)
  }
}

@Suite("Shards")
struct ShardTests {
  @Test("cover every row once, in order, independent of threads")
  func coverRows() {
    for rowCount in [0, 1, 5, 1024, 1025, 100_003] {
      let shards = Shards(rowCount: rowCount)
      var next = 0
      for index in 0..<shards.count {
        #expect(shards[index].lowerBound == next)
        #expect(!shards[index].isEmpty)
        next = shards[index].upperBound
      }
      #expect(next == rowCount)
      #expect(shards.count <= Shards.defaultMaximumShardCount)
      #expect(shards.rowsPerShard % 8 == 0)
    }
  }

  @Test("the executor runs each shard exactly once")
  func executorRunsEachShardOnce() {
    let counts = UnsafeMutableBufferPointer<Int>.allocate(capacity: 97)
    counts.initialize(repeating: 0)
    defer { counts.deallocate() }
    let box = UncheckedBox(counts)
    ShardedExecutor(threadCount: 4).forEachShard(97) { shard in box.value[shard] += 1 }
    #expect(Array(counts) == [Int](repeating: 1, count: 97))
  }
}

/// Lets a test hand a buffer to the executor's workers, each of which touches its own slot.
struct UncheckedBox<Value>: @unchecked Sendable {
  let value: Value
  init(_ value: Value) { self.value = value }
}
