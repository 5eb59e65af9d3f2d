/// The L2-regularised softmax (multinomial logistic) objective over a dataset:
///
///     J(W, b) = (1/m) Σ_i −log p(y_i | x_i) + (λ/2) ‖W‖²,
///     p(k | x) = exp(w_k·x + b_k) / Σ_l exp(w_l·x + b_l)          (bias not penalised)
///     ∇_{w_k} J = (1/m) Σ_i x_i (p_ik − 1{y_i = k}) + λ w_k
///     ∇_{b_k} J = (1/m) Σ_i (p_ik − 1{y_i = k})
///
/// With row weights v_i the means become weighted means: (1/m) Σ_i is replaced by
/// (1/Σ_i v_i) Σ_i v_i. The rows may be a subset or an order of the dataset's rows
/// (`rows`), e.g. the training part of a validation split.
///
/// One `evaluate` is one fused pass over the rows: each shard's rows go through
/// `GradientKernel` into that shard's `PartialSums` slot on the executor's threads; the
/// slots are added in shard order (in Double), divided by Σ v_i, and the penalty λW is added
/// once. The value and gradient are therefore bit-identical for any thread count.
/// Extra memory: O(shards · K · D), allocated once: an evaluation allocates nothing.
public final class SoftmaxObjective: DifferentiableFunction, @unchecked Sendable {
  // @unchecked: `evaluate` and `shuffleRows` mutate the scratch buffers and the row order;
  // callers must not call them concurrently on one instance (optimizers call sequentially).

  /// The data, as the objective sees it (standardised if the trainer did so).
  public let dataset: Dataset
  /// The L2 penalty λ on W.
  public let lambda: Double
  /// How a full pass cuts the rows into shards.
  public let shards: Shards
  /// The threads that evaluate shards.
  public let executor: ShardedExecutor
  /// Where W and b sit in θ.
  public let layout: ParameterLayout
  /// The number of rows the objective covers (its positions).
  public let rowCount: Int

  /// The arithmetic of a pass.
  public enum Precision: Sendable {
    /// Float32 SIMD kernel (`GradientKernel`): fast; θ is rounded to Float32 for it.
    case single
    /// Double kernel (`PreciseGradientKernel`): several times slower, for finishing.
    case double
  }

  /// The arithmetic of the next passes. Default `.single`.
  public var precision: Precision = .single

  private let rowOrder: UnsafeMutableBufferPointer<Int32>?
  private let rowWeights: [Float]?
  private let partialSums: PartialSums<Float>
  private var precisePartialSums: PartialSums<Double>? = nil
  private let gradientSums: UnsafeMutableBufferPointer<Double>
  /// θ rounded to Float32, for the fast kernel.
  private let singleParameters: UnsafeMutableBufferPointer<Float>

  /// The results of the last `evaluate`, besides the value and gradient.
  public private(set) var lastEvaluation = Evaluation(
    value: .nan, meanLoss: .nan, correctCount: 0, rowCount: 0)

  /// What one pass learns about the current parameters.
  public struct Evaluation: Sendable, Equatable {
    /// J(W, b) over the evaluated rows.
    public var value: Double
    /// The (weighted) mean of −log p(y_i | x_i): J without the penalty.
    public var meanLoss: Double
    /// Rows whose highest-probability class is their label.
    public var correctCount: Int
    /// The number of rows evaluated.
    public var rowCount: Int
    /// correctCount / rowCount (unweighted).
    public var accuracy: Double { rowCount == 0 ? 0 : Double(correctCount) / Double(rowCount) }
  }

  /// An objective over `dataset` (which must be labelled) with penalty `lambda`.
  /// - Parameters:
  ///   - rows: the dataset rows to cover, in order; nil for all rows.
  ///   - rowWeights: a weight ≥ 0 per dataset row (indexed by row), or nil for 1.
  ///   - shards: how to cut a full pass; the default depends only on the row count.
  ///   - executor: the worker threads.
  public init(
    dataset: Dataset, lambda: Double, rows: [Int32]? = nil, rowWeights: [Float]? = nil,
    shards: Shards? = nil, executor: ShardedExecutor
  ) {
    precondition(dataset.isLabeled, "the objective needs labelled rows")
    precondition(rowWeights == nil || rowWeights!.count == dataset.rowCount)
    self.dataset = dataset
    self.lambda = lambda
    self.rowCount = rows?.count ?? dataset.rowCount
    self.shards = shards ?? Shards(rowCount: rowCount)
    self.executor = executor
    self.rowWeights = rowWeights
    self.layout = ParameterLayout(
      classCount: dataset.classCount, featureCount: dataset.featureCount)
    if let rows {
      let order = UnsafeMutableBufferPointer<Int32>.allocate(capacity: max(1, rows.count))
      _ = order.initialize(from: rows)
      rowOrder = order
    } else {
      rowOrder = nil
    }
    partialSums = PartialSums(
      shardCount: max(self.shards.count, Shards.maximumMiniBatchShardCount),
      parameterCount: layout.parameterCount,
      scratchCount: GradientKernel.scratchCount(
        classCount: layout.classCount, rowStride: layout.rowStride))
    gradientSums = .allocate(capacity: layout.parameterCount)
    gradientSums.initialize(repeating: 0)
    // 64-byte aligned, like the feature rows: the kernel's 32-byte weight loads must not
    // straddle cache lines.
    singleParameters = UnsafeMutableBufferPointer(
      start: UnsafeMutableRawPointer.allocate(
        byteCount: layout.parameterCount * MemoryLayout<Float>.stride, alignment: 64
      ).initializeMemory(as: Float.self, repeating: 0, count: layout.parameterCount),
      count: layout.parameterCount)
  }

  deinit {
    gradientSums.deallocate()
    singleParameters.deallocate()
    rowOrder?.deallocate()
  }

  /// K · rowStride + K: the length of θ (see `ParameterLayout`).
  public var parameterCount: Int { layout.parameterCount }

  /// J and ∇J over all the objective's rows: one full pass.
  public func evaluate(
    at parameters: UnsafeBufferPointer<Double>, gradient: UnsafeMutableBufferPointer<Double>
  ) -> Double {
    evaluate(at: parameters, gradient: gradient, positions: 0..<rowCount, shards: shards)
  }

  /// J and ∇J over the rows at `positions` (a mini-batch): the penalty is included once,
  /// the data term is the (weighted) mean over those rows. Shards depend only on the
  /// batch's size, so results are bit-identical for any thread count.
  public func evaluate(
    at parameters: UnsafeBufferPointer<Double>, gradient: UnsafeMutableBufferPointer<Double>,
    positions: Range<Int>
  ) -> Double {
    precondition(positions.lowerBound >= 0 && positions.upperBound <= rowCount)
    return evaluate(
      at: parameters, gradient: gradient, positions: positions,
      shards: Shards(miniBatchOf: positions.count))
  }

  /// Reorders the positions with a seeded Fisher–Yates shuffle (for SGD epochs). Needs an
  /// objective built with explicit `rows`.
  public func shuffleRows(using generator: inout SplitMix64) {
    guard let rowOrder else {
      preconditionFailure("shuffleRows needs an objective built with explicit rows")
    }
    var index = rowOrder.count - 1
    while index > 0 {
      let other = Int(generator.next() % UInt64(index + 1))
      rowOrder.swapAt(index, other)
      index -= 1
    }
  }

  private func evaluate(
    at parameters: UnsafeBufferPointer<Double>, gradient: UnsafeMutableBufferPointer<Double>,
    positions: Range<Int>, shards: Shards
  ) -> Double {
    precondition(parameters.count == parameterCount && gradient.count == parameterCount)
    precondition(shards.count <= partialSums.shardCount)
    let totals: PartialSums<Float>.Totals
    switch precision {
    case .single:
      for index in 0..<parameterCount { singleParameters[index] = Float(parameters[index]) }
      totals = runSingle(positions: positions, shards: shards)
    case .double:
      totals = runDouble(parameters: parameters, positions: positions, shards: shards)
    }
    let weightSum = totals.weightSum > 0 ? totals.weightSum : 1
    let meanLoss = totals.loss / weightSum
    let penalty = L2Penalty(lambda: lambda, layout: layout)
    let value = meanLoss + penalty.value(parameters)
    penalty.combine(
      gradientSums: UnsafeBufferPointer(gradientSums), weightSum: weightSum,
      parameters: parameters, into: gradient)
    lastEvaluation = Evaluation(
      value: value, meanLoss: meanLoss, correctCount: totals.correct, rowCount: positions.count)
    return value
  }

  /// One pass of the Float32 kernel at `singleParameters`; sums land in `gradientSums`.
  private func runSingle(positions: Range<Int>, shards: Shards) -> PartialSums<Float>.Totals {
    withKernelInputs { labels, weights, rowIndices in
      var kernel = GradientKernel(
        features: UnsafePointer(dataset.features.storage), rowStride: layout.rowStride,
        labels: labels, classCount: layout.classCount,
        weights: UnsafePointer(singleParameters.baseAddress!),
        bias: UnsafePointer(singleParameters.baseAddress! + layout.biasOffset))
      kernel.rowIndices = rowIndices
      kernel.rowWeights = weights
      return runPass(kernel, partialSums: partialSums, positions: positions, shards: shards)
    }
  }

  /// One pass of the Double kernel at `parameters`; sums land in `gradientSums`. Its shard
  /// buffers are allocated on first use.
  private func runDouble(
    parameters: UnsafeBufferPointer<Double>, positions: Range<Int>, shards: Shards
  ) -> PartialSums<Float>.Totals {
    let partialSums =
      precisePartialSums
      ?? PartialSums<Double>(
        shardCount: self.partialSums.shardCount, parameterCount: layout.parameterCount,
        scratchCount: PreciseGradientKernel.scratchCount(
          classCount: layout.classCount, rowStride: layout.rowStride))
    precisePartialSums = partialSums
    let totals = withKernelInputs { labels, weights, rowIndices in
      var kernel = PreciseGradientKernel(
        features: UnsafePointer(dataset.features.storage), rowStride: layout.rowStride,
        labels: labels, classCount: layout.classCount,
        weights: parameters.baseAddress!, bias: parameters.baseAddress! + layout.biasOffset)
      kernel.rowIndices = rowIndices
      kernel.rowWeights = weights
      return runPass(kernel, partialSums: partialSums, positions: positions, shards: shards)
    }
    return PartialSums<Float>.Totals(
      loss: totals.loss, weightSum: totals.weightSum, correct: totals.correct)
  }

  /// Calls `body` with the labels, the row weights and the row order as pointers.
  private func withKernelInputs<Result>(
    _ body: (UnsafePointer<Int32>, UnsafePointer<Float>?, UnsafePointer<Int32>?) -> Result
  ) -> Result {
    dataset.labels.withUnsafeBufferPointer { labels in
      rowWeights.withUnsafeOptionalBufferPointer { weights in
        body(labels.baseAddress!, weights?.baseAddress, rowOrder.map { UnsafePointer($0.baseAddress!) })
      }
    }
  }

  /// Runs `kernel` over every shard of `positions` on the executor, each into its own slot,
  /// and reduces the slots in shard order into `gradientSums`.
  private func runPass<Kernel: ShardKernel>(
    _ kernel: Kernel, partialSums: PartialSums<Kernel.Element>, positions: Range<Int>,
    shards: Shards
  ) -> PartialSums<Kernel.Element>.Totals {
    let offset = positions.lowerBound
    executor.forEachShard(shards.count) { shard in
      var accumulator = partialSums.startShard(shard)
      let range = shards[shard]
      kernel.accumulate(
        rows: (range.lowerBound + offset)..<(range.upperBound + offset), into: &accumulator,
        scratch: partialSums.scratch(shard))
      partialSums.finishShard(shard, accumulator)
    }
    return partialSums.reduce(into: gradientSums, shardCount: shards.count, on: executor)
  }
}

/// A fused pass over a range of rows into one shard's accumulator: what `SoftmaxObjective`
/// runs on each shard, in Float32 (`GradientKernel`) or Double (`PreciseGradientKernel`).
protocol ShardKernel: Sendable {
  associatedtype Element: BinaryFloatingPoint & Sendable
  func accumulate(
    rows: Range<Int>, into accumulator: inout PartialSums<Element>.Accumulator,
    scratch: UnsafeMutableBufferPointer<Element>)
}

extension GradientKernel: ShardKernel {}
extension PreciseGradientKernel: ShardKernel {}

extension Optional where Wrapped == [Float] {
  fileprivate func withUnsafeOptionalBufferPointer<Result>(
    _ body: (UnsafeBufferPointer<Float>?) -> Result
  ) -> Result {
    guard let array = self else { return body(nil) }
    return array.withUnsafeBufferPointer { body($0) }
  }
}

/// The penalty (λ/2)‖W‖² on the weights (not the bias, not the padding), added once after
/// the shards are reduced.
struct L2Penalty {
  let lambda: Double
  let layout: ParameterLayout

  /// (λ/2) Σ_k Σ_{j<D} W_kj², in Double. Cost: O(K·D).
  func value(_ parameters: UnsafeBufferPointer<Double>) -> Double {
    guard lambda != 0 else { return 0 }
    var sumOfSquares = 0.0
    for classIndex in 0..<layout.classCount {
      let row = classIndex * layout.rowStride
      for feature in 0..<layout.featureCount {
        let weight = parameters[row + feature]
        sumOfSquares += weight * weight
      }
    }
    return 0.5 * lambda * sumOfSquares
  }

  /// gradient = sums / Σv + λW (λ term on weights only). Padding entries stay 0.
  func combine(
    gradientSums: UnsafeBufferPointer<Double>, weightSum: Double,
    parameters: UnsafeBufferPointer<Double>, into gradient: UnsafeMutableBufferPointer<Double>
  ) {
    let inverseRowCount = 1 / weightSum
    for index in 0..<layout.biasOffset {
      gradient[index] = gradientSums[index] * inverseRowCount + lambda * parameters[index]
    }
    for index in layout.biasOffset..<layout.parameterCount {
      gradient[index] = gradientSums[index] * inverseRowCount
    }
  }
}
