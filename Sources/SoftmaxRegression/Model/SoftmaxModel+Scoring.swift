import Foundation

extension SoftmaxModel {
  /// The model's outputs for every row of a dataset.
  public struct Scores: Sendable {
    /// The number of classes K (the row length of `probabilities`).
    public let classCount: Int
    /// The most probable class index of each row (the first, on ties).
    public let predictedClasses: [Int32]
    /// p(k | x_i), row-major: rows × K.
    public let probabilities: [Float]
    /// log p(y_i | x_i) for labelled data (computed as z_y − max − log Σ exp(z − max) in
    /// Double, so it is finite even when p underflows Float32); empty otherwise.
    public let trueClassLogProbabilities: [Double]
  }

  /// One row's prediction: the most probable class and every class's probability.
  public struct Prediction: Sendable, Equatable, Codable {
    /// The most probable class's name (the first, on ties).
    public let label: String
    /// Its index in `classNames`.
    public let classIndex: Int
    /// p(k | x) for each class, in `classNames` order.
    public let probabilities: [Float]
  }

  /// The prediction for every row of `dataset`, in row order; labels, if the rows have
  /// them, are not used. Parallel over `threadCount` threads, as `scores(for:)`.
  /// - Throws: `ModelError.mismatchedInput` when the dataset's features are not the model's.
  public func predictions(for dataset: Dataset, threadCount: Int = ShardedExecutor.availableCoreCount)
    throws(ModelError) -> [Prediction]
  {
    let scores = try self.scores(for: dataset, threadCount: threadCount)
    return scores.predictedClasses.indices.map { row in
      let classIndex = Int(scores.predictedClasses[row])
      return Prediction(
        label: classNames[classIndex], classIndex: classIndex,
        probabilities: Array(scores.probabilities[(row * classCount)..<((row + 1) * classCount)]))
    }
  }

  /// The prediction for each row of raw features (in `featureNames` order), in parallel.
  /// - Throws: `ModelError.mismatchedInput` naming the first row of another length or with
  ///   a value that is not finite (or, for Double rows, beyond Float32's range).
  public func predictions(for rows: [[Float]], threadCount: Int = ShardedExecutor.availableCoreCount)
    throws(ModelError) -> [Prediction]
  {
    guard !rows.isEmpty else { return [] }
    if let bad = rows.firstIndex(where: { $0.count != featureCount }) {
      throw .mismatchedInput("row \(bad + 1) has \(rows[bad].count) values; the model takes \(featureCount) features")
    }
    let dataset: Dataset
    do {
      dataset = try Dataset(rows: rows, featureNames: featureNames)
    } catch {
      throw .mismatchedInput(error.description)
    }
    return try predictions(for: dataset, threadCount: threadCount)
  }

  /// `predictions(for:)` for rows of Double or another floating-point type, each value
  /// rounded to Float32 as a CSV value is.
  public func predictions<Value: BinaryFloatingPoint>(
    for rows: [[Value]], threadCount: Int = ShardedExecutor.availableCoreCount
  ) throws(ModelError) -> [Prediction] {
    try predictions(for: Self.float32Rows(rows, featureNames: featureNames), threadCount: threadCount)
  }

  /// `predict(_:)` for a row of Double or another floating-point type (rounded to Float32).
  public func predict<Value: BinaryFloatingPoint>(_ row: [Value]) throws(ModelError) -> String {
    try predict(Self.float32Rows([row], featureNames: featureNames)[0])
  }

  /// `probabilities(for:)` for a row of Double or another floating-point type (rounded to
  /// Float32).
  public func probabilities<Value: BinaryFloatingPoint>(for row: [Value]) throws(ModelError) -> [Float] {
    try probabilities(for: Self.float32Rows([row], featureNames: featureNames)[0])
  }

  private static func float32Rows<Value: BinaryFloatingPoint>(_ rows: [[Value]], featureNames: [String])
    throws(ModelError) -> [[Float]]
  {
    do {
      return try Dataset.float32Rows(rows, featureNames: featureNames)
    } catch {
      throw .mismatchedInput(error.description)
    }
  }

  /// Scores every row of `dataset` (raw features, in this model's feature order: load it
  /// with `Dataset.Schema.matching`). Rows are split into shards run on `threadCount`
  /// threads; each row's result is independent of the split. Cost: O(rows · K · D).
  /// - Throws: `ModelError.mismatchedInput` when the dataset's features are not the model's.
  public func scores(for dataset: Dataset, threadCount: Int = ShardedExecutor.availableCoreCount)
    throws(ModelError) -> Scores
  {
    guard dataset.featureNames == featureNames else {
      let differing = (0..<min(dataset.featureCount, featureCount)).first { dataset.featureNames[$0] != featureNames[$0] }
      throw .mismatchedInput(
        "the data has \(dataset.featureCount) features, the model \(featureCount)"
          + (differing.map { "; feature \($0 + 1) is \"\(dataset.featureNames[$0])\" in the data, \"\(featureNames[$0])\" in the model" } ?? "")
          + " (read the data with Dataset.Schema.scoring(model, requiresLabels:))")
    }
    let layout = ParameterLayout(classCount: classCount, featureCount: featureCount)
    let parameters = layout.pack(weights: weights, bias: bias)
    let featureCount = self.featureCount
    let mean = standardization?.mean ?? [Double](repeating: 0, count: featureCount)
    let scale = standardization?.scale ?? [Double](repeating: 1, count: featureCount)
    let input = dataset
    let rowCount = input.rowCount
    let classCount = self.classCount
    let hasLabels = dataset.isLabeled && dataset.classNames == classNames
    var predicted = [Int32](repeating: 0, count: rowCount)
    var probabilities = [Float](repeating: 0, count: rowCount * classCount)
    var logProbabilities = [Double](repeating: 0, count: hasLabels ? rowCount : 0)
    let shards = Shards(rowCount: rowCount)
    let features = input.features
    predicted.withUnsafeMutableBufferPointer { predicted in
      probabilities.withUnsafeMutableBufferPointer { probabilities in
        logProbabilities.withUnsafeMutableBufferPointer { logProbabilities in
          parameters.withUnsafeBufferPointer { parameters in
            input.labels.withUnsafeBufferPointer { labels in
              let pass = ScoringPass(
                features: features, encoding: input.encoding, layout: layout, parameters: parameters, mean: mean, scale: scale,
                labels: hasLabels ? labels : nil, predicted: predicted,
                probabilities: probabilities, logProbabilities: logProbabilities)
              ShardedExecutor(threadCount: threadCount).forEachShard(shards.count) { shard in
                pass.score(rows: shards[shard])
              }
            }
          }
        }
      }
    }
    return Scores(
      classCount: classCount, predictedClasses: predicted, probabilities: probabilities,
      trueClassLogProbabilities: logProbabilities)
  }

}

/// One scoring pass: reads the features and parameters, writes per-row outputs.
/// Scores rows in Double: each row is decoded and standardised, (x − μ)/σ, into a padded Double scratch
/// row, and the logits are Double dot products, so no finite row overflows (a logit of
/// 1e40 is fine in Double) and every probability is finite.
private struct ScoringPass: @unchecked Sendable {
  // @unchecked: inputs are only read; shards cover disjoint rows, so no output element is
  // written twice.
  let features: FeatureMatrix
  /// How `features` stores the values; rows are decoded before they are standardised.
  let encoding: ColumnEncoding
  let layout: ParameterLayout
  /// θ in Double, in the padded layout.
  let parameters: UnsafeBufferPointer<Double>
  let mean: [Double]
  let scale: [Double]
  let labels: UnsafeBufferPointer<Int32>?
  let predicted: UnsafeMutableBufferPointer<Int32>
  let probabilities: UnsafeMutableBufferPointer<Float>
  let logProbabilities: UnsafeMutableBufferPointer<Double>

  func score(rows: Range<Int>) {
    var logits = [Double](repeating: 0, count: layout.classCount)
    var standardized = [Double](repeating: 0, count: layout.rowStride)  // padding stays 0
    for row in rows {
      let values = features.rowPointer(row)
      for column in 0..<layout.featureCount {
        standardized[column] =
          (encoding.decode(values[column], column: column) - mean[column]) / scale[column]
      }
      standardized.withUnsafeBufferPointer { standardized in
        for classIndex in 0..<layout.classCount {
          logits[classIndex] =
            DoubleRow.dot(
              parameters.baseAddress! + classIndex * layout.rowStride, standardized.baseAddress!,
              rowStride: layout.rowStride) + parameters[layout.biasOffset + classIndex]
        }
      }
      store(row: row, logits: logits, label: labels.map { Int($0[row]) })
    }
  }

  private func store(row: Int, logits: [Double], label: Int?) {
    let classCount = logits.count
    let maximum = logits.max() ?? 0
    var sum = 0.0
    for classIndex in 0..<classCount {
      sum += exp(logits[classIndex] - maximum)
    }
    for classIndex in 0..<classCount {
      probabilities[row * classCount + classIndex] = Float(exp(logits[classIndex] - maximum) / sum)
    }
    predicted[row] = Int32(SoftmaxModel.argmax(logits))
    if let label {
      logProbabilities[row] = (logits[label] - maximum) - Foundation.log(sum)
    }
  }
}

extension SoftmaxModel {
  /// The number of weights that are not zero, of K·D (an elastic net sets some exactly to 0).
  public var nonzeroWeightCount: Int { nonzeroWeightCounts.reduce(0, +) }

  /// Per class (in `classNames` order), the number of its D weights that are not zero.
  public var nonzeroWeightCounts: [Int] {
    (0..<classNames.count).map { classIndex in
      weights[(classIndex * featureNames.count)..<((classIndex + 1) * featureNames.count)]
        .reduce(0) { $0 + ($1 != 0 ? 1 : 0) }
    }
  }
}
