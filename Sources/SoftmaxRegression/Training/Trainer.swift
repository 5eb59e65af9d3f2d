/// Trains a softmax regression model: split off validation rows, fit the standardisation (optionally),
/// weight rows, build the objective on the executor's threads, run the chosen solver, and
/// package the result.
///
/// The trainer picks and connects the parts; it computes no gradient itself. The same data,
/// options and seed give a bit-identical model for any thread count, and for any number of
/// processes (`ProcessGroup`).
public struct Trainer: Sendable {
  /// The options in force.
  public let options: TrainingOptions
  /// The processes the passes are spread over: this one alone by default.
  public let processes: any ProcessGroup

  /// A trainer with `options`; they are validated by `fit`.
  public init(options: TrainingOptions = TrainingOptions()) {
    self.init(options: options, processes: SingleProcess())
  }

  /// A trainer whose passes are spread over `processes` (for example `MPIProcesses`). Each
  /// process calls `fit` with the same data and options; each computes its share of every
  /// pass and all return the same model. The `onEpoch` votes are combined: the run stops
  /// when any process asks to. Every pass checks that the processes are at the same point
  /// (`SoftmaxObjective.processesDiverged`), and the end that they hold the same model.
  public init(options: TrainingOptions, processes: any ProcessGroup) {
    self.options = options
    self.processes = processes
  }

  /// The trained model and the report of the run.
  public struct Result: Sendable {
    /// The trained model, ready to save or predict with.
    public var model: SoftmaxModel
    /// What happened: epochs, passes, final objective, history.
    public var report: TrainingReport
  }

  /// Trains on `dataset` (labelled, at least 2 classes).
  /// - Parameters:
  ///   - dataset: the training rows (and per-row weights, if it has them); never modified
  ///     (standardisation is folded into the parameters), so a mapped cache is not copied.
  ///   - onEpoch: called after the start (epoch 0) and after every epoch; return false to
  ///     stop early (the model is then the last completed epoch's).
  /// - Throws: `TrainingError` for invalid options, unusable data, an incompatible initial
  ///   model, or a non-finite start.
  public func fit(
    _ dataset: consuming Dataset, onEpoch: (TrainingReport.Epoch) -> Bool = { _ in true }
  ) throws(TrainingError) -> Result {
    try fit(dataset, checkpointEvery: nil, onCheckpoint: { _, _ in }, onEpoch: onEpoch)
  }

  /// Trains as `fit(_:onEpoch:)`, and hands `onCheckpoint` the model of every epoch that is
  /// a multiple of `checkpointEvery` (≥ 1; nil for none), for example to save it.
  public func fit(
    _ dataset: consuming Dataset, checkpointEvery: Int?,
    onCheckpoint: (SoftmaxModel, _ epoch: Int) -> Void,
    onEpoch: (TrainingReport.Epoch) -> Bool = { _ in true }
  ) throws(TrainingError) -> Result {
    try options.validate()
    try ensureSameData(dataset)
    let start = ContinuousClock.now
    let problem = try prepare(dataset)
    let startingPoint = try initialParameters(
      problem.objective.layout, standardization: problem.standardization, data: problem.data)
    var recorder = EpochRecorder(
      start: start, trainingRowCount: problem.objective.rowCount, validation: problem.validation,
      patience: options.earlyStoppingPatience, maxEpochs: options.maxEpochs)
    let result = minimize(
      problem.objective, from: startingPoint, standardized: problem.standardization != nil,
      revise: { recorder.revise($0) }
    ) { progress in
      let line = recorder.record(progress)
      if let interval = checkpointEvery, interval > 0, progress.epoch > 0,
        progress.epoch % interval == 0, let model = try? problem.model(progress.parameters)
      {
        onCheckpoint(model, progress.epoch)
      }
      return processes.all(onEpoch(line)) && !recorder.patienceExhausted
    }
    if problem.objective.processesDiverged || problem.validation?.processesDiverged == true {
      throw .distributed(
        "the processes were at different points in a pass after epoch \(result.epochs) "
          + "(a process read other data, or its arithmetic differs)")
    }
    if !parametersAgree(result.parameters) {
      throw .distributed("the processes' parameters differ at the end (a process read other data, or its arithmetic differs)")
    }
    if result.stopReason == .nonFinite && result.epochs == 0 {
      throw .nonFinite(
        "the objective or its gradient is not finite at the starting point; "
          + "features may be too large without standardisation")
    }
    return try finish(result, problem: problem, recorder: recorder)
  }

  /// The data, objectives and standardisation of one run.
  private struct Problem {
    let data: Dataset
    let standardization: Standardization?
    let objective: SoftmaxObjective
    let validation: SoftmaxObjective?

    /// The model with parameters θ (in the objective's layout).
    func model(_ parameters: [Double]) throws(ModelError) -> SoftmaxModel {
      let (weights, bias) = objective.layout.unpack(parameters)
      return try SoftmaxModel(
        classNames: data.classNames, featureNames: data.featureNames, labelName: data.labelName,
        weights: weights, bias: bias, standardization: standardization, table: data.table)
    }
  }

  /// Checks the data, splits off validation rows, standardises, weights rows and builds the
  /// objectives on the executor's threads.
  private func prepare(_ dataset: consuming Dataset) throws(TrainingError) -> Problem {
    guard dataset.isLabeled else { throw .unusableData("the rows have no labels") }
    guard dataset.classCount >= 2 else {
      throw .unusableData("found \(dataset.classCount) class; training needs at least 2")
    }
    let data = dataset
    let split = try options.validationFraction.map { fraction throws(TrainingError) in
      try ValidationSplit(
        labels: data.labels, classCount: data.classCount, fraction: fraction, seed: options.seed)
    }
    try gatherHeldRows(data, split: split)
    let standardization =
      options.standardize
      ? Standardization(fitting: data, rows: split?.training, processes: processes)
        .leaving(data.table.indicatorFeatures) : nil
    let scaling = FeatureScaling(encoding: data.encoding, standardization: standardization)
    let executor = ShardedExecutor(threadCount: options.effectiveThreadCount)
    let layout = ParameterLayout(classCount: data.classCount, featureCount: data.featureCount)
    // The elastic net's λ(α‖W‖₁ + (1−α)/2 ‖W‖²): the L2 share is the smooth regulariser.
    let l2 = options.lambda * (options.hasL1Penalty ? 1 - options.l1Ratio : 1)
    let objective = try SoftmaxObjective(
      dataset: data, regularizer: L2Penalty(lambda: l2, layout: layout),
      rows: split?.training,
      rowWeights: try rowWeights(data, trainingRows: split?.training),
      shards: nil, executor: executor, reducer: ShardOrderReducer(), scaling: scaling,
      l1Penalty: options.hasL1Penalty ? L1Penalty(lambda: options.lambda * options.l1Ratio, layout: layout) : nil,
      processes: processes)
    let validation = try split.map { split throws(TrainingError) in
      try SoftmaxObjective(
        dataset: data, regularizer: L2Penalty(lambda: 0, layout: layout), rows: split.validation,
        rowWeights: nil, shards: nil, executor: executor, reducer: ShardOrderReducer(),
        scaling: scaling, processes: processes)
    }
    return Problem(
      data: data, standardization: standardization, objective: objective, validation: validation)
  }

  /// Data loaded in shares (`Dataset.heldRows`): moves to each process the rows its passes,
  /// its standardisation and its Hessian sample read but another process loaded. SGD's
  /// shuffled mini-batches read any row in any process, so under it every process gets
  /// every row (the parse was still shared).
  private func gatherHeldRows(_ data: Dataset, split: ValidationSplit?) throws(TrainingError) {
    guard let held = data.heldRows else { return }
    guard held.count == processes.count else {
      throw .distributed("the data was loaded in shares by \(held.count) processes, not the \(processes.count) training on it")
    }
    if options.solver == .sgd {
      data.gatherRows({ _ in Array(0..<data.rowCount) }, processes: processes)
      return
    }
    let readsHessianSample = data.classCount * (data.featureCount + 1) <= HessianAssembler.maximumOrder
    let trainingCount = split?.training.count ?? data.rowCount
    data.gatherRows({ rank in
      var needed = [Bool](repeating: false, count: data.rowCount)
      func mark(_ positions: [Int32]?, _ share: Range<Int>) {
        for position in share { needed[positions.map { Int($0[position]) } ?? position] = true }
      }
      mark(split?.training, processes.shareOfRows(trainingCount, rank: rank))
      if let validation = split?.validation {
        mark(validation, processes.shareOfRows(validation.count, rank: rank))
      }
      if readsHessianSample {
        let sample = SoftmaxObjective.hessianRows(of: split?.training, rowCount: trainingCount)
        mark(sample, 0..<(sample?.count ?? data.rowCount))
      }
      return needed.indices.filter { needed[$0] }
    }, processes: processes)
  }

  /// The model and report: the best validation epoch's point under early stopping, else the
  /// point the solver ended at.
  private func finish(
    _ result: OptimizationResult, problem: Problem, recorder: EpochRecorder
  ) throws(TrainingError) -> Result {
    var final = (
      parameters: result.parameters, evaluation: result.evaluation,
      gradientMax: result.gradientMax, epoch: result.epochs)
    var stopReason = result.stopReason
    if let best = recorder.best {
      if recorder.patienceExhausted { stopReason = .earlyStopping }
      if best.epoch != result.epochs {
        let (evaluation, gradientMax) = Self.measure(problem.objective, at: best.parameters)
        final = (best.parameters, evaluation, gradientMax, best.epoch)
      }
    }
    let model: SoftmaxModel
    do {
      model = try problem.model(final.parameters)
    } catch {
      throw .nonFinite("the trained weights are not finite: \(error)")
    }
    let report = TrainingReport(
      solver: solverRun(result), handoverEpoch: result.handoverEpoch,
      nonzeroWeights: model.nonzeroWeightCounts,
      threadCount: options.effectiveThreadCount,
      rowCount: problem.objective.rowCount, validationRowCount: problem.validation?.rowCount ?? 0,
      epochs: result.epochs, passes: result.passes, objective: final.evaluation.value,
      gradientMax: final.gradientMax, trainAccuracy: final.evaluation.accuracy,
      returnedEpoch: final.epoch, stopReason: stopReason, trainSeconds: recorder.elapsedSeconds,
      history: recorder.history)
    return Result(model: model, report: report)
  }

  /// Whether every process holds `parameters` bit for bit (`ProcessGroup.agree`). Always
  /// true in one process.
  private func parametersAgree(_ parameters: [Double]) -> Bool {
    guard processes.count > 1 else { return true }
    return processes.agree(on: parameters.lazy.map(\.bitPattern))
  }

  /// Checks, before the first pass, that every process holds data of the same shape, names,
  /// labels and row weights, which each uses whole (a host whose copy of the file differs):
  /// cheap, O(rows). Feature values are each process's own rows' and enter the model only
  /// through the chained sums.
  private func ensureSameData(_ dataset: borrowing Dataset) throws(TrainingError) {
    guard processes.count > 1 else { return }
    let shape = [dataset.rowCount, dataset.featureCount, dataset.classCount].map { UInt64($0) }
    let names = (dataset.classNames + dataset.featureNames).map { UInt64(truncatingIfNeeded: $0.utf8.count) }
      + (dataset.classNames + dataset.featureNames).flatMap { $0.utf8.map(UInt64.init) }
    let labels = dataset.labels.lazy.map { UInt64(UInt32(bitPattern: $0)) }
    let weights = (dataset.rowWeights ?? []).lazy.map { UInt64($0.bitPattern) }
    guard processes.agree(on: shape + names + labels + weights) else {
      throw .distributed(
        "the processes read different data (rows, features, classes, names, labels or weights differ; "
          + "every host must read the same file)")
    }
  }

  /// J at θ and the size of its gradient, as solvers report them: with an elastic net's L1
  /// part, J includes it and the size is max|◇J| (`L1Penalty`), else max|∇J|. One pass.
  static func measure(_ objective: SoftmaxObjective, at parameters: [Double]) -> (Evaluation, Double) {
    var gradient = [Double](repeating: 0, count: parameters.count)
    var evaluation = evaluate(objective, parameters, &gradient)
    guard let l1 = objective.l1Penalty else { return (evaluation, VectorOperations.maximumMagnitude(gradient)) }
    evaluation.value += l1.value(parameters)
    return (evaluation, VectorOperations.maximumMagnitude(l1.pseudoGradient(parameters, gradient: gradient)))
  }

  /// The rounding error of a Float32 gradient on standardised columns, as an estimate:
  /// every column has RMS 1 (indicator columns are 0 or 1), so each entry is a mean of terms
  /// (p − y)·u of size at most about 1, summed in Float32 over shards of ≤ 4,096 rows; with
  /// √4,096 = 64 roundings of 2⁻²⁴, about 4e-6. The default tolerance, 1e-5, is above it.
  static let float32GradientError = 64 * 0x1p-24

  /// The solver that ran: the options' one, with `.auto` named by the method it ended with.
  private func solverRun(_ result: OptimizationResult) -> TrainingOptions.Solver {
    guard options.solver == .auto else { return options.solver }
    guard result.handoverEpoch != nil else { return options.hasL1Penalty ? .owlqn : .lbfgs }
    return .newton
  }

  /// Runs the solver; when it stops because Float32 can no longer tell nearby points apart
  /// (line search failed, or the objective stalled) before reaching the tolerance, and its
  /// entry allows it, it continues from there with the Double kernel ("polish"). Epochs and
  /// passes of both phases are counted together. The point where the first phase ended is
  /// evaluated again in Double, and `revise` gets it (shifted to its epoch), so the history
  /// line of that epoch holds the same precision as the lines after it.
  ///
  /// A Float32 run that reads max|∇J| ≤ tolerance is taken at its word only when the
  /// tolerance is above `float32GradientError` and the columns are standardised; else one
  /// Double pass checks it, and the run goes on in Double if the check fails, so `converged`
  /// always means the tolerance was met.
  private func minimize(
    _ objective: SoftmaxObjective, from start: [Double], standardized: Bool,
    revise: (OptimizationProgress) -> Void, observe: (OptimizationProgress) -> Bool
  ) -> OptimizationResult {
    let solver = SolverRegistry.entry(for: options.solver)
    var first = solver.run(options, options.maxEpochs, objective, start, observe)
    guard solver.finishesInDouble, objective.precision == .single else { return first }
    if first.stopReason == .converged {
      if standardized && options.tolerance > Self.float32GradientError { return first }
      objective.precision = .double
      (first.evaluation, first.gradientMax) = Self.measure(objective, at: first.parameters)
      first.passes += 1
      if first.gradientMax <= options.tolerance { return first }
      first.stopReason = .lineSearchFailed
    }
    let stalled = first.stopReason == .lineSearchFailed || first.stopReason == .objectiveConverged
    guard stalled, first.gradientMax > options.tolerance, first.epochs < options.maxEpochs
    else { return first }
    objective.precision = .double
    // A run that handed over to Newton goes on with Newton (an elastic net's, with auto).
    let polisher =
      first.handoverEpoch == nil || options.hasL1Penalty ? solver : SolverRegistry.entry(for: .newton)
    let polished = polisher.run(
      options, options.maxEpochs - first.epochs, objective, first.parameters
    ) { progress in
      var shifted = progress
      shifted.epoch += first.epochs
      shifted.passes += first.passes
      guard progress.epoch > 0 else {  // the point where the first phase ended
        revise(shifted)
        return true
      }
      return observe(shifted)
    }
    var combined = polished
    combined.epochs += first.epochs
    combined.passes += first.passes
    combined.handoverEpoch = first.handoverEpoch ?? polished.handoverEpoch.map { $0 + first.epochs }
    return combined
  }

  /// Per-row weights: the data's own (a weight column) times the class weights
  /// n / (K · n_k), with n and n_k counted over the training rows. Every process holds
  /// every row's label and weight (4 bytes each), so each computes them whole.
  private func rowWeights(_ data: Dataset, trainingRows: [Int32]?) throws(TrainingError) -> [Float]? {
    var weights = data.rowWeights
    if options.classWeight == .balanced {
      var counts = [Int](repeating: 0, count: data.classCount)
      if let trainingRows {
        for row in trainingRows { counts[Int(data.labels[Int(row)])] += 1 }
      } else {
        for label in data.labels { counts[Int(label)] += 1 }
      }
      let total = Double(counts.reduce(0, +))
      let classWeights = counts.map { count in
        count == 0 ? 0 : Float(total / (Double(data.classCount) * Double(count)))
      }
      var combined = weights ?? [Float](repeating: 1, count: data.rowCount)
      for row in 0..<data.rowCount { combined[row] *= classWeights[Int(data.labels[row])] }
      weights = combined
    }
    guard let weights else { return nil }
    let trainingWeights = trainingRows.map { rows in rows.map { weights[Int($0)] } } ?? weights
    let sum = trainingWeights.reduce(0.0) { $0 + Double($1) }
    let rowCount = Double(trainingWeights.count)
    guard sum > 0 else { throw .unusableData("every training row has weight 0") }
    return Self.normalized(weights, mean: sum / rowCount)
  }

  /// `weights` times the power of two nearest to 1/mean. The objective is a weighted mean,
  /// so this changes nothing, and a power of two is exact in floating point, so weights of
  /// ordinary size give the same bits as before; but weights like 1e-45 or 1e38 no longer
  /// underflow or overflow in the Float32 kernel's products.
  static func normalized(_ weights: [Float], mean: Double) -> [Float] {
    let exponent = Int(mean.exponent)
    guard exponent != 0 else { return weights }
    let factor = Double(sign: .plus, exponent: -exponent, significand: 1)
    return weights.map { Float(Double($0) * factor) }
  }

  /// Zero weights, or the initial model's weights carried into this run's feature space.
  ///
  /// The initial model computes w·((x − μ₀)/σ₀) + b; with this run's standardisation
  /// x = σ₁x' + μ₁, the same logits are w' = w σ₁/σ₀ and b' = b + Σ_j w_j (μ₁_j − μ₀_j)/σ₀_j
  /// (μ = 0, σ = 1 where there is no standardisation), computed in Double.
  private func initialParameters(
    _ layout: ParameterLayout, standardization: Standardization?, data: Dataset
  ) throws(TrainingError) -> [Double] {
    guard let initial = options.initialModel else {
      return [Double](repeating: 0, count: layout.parameterCount)
    }
    guard initial.classNames == data.classNames else {
      throw .incompatibleInitialModel(
        "its classes are \(initial.classNames.joined(separator: ", ")); the data's are "
          + data.classNames.joined(separator: ", "))
    }
    guard initial.featureNames == data.featureNames else {
      throw .incompatibleInitialModel(
        "its features are \(initial.featureNames.joined(separator: ", ")); the data's are "
          + data.featureNames.joined(separator: ", "))
    }
    let featureCount = layout.featureCount
    let oldMean = initial.standardization?.mean ?? [Double](repeating: 0, count: featureCount)
    let oldScale = initial.standardization?.scale ?? [Double](repeating: 1, count: featureCount)
    let newMean = standardization?.mean ?? [Double](repeating: 0, count: featureCount)
    let newScale = standardization?.scale ?? [Double](repeating: 1, count: featureCount)
    var weights = [Double](repeating: 0, count: layout.classCount * featureCount)
    var bias = [Double](repeating: 0, count: layout.classCount)
    for classIndex in 0..<layout.classCount {
      var shift = Double(initial.bias[classIndex])
      for feature in 0..<featureCount {
        let weight = Double(initial.weights[classIndex * featureCount + feature])
        weights[classIndex * featureCount + feature] = weight * newScale[feature] / oldScale[feature]
        shift += weight * (newMean[feature] - oldMean[feature]) / oldScale[feature]
      }
      bias[classIndex] = shift
    }
    return layout.pack(weights: weights, bias: bias)
  }
}
