import Foundation
@testable import SoftmaxRegression

/// The objective written the plain way, in Double, straight from the formula:
/// J = (1/m) Σ_i −log p(y_i|x_i) + (λ/2)‖W‖², with ∇ as in DEVELOPERS.md.
/// Independent of the kernel: no tiling, no SIMD, no shards, no log-sum-exp tricks beyond
/// the max shift.
struct ScalarReference {
  var rows: [[Double]]
  let labels: [Int]
  let classCount: Int
  let lambda: Double

  init(dataset: Dataset, lambda: Double) {
    rows = (0..<dataset.rowCount).map { row in
      (0..<dataset.featureCount).map { dataset.value(row: row, column: $0) }
    }
    labels = dataset.labels.map(Int.init)
    classCount = dataset.classCount
    self.lambda = lambda
  }

  var featureCount: Int { rows.first?.count ?? 0 }

  /// Value and gradient at W (K×D) and b (K).
  func evaluate(weights: [[Double]], bias: [Double]) -> (value: Double, weightGradient: [[Double]], biasGradient: [Double], correct: Int) {
    let m = Double(rows.count)
    var loss = 0.0
    var correct = 0
    var gradientW = [[Double]](repeating: [Double](repeating: 0, count: featureCount), count: classCount)
    var gradientB = [Double](repeating: 0, count: classCount)
    for (x, y) in zip(rows, labels) {
      let logits = (0..<classCount).map { k in
        zip(weights[k], x).reduce(bias[k]) { $0 + $1.0 * $1.1 }
      }
      let maximum = logits.max()!
      let denominator = logits.reduce(0) { $0 + exp($1 - maximum) }
      let probabilities = logits.map { exp($0 - maximum) / denominator }
      loss += -log(probabilities[y])
      if logits.firstIndex(of: maximum) == y { correct += 1 }
      for k in 0..<classCount {
        let coefficient = probabilities[k] - (k == y ? 1 : 0)
        for j in 0..<featureCount { gradientW[k][j] += coefficient * x[j] / m }
        gradientB[k] += coefficient / m
      }
    }
    var penalty = 0.0
    for k in 0..<classCount {
      for j in 0..<featureCount {
        penalty += weights[k][j] * weights[k][j]
        gradientW[k][j] += lambda * weights[k][j]
      }
    }
    return (loss / m + 0.5 * lambda * penalty, gradientW, gradientB, correct)
  }
}

/// A small random labelled dataset with awkward sizes (not multiples of 4 or 8).
func randomDataset(rows: Int, features: Int, classes: Int, seed: UInt64, scale: Float = 1) -> Dataset {
  var random = SplitMix64(seed: seed)
  let values = (0..<rows).map { _ in (0..<features).map { _ in scale * random.nextGaussian() } }
  let labels = (0..<rows).map { row in String(row < classes ? row : Int(random.next() % UInt64(classes))) }
  return try! Dataset(rows: values, labels: labels)
}

/// Random parameters θ in the layout's order, padding zero (Float32 values, so the
/// single-precision kernel sees exactly them).
func randomParameters(_ layout: ParameterLayout, seed: UInt64, scale: Float = 0.5) -> [Double] {
  var random = SplitMix64(seed: seed)
  let weights = (0..<(layout.classCount * layout.featureCount)).map { _ in scale * random.nextGaussian() }
  let bias = (0..<layout.classCount).map { _ in scale * random.nextGaussian() }
  return layout.pack(weights: weights, bias: bias)
}

extension SoftmaxObjective {
  /// Value and gradient at θ, as arrays.
  func valueAndGradient(_ parameters: [Double]) -> (Double, [Double]) {
    let (evaluation, gradient) = evaluationAndGradient(parameters)
    return (evaluation.value, gradient)
  }

  /// The evaluation (value and statistics) and gradient at θ.
  func evaluationAndGradient(_ parameters: [Double]) -> (Evaluation, [Double]) {
    var gradient = [Double](repeating: .nan, count: parameterCount)
    let evaluation = parameters.withUnsafeBufferPointer { p in
      gradient.withUnsafeMutableBufferPointer { g in evaluate(at: p, gradient: g) }
    }
    return (evaluation, gradient)
  }
}

/// A fresh directory under the system temporary directory, removed with everything in it
/// by `remove()` or when the value is released (a suite that holds one as a property
/// removes it after each test).
final class TemporaryDirectory: Sendable {
  /// The directory's path.
  let path: String

  init() {
    path = NSTemporaryDirectory() + "softmax-tests-" + UUID().uuidString
    try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
  }

  /// Removes the directory and its contents now.
  func remove() { try? FileManager.default.removeItem(atPath: path) }

  deinit { remove() }
}

/// The package root, found from this file's path.
let packageRoot: String = {
  var url = URL(fileURLWithPath: #filePath)
  for _ in 0..<3 { url.deleteLastPathComponent() }
  return url.path
}()

/// A file in the package's data/ folder.
func dataFile(_ name: String) -> String { packageRoot + "/data/" + name }

/// A stratified, seeded split of row indices into (train, test).
func stratifiedSplit(_ dataset: Dataset, testFraction: Double, seed: UInt64) -> (train: [Int], test: [Int]) {
  var random = SplitMix64(seed: seed)
  var train: [Int] = []
  var test: [Int] = []
  for classIndex in 0..<dataset.classCount {
    var rows = dataset.labels.indices.filter { dataset.labels[$0] == Int32(classIndex) }
    rows.shuffle(using: &random)
    let testCount = Int((Double(rows.count) * testFraction).rounded())
    test += rows.prefix(testCount)
    train += rows.dropFirst(testCount)
  }
  return (train.sorted(), test.sorted())
}

/// The size of the long property runs. `swift test` runs a quick sample of each (the suite
/// stays under a minute in a debug build); with `SOFTMAX_LONG_TESTS=1` they run in full
/// (CI does, in a release build: see .ci/run).
enum TestScale {
  /// Whether the full-size runs were asked for.
  static let isLong = ProcessInfo.processInfo.environment["SOFTMAX_LONG_TESTS"] == "1"

  /// `long` in a long run, else `quick`.
  static func count(quick: Int, long: Int) -> Int { isLong ? long : quick }
}

/// Rows whose columns sit far from 0 or far from unit scale (1e5 + 0.01·g, 1e-20·g,
/// 3 + g, 7000·g), so that their stored form is shifted and scaled (`ColumnEncoding`).
func offsetDataset(rows: Int, classes: Int, seed: UInt64) throws -> Dataset {
  var random = SplitMix64(seed: seed)
  var values: [[Float]] = []
  var labels: [String] = []
  for row in 0..<rows {
    let label = row < classes ? row : Int(random.next() % UInt64(classes))
    let signal = Float(label) - Float(classes - 1) / 2
    values.append([
      1e5 + 0.01 * (signal + random.nextGaussian()), 1e-20 * (random.nextGaussian() - signal),
      3 + random.nextGaussian(), 7000 * (random.nextGaussian() + 0.5 * signal),
    ])
    labels.append(String(label))
  }
  return try Dataset(rows: values, labels: labels)
}

/// The objective the trainer builds with standardisation: the standardisation and the
/// stored values' encoding folded into the parameters.
func standardizedObjective(
  _ dataset: Dataset, lambda: Double, rowWeights: [Float]? = nil, threads: Int = 1
) throws -> (SoftmaxObjective, Standardization) {
  let standardization = Standardization(fitting: dataset)
  let layout = ParameterLayout(classCount: dataset.classCount, featureCount: dataset.featureCount)
  let objective = try SoftmaxObjective(
    dataset: dataset, regularizer: L2Penalty(lambda: lambda, layout: layout), rows: nil,
    rowWeights: rowWeights, shards: nil, executor: ShardedExecutor(threadCount: threads),
    reducer: ShardOrderReducer(),
    scaling: FeatureScaling(encoding: dataset.encoding, standardization: standardization))
  return (objective, standardization)
}
