/// The L2-regularised softmax (multinomial logistic) objective over a dataset:
///
///     J(W, b) = (1/m) Σ_i −log p(y_i | x_i) + (λ/2) ‖W‖²,
///     p(k | x) = exp(w_k·x + b_k) / Σ_l exp(w_l·x + b_l)          (bias not penalised)
///     ∇_{w_k} J = (1/m) Σ_i x_i (p_ik − 1{y_i = k}) + λ w_k
///     ∇_{b_k} J = (1/m) Σ_i (p_ik − 1{y_i = k})
///
/// One `evaluate` is one fused pass over the rows: each shard's rows go through
/// `GradientKernel` into that shard's `PartialSums` slot on the executor's threads; the
/// slots are added in shard order (in Double), divided by m, and the penalty λW is added
/// once. The value and gradient are therefore bit-identical for any thread count.
/// Extra memory: O(shards · K · D), allocated once: an evaluation allocates nothing.
public final class SoftmaxObjective: DifferentiableFunction, @unchecked Sendable {
  // @unchecked: `evaluate` mutates the scratch buffers; callers must not call it
  // concurrently on one instance (optimizers call it sequentially).

  /// The rows, as the objective sees them (standardised if the trainer did so).
  public let dataset: Dataset
  /// The L2 penalty λ on W.
  public let lambda: Double
  /// How rows are cut into shards.
  public let shards: Shards
  /// The threads that evaluate shards.
  public let executor: ShardedExecutor
  /// Where W and b sit in θ.
  public let layout: ParameterLayout

  private let partialSums: PartialSums
  private let gradientSums: UnsafeMutableBufferPointer<Double>

  /// The results of the last `evaluate`, besides the value and gradient.
  public private(set) var lastEvaluation = Evaluation(
    value: .nan, meanLoss: .nan, correctCount: 0, rowCount: 0)

  /// What one pass learns about the current parameters.
  public struct Evaluation: Sendable, Equatable {
    /// J(W, b).
    public var value: Double
    /// (1/m) Σ −log p(y_i | x_i): J without the penalty.
    public var meanLoss: Double
    /// Rows whose highest-probability class is their label.
    public var correctCount: Int
    /// m.
    public var rowCount: Int
    /// correctCount / m.
    public var accuracy: Double { rowCount == 0 ? 0 : Double(correctCount) / Double(rowCount) }
  }

  /// An objective over `dataset` (which must be labelled) with penalty `lambda`.
  /// - Parameters:
  ///   - shards: how to cut the rows; the default depends only on the row count.
  ///   - executor: the worker threads.
  public init(
    dataset: Dataset, lambda: Double, shards: Shards? = nil, executor: ShardedExecutor
  ) {
    precondition(dataset.isLabeled, "the objective needs labelled rows")
    self.dataset = dataset
    self.lambda = lambda
    self.shards = shards ?? Shards(rowCount: dataset.rowCount)
    self.executor = executor
    self.layout = ParameterLayout(
      classCount: dataset.classCount, featureCount: dataset.featureCount)
    partialSums = PartialSums(
      shardCount: self.shards.count, parameterCount: layout.parameterCount,
      scratchCount: GradientKernel.scratchCount(
        classCount: layout.classCount, rowStride: layout.rowStride))
    gradientSums = .allocate(capacity: layout.parameterCount)
    gradientSums.initialize(repeating: 0)
  }

  deinit {
    gradientSums.deallocate()
  }

  public var parameterCount: Int { layout.parameterCount }

  public func evaluate(
    at parameters: UnsafeBufferPointer<Float>, gradient: UnsafeMutableBufferPointer<Float>
  ) -> Double {
    precondition(parameters.count == parameterCount && gradient.count == parameterCount)
    let rowCount = dataset.rowCount
    let (loss, correct) = dataset.labels.withUnsafeBufferPointer { labels in
      let kernel = GradientKernel(
        features: UnsafePointer(dataset.features.storage), rowStride: layout.rowStride,
        labels: labels.baseAddress!, classCount: layout.classCount,
        weights: parameters.baseAddress!, bias: parameters.baseAddress! + layout.biasOffset)
      let partialSums = self.partialSums
      let shards = self.shards
      executor.forEachShard(shards.count) { shard in
        var accumulator = partialSums.startShard(shard)
        kernel.accumulate(
          rows: shards[shard], into: &accumulator, scratch: partialSums.scratch(shard))
        partialSums.finishShard(shard, accumulator)
      }
      return partialSums.reduce(into: gradientSums, on: executor)
    }
    let meanLoss = loss / Double(rowCount)
    let penalty = L2Penalty(lambda: lambda, layout: layout)
    let value = meanLoss + penalty.value(parameters)
    penalty.combine(gradientSums: UnsafeBufferPointer(gradientSums), rowCount: rowCount,
      parameters: parameters, into: gradient)
    lastEvaluation = Evaluation(
      value: value, meanLoss: meanLoss, correctCount: correct, rowCount: rowCount)
    return value
  }
}

/// The penalty (λ/2)‖W‖² on the weights (not the bias, not the padding), added once after
/// the shards are reduced.
struct L2Penalty {
  let lambda: Double
  let layout: ParameterLayout

  /// (λ/2) Σ_k Σ_{j<D} W_kj², in Double. Cost: O(K·D).
  func value(_ parameters: UnsafeBufferPointer<Float>) -> Double {
    guard lambda != 0 else { return 0 }
    var sumOfSquares = 0.0
    for classIndex in 0..<layout.classCount {
      let row = classIndex * layout.rowStride
      for feature in 0..<layout.featureCount {
        let weight = Double(parameters[row + feature])
        sumOfSquares += weight * weight
      }
    }
    return 0.5 * lambda * sumOfSquares
  }

  /// gradient = sums / m + λW (λ term on weights only). Padding entries stay 0.
  func combine(
    gradientSums: UnsafeBufferPointer<Double>, rowCount: Int,
    parameters: UnsafeBufferPointer<Float>, into gradient: UnsafeMutableBufferPointer<Float>
  ) {
    let inverseRowCount = 1 / Double(rowCount)
    for index in 0..<layout.biasOffset {
      gradient[index] = Float(gradientSums[index] * inverseRowCount + lambda * Double(parameters[index]))
    }
    for index in layout.biasOffset..<layout.parameterCount {
      gradient[index] = Float(gradientSums[index] * inverseRowCount)
    }
  }
}
