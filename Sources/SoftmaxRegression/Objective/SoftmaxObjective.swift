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
/// x is the data as read (`Dataset.value(row:column:)`), or its standardisation when the
/// trainer asks for one; the kernels read the stored values where they lie, and the map
/// between the two is folded into the parameters (`FeatureScaling`).
///
/// One `evaluate` is one fused pass over the rows, in three steps with one owner each:
/// 1. the kernel runs over each shard on the executor's threads into that shard's slot of
///    `PartialSums` (no m × K matrix);
/// 2. the reducer combines the slots into one flat `PassTotals`, in shard order;
/// 3. the totals are divided by Σ v_i and the regulariser adds its value and gradient once.
/// The value and gradient are therefore bit-identical for any thread count. Extra memory:
/// O(shards · K · D), allocated once: an evaluation allocates nothing. A wide model (see
/// `passKind`) takes the blocked `WideGradientPass` for its Float32 passes instead: O(K · D)
/// extra memory, the same determinism; Double passes keep the shard slots.
///
/// Not reentrant: `evaluate`, `hessianVectorProduct` and `shuffleRows` use the instance's
/// buffers, so one optimizer at a time may use an instance (it is not `Sendable`).
public final class SoftmaxObjective: MiniBatchFunction, TwiceDifferentiableFunction {
  /// The data, as stored.
  public let dataset: Dataset
  /// The L2 penalty λ on W.
  public let lambda: Double
  /// The L1 part of an elastic net, outside `evaluate`'s value and gradient; nil for none.
  public let l1Penalty: L1Penalty?
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

  /// The relative error of J as evaluated: Float32 logits carry about 2⁻²³ of it, the
  /// Double kernel a few ulps of Double.
  public var relativeResolution: Double { precision == .single ? 0x1p-23 : 1e-14 }

  /// The row order, or nil for the dataset's rows in order; created by the first shuffle.
  private var rowOrder: UnsafeMutableBufferPointer<Int32>?
  let rowWeights: [Float]?
  /// The rows the objective covers, in order, when not all of the dataset's.
  let baseRows: [Int32]?
  let regularizer: any SmoothRegularizer
  private let reducer: any ShardReducer
  /// The processes the passes are spread over, and how their totals are chained.
  let chain: ProcessChain
  /// The map from the stored values to θ's coordinates, or nil when they are the same.
  let scaling: FeatureScaling?
  /// θ (or a direction) mapped by `scaling`, in Double, for the kernels.
  private let kernelParameters: UnsafeMutableBufferPointer<Double>
  private let kernelDirection: UnsafeMutableBufferPointer<Double>
  /// The fused kernel's shard slots (O(shards · K · D)), made on first use: a wide model's
  /// Float32 passes never need them.
  private var partialSums: PartialSums<Float> {
    if let singlePartialSums { return singlePartialSums }
    let made = PartialSums<Float>(
      shardCount: partialShardCount, parameterCount: layout.parameterCount,
      scratchCount: GradientKernel.scratchCount(classCount: layout.classCount, rowStride: layout.rowStride))
    singlePartialSums = made
    return made
  }
  private var singlePartialSums: PartialSums<Float>? = nil
  /// Slots for the largest pass: a full pass's shards or a mini-batch's.
  private let partialShardCount: Int
  /// The blocked pass that replaces the fused kernel for wide models (`WideGradientPass`).
  private var widePass: WideGradientPass?

  /// How the Float32 passes run.
  public enum PassKind: Sendable, Equatable {
    /// The fused per-row kernel (`GradientKernel`), each shard into its own sums, reduced
    /// in shard order: the fastest for few classes.
    case fused
    /// Blocked matrix products (`WideGradientPass`), summed in place: for many classes ×
    /// features, with O(K · D) extra memory instead of O(shards · K · D).
    case blocked
  }

  /// How the Float32 passes run: `.blocked` where it is faster (many classes times features,
  /// rows not too short: `WideGradientPass.isPreferred`) or where the fused kernel's shard
  /// sums would pass max(64 MB, a tenth of the matrix), else `.fused` (measured: see
  /// README, "Wide models"). Settable, to compare the two; both give
  /// results bit-identical for any thread count, but not identical to each other.
  public var passKind: PassKind {
    get { widePass == nil ? .fused : .blocked }
    set {
      guard newValue != passKind else { return }
      widePass = newValue == .blocked ? WideGradientPass(classCount: layout.classCount, rowStride: layout.rowStride) : nil
    }
  }

  /// Whether the blocked pass runs its AVX-512F steps (where the CPU has them; tests turn
  /// them off to check the Swift steps too).
  var blockedPassUsesAVX512: Bool {
    get { widePass?.usesAVX512 ?? false }
    set { widePass?.usesAVX512 = newValue }
  }

  /// The Float lanes of the vectors the Float32 pass multiplies and adds: 16 where the
  /// blocked pass runs its AVX-512F steps, else 8 (benchmarks measure the machine's FMA
  /// ceiling at this width).
  public var vectorLanes: Int { blockedPassUsesAVX512 ? 16 : 8 }

  /// The bytes the passes hold beyond the data and θ: the shard sums made so far (Float32,
  /// and the Double ones of precise or Hessian-vector passes), or the blocked pass's
  /// buffers, and the totals.
  public var passMemoryBytes: Int {
    let slots = [singlePartialSums?.byteCount, precisePartialSums?.byteCount, hessianPartialSums?.byteCount]
    return slots.reduce(0) { $0 + ($1 ?? 0) } + (widePass?.byteCount ?? 0) + 8 * (parameterCount + 5)
  }

  /// The most values a process other than the first sends in a full Float32 pass: one
  /// vector of totals for the chain of the fused pass, the complete nodes of its range for
  /// the blocked pass's tree (`ShardTree`); 0 in one process. The broadcast of the totals
  /// comes on top.
  public var valuesSentPerPass: Int {
    guard chain.isDistributed else { return 0 }
    let vectors =
      widePass == nil
      ? 1
      : (1..<chain.processes.count).map { rank in
        ShardTree.nodeCount(afterPushing: chain.processes.shardRange(of: shards.count, rank: rank))
      }.max() ?? 0
    return vectors * (layout.parameterCount + 5)
  }

  /// The seconds the last pass spent combining partial sums after its kernel (the reducer,
  /// and over several processes the chain: waiting for, receiving and passing on totals);
  /// after a blocked pass, the shard tree's additions and exchange (`ShardTree`).
  public private(set) var lastReductionSeconds: Double = 0
  private var precisePartialSums: PartialSums<Double>? = nil
  private var hessianPartialSums: PartialSums<Double>? = nil
  private var totals: PassTotals
  /// θ rounded to Float32, for the fast kernel.
  private let singleParameters: UnsafeMutableBufferPointer<Float>

  /// An objective over `dataset` (which must be labelled) with penalty `lambda`.
  /// - Parameters:
  ///   - rows: the dataset rows to cover, in order; nil for all rows.
  ///   - rowWeights: a weight ≥ 0 per dataset row (indexed by row), or nil for 1.
  ///   - shards: how to cut a full pass; the default depends only on the row count.
  ///   - executor: the worker threads.
  ///   - processes: the processes that share each pass, each computing its range of the
  ///     shards (`ProcessGroup`); this one alone by default.
  /// - Throws: `TrainingError.unusableData` when the dataset has no labels, or the row
  ///   list or weights do not fit it.
  public convenience init(
    dataset: Dataset, lambda: Double, rows: [Int32]? = nil, rowWeights: [Float]? = nil,
    shards: Shards? = nil, executor: ShardedExecutor, processes: any ProcessGroup = SingleProcess()
  ) throws(TrainingError) {
    let layout = ParameterLayout(classCount: dataset.classCount, featureCount: dataset.featureCount)
    try self.init(
      dataset: dataset, regularizer: L2Penalty(lambda: lambda, layout: layout), rows: rows,
      rowWeights: rowWeights, shards: shards, executor: executor, reducer: ShardOrderReducer(),
      scaling: FeatureScaling(encoding: dataset.encoding, standardization: nil), processes: processes)
  }

  /// An objective with an explicit regulariser, reducer and scaling (the seams for other
  /// penalties, for reductions across processes, and for standardisation), and the L1 part
  /// of an elastic net, which solvers that handle it add (`l1Penalty`).
  init(
    dataset: Dataset, regularizer: any SmoothRegularizer, rows: [Int32]?, rowWeights: [Float]?,
    shards: Shards?, executor: ShardedExecutor, reducer: any ShardReducer,
    scaling: FeatureScaling?, l1Penalty: L1Penalty? = nil,
    processes: any ProcessGroup = SingleProcess()
  ) throws(TrainingError) {
    guard dataset.isLabeled else { throw .unusableData("the objective needs labelled rows") }
    if let rowWeights, rowWeights.count != dataset.rowCount {
      throw .unusableData("\(rowWeights.count) row weights for \(dataset.rowCount) rows")
    }
    if let rows, let bad = rows.first(where: { $0 < 0 || Int($0) >= dataset.rowCount }) {
      throw .unusableData("row \(bad) is outside the dataset's \(dataset.rowCount) rows")
    }
    self.dataset = dataset
    self.lambda = (regularizer as? L2Penalty)?.lambda ?? 0
    self.regularizer = regularizer
    self.l1Penalty = l1Penalty
    self.reducer = reducer
    self.chain = ProcessChain(processes: processes)
    self.scaling = scaling
    self.rowCount = rows?.count ?? dataset.rowCount
    self.shards = shards ?? Shards(rowCount: rowCount)
    self.executor = executor
    self.rowWeights = rowWeights
    self.baseRows = rows
    self.layout = ParameterLayout(
      classCount: dataset.classCount, featureCount: dataset.featureCount)
    if let rows {
      let order = UnsafeMutableBufferPointer<Int32>.allocate(capacity: max(1, rows.count))
      _ = order.initialize(from: rows)
      rowOrder = order
    } else {
      rowOrder = nil
    }
    partialShardCount = max(self.shards.count, Shards.maximumMiniBatchShardCount)
    widePass =
      WideGradientPass.isPreferred(
        classCount: layout.classCount, rowStride: layout.rowStride, rowCount: rowCount,
        shardCount: partialShardCount)
      ? WideGradientPass(classCount: layout.classCount, rowStride: layout.rowStride) : nil
    totals = PassTotals(parameterCount: layout.parameterCount)
    // 64-byte aligned, like the feature rows: the kernel's 32-byte weight loads must not
    // straddle cache lines.
    singleParameters = UnsafeMutableBufferPointer(
      start: UnsafeMutableRawPointer.allocate(
        byteCount: layout.parameterCount * MemoryLayout<Float>.stride, alignment: 64
      ).initializeMemory(as: Float.self, repeating: 0, count: layout.parameterCount),
      count: layout.parameterCount)
    kernelParameters = .allocate(capacity: scaling == nil ? 0 : layout.parameterCount)
    kernelDirection = .allocate(capacity: scaling == nil ? 0 : layout.parameterCount)
  }

  deinit {
    kernelParameters.deallocate()
    kernelDirection.deallocate()
    singleParameters.deallocate()
    rowOrder?.deallocate()
  }

  /// K · rowStride + K: the length of θ (see `ParameterLayout`).
  public var parameterCount: Int { layout.parameterCount }

  /// J and ∇J over all the objective's rows: one full pass.
  public func evaluate(
    at parameters: UnsafeBufferPointer<Double>, gradient: UnsafeMutableBufferPointer<Double>
  ) -> Evaluation {
    evaluate(at: parameters, gradient: gradient, positions: 0..<rowCount, shards: shards)
  }

  /// J and ∇J over the rows at `positions` (a mini-batch): the penalty is included once,
  /// the data term is the (weighted) mean over those rows. Shards depend only on the
  /// batch's size, so results are bit-identical for any thread count.
  public func evaluate(
    at parameters: UnsafeBufferPointer<Double>, gradient: UnsafeMutableBufferPointer<Double>,
    positions: Range<Int>
  ) -> Evaluation {
    precondition(positions.lowerBound >= 0 && positions.upperBound <= rowCount)
    return evaluate(
      at: parameters, gradient: gradient, positions: positions,
      shards: Shards(miniBatchOf: positions.count))
  }

  /// Rows per block of the SGD shuffle: a mini-batch then reads rows from one block of
  /// consecutive rows (4,096 rows of 100 features: 1.6 MB), never from random places in a
  /// matrix mapped from disk.
  public static let shuffleBlockRows = 4096

  /// Reorders the positions for an SGD epoch: the objective's rows, in order, cut into
  /// blocks of `shuffleBlockRows`; the blocks are put in a seeded random order (Fisher–Yates)
  /// and the rows within each block shuffled too. Each epoch draws a new order from the rows
  /// in order, so blocks stay contiguous on disk whatever the epoch; a dataset of at most
  /// one block is shuffled whole.
  public func shuffleRows(using generator: inout SplitMix64) {
    let order = self.rowOrder ?? makeIdentityOrder()
    self.rowOrder = order
    let blockRows = Self.shuffleBlockRows
    var blocks = Array(0..<((rowCount + blockRows - 1) / blockRows))
    blocks.withUnsafeMutableBufferPointer { Self.shuffle($0, using: &generator) }
    var position = 0
    for block in blocks {
      let rows = block * blockRows..<min(rowCount, (block + 1) * blockRows)
      for (offset, row) in rows.enumerated() {
        order[position + offset] = baseRows.map { $0[row] } ?? Int32(row)
      }
      Self.shuffle(UnsafeMutableBufferPointer(rebasing: order[position..<position + rows.count]), using: &generator)
      position += rows.count
    }
  }

  /// The row at each position, in the current order (the rows in order before a shuffle).
  var currentRowOrder: [Int32] {
    rowOrder.map(Array.init) ?? baseRows ?? (0..<rowCount).map { Int32($0) }
  }

  /// A seeded Fisher–Yates shuffle in place.
  private static func shuffle<Element>(
    _ buffer: UnsafeMutableBufferPointer<Element>, using generator: inout SplitMix64
  ) {
    var index = buffer.count - 1
    while index > 0 {
      let other = Int(generator.next() % UInt64(index + 1))
      buffer.swapAt(index, other)
      index -= 1
    }
  }

  /// A stand-in for the Hessian's diagonal, from the data alone (computed once, one pass):
  /// c · mean(u_j²) + λ for every weight of feature j and c for every bias, where u are the
  /// features in θ's coordinates and c = (1/K)(1 − 1/K) stands in for p(1 − p). On raw,
  /// unscaled features it evens out the columns' scales, the main cause of slow CG. Over
  /// several processes each sums its share of the rows after those before it
  /// (`ProcessChain`), so all get the bits of one process. Collective.
  public var diagonalPreconditioner: [Double]? {
    if let cachedPreconditioner { return cachedPreconditioner }
    let classShare = (1 / Double(layout.classCount)) * (1 - 1 / Double(layout.classCount))
    var squares = [Double](repeating: 0, count: layout.featureCount)
    let features = dataset.features
    _ = squares.withUnsafeMutableBufferPointer { chain.receivePreceding($0) }
    for row in chain.processes.shareOfRows(features.rowCount) {
      let values = features.rowPointer(row)
      for column in 0..<layout.featureCount {
        var value = Double(values[column])
        if let scaling { value = (value - scaling.shift[column]) / scaling.divisor[column] }
        squares[column] += value * value
      }
    }
    squares.withUnsafeMutableBufferPointer { chain.passOn($0) }
    let count = Double(max(1, features.rowCount))
    var diagonal = [Double](repeating: 1, count: layout.parameterCount)
    for classIndex in 0..<layout.classCount {
      for column in 0..<layout.featureCount {
        let estimate = classShare * squares[column] / count + lambda
        diagonal[classIndex * layout.rowStride + column] = estimate > 0 ? estimate : 1
      }
      diagonal[layout.biasOffset + classIndex] = classShare
    }
    cachedPreconditioner = diagonal
    return diagonal
  }
  private var cachedPreconditioner: [Double]? = nil

  /// The last assembled preconditioner and the point it was assembled at
  /// (`preconditioner(at:)`).
  var assembledPreconditioner: (point: [Double], preconditioner: CholeskyPreconditioner)? = nil

  /// ∇²J(θ) · direction over all the objective's rows, in Double: one pass of
  /// `HessianVectorKernel`, reduced like the gradient, plus the regulariser's part.
  public func hessianVectorProduct(
    at parameters: UnsafeBufferPointer<Double>, direction: UnsafeBufferPointer<Double>,
    into product: UnsafeMutableBufferPointer<Double>
  ) {
    precondition(
      parameters.count == parameterCount && direction.count == parameterCount
        && product.count == parameterCount, "vectors of the wrong length")
    let partialSums =
      hessianPartialSums
      ?? doublePartialSums(
        scratchCount: HessianVectorKernel.scratchCount(
          classCount: layout.classCount, rowStride: layout.rowStride))
    hessianPartialSums = partialSums
    let kernelPoint = forKernel(parameters, buffer: kernelParameters)
    let kernelDirection = forKernel(direction, buffer: self.kernelDirection)
    withKernelInputs { _, weights, rowIndices in
      var kernel = HessianVectorKernel(
        features: UnsafePointer(dataset.features.storage), rowStride: layout.rowStride,
        classCount: layout.classCount, weights: kernelPoint.baseAddress!,
        bias: kernelPoint.baseAddress! + layout.biasOffset,
        directionWeights: kernelDirection.baseAddress!,
        directionBias: kernelDirection.baseAddress! + layout.biasOffset)
      kernel.rowIndices = rowIndices
      kernel.rowWeights = weights
      runPass(
        kernel, partialSums: partialSums, positions: 0..<rowCount, shards: shards,
        fingerprint: chain.isDistributed ? Self.fingerprint(of: [parameters, direction]) : 0)
    }
    guard !processesDiverged else {
      product.update(repeating: .nan)
      return
    }
    let inverseWeightSum = 1 / (totals.weightSum > 0 ? totals.weightSum : 1)
    totals.withGradientSums { sums in
      for index in 0..<parameterCount { product[index] = sums[index] * inverseWeightSum }
    }
    scaling?.fromKernel(product, layout: layout)
    regularizer.addHessianVectorProduct(direction, into: product)
  }

  private func evaluate(
    at parameters: UnsafeBufferPointer<Double>, gradient: UnsafeMutableBufferPointer<Double>,
    positions: Range<Int>, shards: Shards
  ) -> Evaluation {
    precondition(
      parameters.count == parameterCount && gradient.count == parameterCount,
      "vectors of the wrong length")
    precondition(shards.count <= partialShardCount)
    let kernelPoint = forKernel(parameters, buffer: kernelParameters)
    let fingerprint = chain.isDistributed ? Self.fingerprint(of: [parameters]) : 0
    switch precision {
    case .single:
      for index in 0..<parameterCount { singleParameters[index] = Float(kernelPoint[index]) }
      runSingle(positions: positions, shards: shards, fingerprint: fingerprint)
    case .double:
      runDouble(parameters: kernelPoint, positions: positions, shards: shards, fingerprint: fingerprint)
    }
    guard !processesDiverged else {
      gradient.update(repeating: .nan)
      return Evaluation(value: .nan, meanLoss: .nan, correctCount: 0, rowCount: totals.rowCount)
    }
    let weightSum = totals.weightSum > 0 ? totals.weightSum : 1
    let meanLoss = totals.loss / weightSum
    let inverseWeightSum = 1 / weightSum
    totals.withGradientSums { sums in
      for index in 0..<parameterCount { gradient[index] = sums[index] * inverseWeightSum }
    }
    scaling?.fromKernel(gradient, layout: layout)
    regularizer.addGradient(parameters, into: gradient)
    return Evaluation(
      value: meanLoss + regularizer.value(parameters), meanLoss: meanLoss,
      correctCount: totals.correctCount, rowCount: totals.rowCount)
  }

  /// `vector` in the kernel's parameters: itself without a scaling, else mapped into `buffer`.
  private func forKernel(
    _ vector: UnsafeBufferPointer<Double>, buffer: UnsafeMutableBufferPointer<Double>
  ) -> UnsafeBufferPointer<Double> {
    guard let scaling else { return vector }
    scaling.toKernel(vector, into: buffer, layout: layout)
    return UnsafeBufferPointer(buffer)
  }

  /// One pass of the Float32 kernel at `singleParameters`, into `totals`.
  private func runSingle(positions: Range<Int>, shards: Shards, fingerprint: UInt64) {
    withKernelInputs { labels, weights, rowIndices in
      var kernel = GradientKernel(
        features: UnsafePointer(dataset.features.storage), rowStride: layout.rowStride,
        labels: labels, classCount: layout.classCount,
        weights: UnsafePointer(singleParameters.baseAddress!),
        bias: UnsafePointer(singleParameters.baseAddress! + layout.biasOffset))
      kernel.rowIndices = rowIndices
      kernel.rowWeights = weights
      if let widePass {
        let reader = DiskReadAhead(
          features: dataset.features, shards: shards, offset: positions.lowerBound,
          active: dataset.features.streamsFromDisk && rowOrder == nil && !chain.isDistributed)
        totals.withUnsafeMutableValues {
          widePass.run(
            kernel, shards: shards, owned: chain.processes.shardRange(of: shards.count), offset: positions.lowerBound,
            fingerprint: fingerprint, into: $0, chain: chain, executor: executor, reader: reader)
        }
        lastReductionSeconds = widePass.lastCombineSeconds
        if totals.fingerprint != fingerprint { processesDiverged = true }
      } else {
        runPass(kernel, partialSums: partialSums, positions: positions, shards: shards, fingerprint: fingerprint)
      }
    }
  }

  /// One pass of the Double kernel at `parameters`, into `totals`. Its shard buffers are
  /// allocated on first use.
  private func runDouble(
    parameters: UnsafeBufferPointer<Double>, positions: Range<Int>, shards: Shards, fingerprint: UInt64
  ) {
    let partialSums =
      precisePartialSums
      ?? doublePartialSums(
        scratchCount: PreciseGradientKernel.scratchCount(
          classCount: layout.classCount, rowStride: layout.rowStride))
    precisePartialSums = partialSums
    withKernelInputs { labels, weights, rowIndices in
      var kernel = PreciseGradientKernel(
        features: UnsafePointer(dataset.features.storage), rowStride: layout.rowStride,
        labels: labels, classCount: layout.classCount,
        weights: parameters.baseAddress!, bias: parameters.baseAddress! + layout.biasOffset)
      kernel.rowIndices = rowIndices
      kernel.rowWeights = weights
      runPass(kernel, partialSums: partialSums, positions: positions, shards: shards, fingerprint: fingerprint)
    }
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
  /// and hands the slots to the reducer, which fills `totals`. When there are fewer slots
  /// than shards (Double sums of a wide model, see `doublePartialSums`), the shards run in
  /// waves of as many as there are slots, each wave reduced after the last: every entry is
  /// still summed over the shards in order, so the bits are those of one wave. Over several
  /// processes, this one runs its range of the shards and continues the totals of the
  /// processes before it (`ProcessChain`): the same order again.
  private func runPass<Kernel: ShardKernel>(
    _ kernel: Kernel, partialSums: PartialSums<Kernel.Element>, positions: Range<Int>,
    shards: Shards, fingerprint: UInt64
  ) {
    let offset = positions.lowerBound
    let reader = DiskReadAhead(features: dataset.features, shards: shards, offset: offset,
      active: dataset.features.streamsFromDisk && rowOrder == nil && !chain.isDistributed)
    reader.start()
    var reductionSeconds = 0.0
    let clock = ContinuousClock()
    let owned = chain.processes.shardRange(of: shards.count)
    var first = owned.lowerBound
    var carried = false
    repeat {
      let wave = first..<min(owned.upperBound, first + partialSums.shardCount)
      executor.forEachShard(wave.count) { slot in
        let shard = wave.lowerBound + slot
        var accumulator = partialSums.startShard(slot)
        let range = shards[shard]
        reader.willStart(shard)
        kernel.accumulate(
          rows: (range.lowerBound + offset)..<(range.upperBound + offset), into: &accumulator,
          scratch: partialSums.scratch(slot))
        accumulator.rowCount = range.count
        partialSums.finishShard(slot, accumulator)
      }
      let start = clock.now
      if first == owned.lowerBound {
        carried = totals.withUnsafeMutableValues { chain.receivePreceding($0) }
        totals.stamp(fingerprint, afterOthers: carried)
      }
      reducer.reduce(
        partialSums, shardCount: wave.count, into: &totals, continuing: first > owned.lowerBound || carried,
        on: executor)
      if wave.upperBound == owned.upperBound { totals.withUnsafeMutableValues { chain.passOn($0) } }
      let elapsed = (clock.now - start).components
      reductionSeconds += Double(elapsed.seconds) + Double(elapsed.attoseconds) * 1e-18
      first = wave.upperBound
    } while first < owned.upperBound
    reader.finish()
    lastReductionSeconds = reductionSeconds
    if totals.fingerprint != fingerprint { processesDiverged = true }
  }

  /// Whether a pass found the processes at different points (`PassTotals.fingerprint`):
  /// every process then sees it in the same pass, whose value and gradient are NaN, so
  /// the solvers stop together; the trainer reports it. Never true in one process.
  public private(set) var processesDiverged = false

  /// Marks the objective diverged (`processesDiverged`), for a check outside the passes.
  func markDiverged() { processesDiverged = true }

  /// The `Fingerprint` of the vectors' bits, its top bit cleared so that it never equals
  /// `PassTotals.mismatch`.
  private static func fingerprint(of vectors: [UnsafeBufferPointer<Double>]) -> UInt64 {
    var fingerprint = Fingerprint()
    for vector in vectors { fingerprint.mix(vector.lazy.map(\.bitPattern)) }
    return fingerprint.value & (UInt64.max >> 1)
  }

  /// Shard buffers for a Double kernel: as many slots as the Float32 ones, or fewer, at
  /// least two per thread, where that many would pass half of max(64 MB, a tenth of the
  /// matrix), the memory passes may add (a wide model; the pass then runs in waves).
  private func doublePartialSums(scratchCount: Int) -> PartialSums<Double> {
    let slotBytes = Double(layout.parameterCount + scratchCount) * 8
    let budget = max(64e6, Double(dataset.features.rowCount * layout.rowStride) * 4 / 10) / 2
    let fitting = Int(min(Double(partialShardCount), (budget / slotBytes).rounded(.down)))
    let slots = max(fitting, min(partialShardCount, 2 * executor.threadCount))
    return PartialSums<Double>(
      shardCount: max(1, min(slots, doubleSlotLimit ?? slots)), parameterCount: layout.parameterCount,
      scratchCount: scratchCount)
  }

  /// At most this many Double shard slots, when set before the first Double pass (tests run
  /// a narrow model in waves with it).
  var doubleSlotLimit: Int? = nil

  /// The positions 0, 1, …, rowCount − 1 as an explicit order.
  private func makeIdentityOrder() -> UnsafeMutableBufferPointer<Int32> {
    let order = UnsafeMutableBufferPointer<Int32>.allocate(capacity: max(1, rowCount))
    for position in 0..<rowCount { order[position] = Int32(position) }
    return order
  }
}

extension Optional where Wrapped == [Float] {
  fileprivate func withUnsafeOptionalBufferPointer<Result>(
    _ body: (UnsafeBufferPointer<Float>?) -> Result
  ) -> Result {
    guard let array = self else { return body(nil) }
    return array.withUnsafeBufferPointer { body($0) }
  }
}
