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
  /// with `Dataset.CSVSchema.matching`). Rows are split into shards run on `threadCount`
  /// threads; each row's result is independent of the split. Cost: O(rows · K · D).
  public func scores(for dataset: Dataset, threadCount: Int = ShardedExecutor.availableCoreCount)
    -> Scores
  {
    precondition(dataset.featureNames == featureNames, "dataset features must match the model")
    var input = dataset
    if let standardization { input.standardize(with: standardization) }
    let layout = ParameterLayout(classCount: classCount, featureCount: featureCount)
    let parameters = layout.pack(weights: weights, bias: bias).map { Float($0) }
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
                features: features, layout: layout, parameters: parameters,
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
private struct ScoringPass: @unchecked Sendable {
  // @unchecked: inputs are only read; shards cover disjoint rows, so no output element is
  // written twice.
  let features: FeatureMatrix
  let layout: ParameterLayout
  let parameters: UnsafeBufferPointer<Float>
  let labels: UnsafeBufferPointer<Int32>?
  let predicted: UnsafeMutableBufferPointer<Int32>
  let probabilities: UnsafeMutableBufferPointer<Float>
  let logProbabilities: UnsafeMutableBufferPointer<Double>

  func score(rows: Range<Int>) {
    var logits = [Float](repeating: 0, count: layout.classCount)
    for row in rows {
      computeLogits(row: features.rowPointer(row), into: &logits)
      store(row: row, logits: logits, label: labels.map { Int($0[row]) })
    }
  }

  private func computeLogits(row: UnsafePointer<Float>, into logits: inout [Float]) {
    for classIndex in 0..<layout.classCount {
      let weights = parameters.baseAddress! + classIndex * layout.rowStride
      var sum = Vector8()
      var offset = 0
      while offset < layout.rowStride {
        sum = multiplyAdd(loadVector(row + offset), loadVector(weights + offset), sum)
        offset += 8
      }
      logits[classIndex] = sum.sum() + parameters[layout.biasOffset + classIndex]
    }
  }

  private func store(row: Int, logits: [Float], label: Int?) {
    let classCount = logits.count
    let maximum = logits.max() ?? 0
    var sum = 0.0
    for classIndex in 0..<classCount {
      sum += exp(Double(logits[classIndex] - maximum))
    }
    for classIndex in 0..<classCount {
      probabilities[row * classCount + classIndex] =
        Float(exp(Double(logits[classIndex] - maximum)) / sum)
    }
    predicted[row] = Int32(SoftmaxModel.argmax(logits))
    if let label {
      logProbabilities[row] = Double(logits[label] - maximum) - Foundation.log(sum)
    }
  }
}
