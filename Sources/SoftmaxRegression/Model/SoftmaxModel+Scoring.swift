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
