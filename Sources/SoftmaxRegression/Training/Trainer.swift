/// Trains a softmax regression model: standardise (optionally), split off validation rows,
/// weight rows, build the objective on the executor's threads, run the chosen solver, and
/// package the result.
///
/// The trainer picks and connects the parts; it computes no gradient itself. The same data,
/// options and seed give a bit-identical model for any thread count.
public struct Trainer: Sendable {
  /// The options in force.
  public let options: TrainingOptions

  /// A trainer with `options`; they are validated by `fit`.
  public init(options: TrainingOptions = TrainingOptions()) {
    self.options = options
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
  ///   - dataset: the training rows (and per-row weights, if it has them). Standardisation
  ///     works on a copy if the caller still holds the dataset; pass ownership to avoid it.
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
    guard dataset.isLabeled else { throw .unusableData("the rows have no labels") }
    guard dataset.classCount >= 2 else {
      throw .unusableData("found \(dataset.classCount) class; training needs at least 2")
    }
    let clock = ContinuousClock()
    let start = clock.now
    var data = dataset
    let split = try splitRows(data)
    let standardization =
      options.standardize ? Standardization(fitting: data.features, rows: split.train) : nil
    if let standardization { data.standardize(with: standardization) }

    let threadCount = options.effectiveThreadCount
    let executor = ShardedExecutor(threadCount: threadCount)
    let needsRowList = split.validation != nil || options.solver == .sgd
    let objective = SoftmaxObjective(
      dataset: data, lambda: options.lambda,
      rows: needsRowList ? split.train ?? (0..<data.rowCount).map(Int32.init) : nil,
      rowWeights: try rowWeights(data, trainingRows: split.train), executor: executor)
    let validation = split.validation.map {
      SoftmaxObjective(dataset: data, lambda: 0, rows: $0, executor: executor)
    }
    let layout = objective.layout
    let startingPoint = try initialParameters(layout, standardization: standardization, data: data)

    var history: [TrainingReport.Epoch] = []
    history.reserveCapacity(min(options.maxEpochs, 100_000) + 1)
    var lastElapsed = 0.0
    var best: (loss: Double, epoch: Int, parameters: [Double])? = nil
    var stoppedEarly = false
    var validationGradient = [Double](repeating: 0, count: layout.parameterCount)
    let result = minimize(objective, from: startingPoint) { progress in
      let elapsed = (clock.now - start).seconds
      let seconds = max(elapsed - lastElapsed, 1e-9)
      lastElapsed = elapsed
      // The observer runs right after the evaluation at this point, so the objective's
      // last evaluation describes it.
      var record = TrainingReport.Epoch(
        epoch: progress.epoch, objective: progress.value, gradientMax: progress.gradientMax,
        accuracy: objective.lastEvaluation.accuracy, passes: progress.passes,
        elapsedSeconds: elapsed,
        rowsPerSecond: Double(objective.rowCount * progress.passesThisEpoch) / seconds)
      if let validation {
        _ = evaluate(validation, progress.parameters, &validationGradient)
        record.validationLoss = validation.lastEvaluation.meanLoss
        record.validationAccuracy = validation.lastEvaluation.accuracy
        if let patience = options.earlyStoppingPatience, let loss = record.validationLoss {
          if best == nil || loss < best!.loss {
            best = (loss, progress.epoch, progress.parameters)
          } else if progress.epoch - best!.epoch >= patience {
            stoppedEarly = true
          }
        }
      }
      history.append(record)
      if let interval = checkpointEvery, interval > 0, progress.epoch > 0,
        progress.epoch % interval == 0
      {
        let (weights, bias) = layout.unpack(progress.parameters)
        if let model = try? SoftmaxModel(
          classNames: data.classNames, featureNames: data.featureNames, labelName: data.labelName,
          weights: weights, bias: bias, standardization: standardization)
        {
          onCheckpoint(model, progress.epoch)
        }
      }
      return onEpoch(record) && !stoppedEarly
    }
    if result.stopReason == .nonFinite && result.epochs == 0 {
      throw .nonFinite(
        "the objective or its gradient is not finite at the starting point; "
          + "features may be too large without standardisation")
    }

    var final = (parameters: result.parameters, value: result.value, gradientMax: result.gradientMax,
      epoch: result.epochs, accuracy: history.last?.accuracy ?? 0)
    var stopReason = result.stopReason
    if let best, options.earlyStoppingPatience != nil {
      if stoppedEarly { stopReason = .earlyStopping }
      if best.epoch != result.epochs {
        var gradient = [Double](repeating: 0, count: layout.parameterCount)
        let value = evaluate(objective, best.parameters, &gradient)
        final = (best.parameters, value, VectorOperations.maximumMagnitude(gradient),
          best.epoch, objective.lastEvaluation.accuracy)
      }
    }

    let (weights, bias) = layout.unpack(final.parameters)
    let model: SoftmaxModel
    do {
      model = try SoftmaxModel(
        classNames: data.classNames, featureNames: data.featureNames, labelName: data.labelName,
        weights: weights, bias: bias, standardization: standardization)
    } catch {
      throw .nonFinite("the trained weights are not finite: \(error)")
    }
    let report = TrainingReport(
      solver: options.solver, threadCount: threadCount, rowCount: objective.rowCount,
      validationRowCount: validation?.rowCount ?? 0, epochs: result.epochs,
      passes: result.passes, objective: final.value, gradientMax: final.gradientMax,
      trainAccuracy: final.accuracy, returnedEpoch: final.epoch, stopReason: stopReason,
      trainSeconds: (clock.now - start).seconds, history: history)
    return Result(model: model, report: report)
  }

  /// Runs the solver; when L-BFGS or gd stops because Float32 can no longer tell nearby
  /// points apart (line search failed, or the objective stalled) before reaching the
  /// tolerance, it continues from there with the Double kernel ("polish"). Epochs and passes
  /// of both phases are counted together.
  private func minimize(
    _ objective: SoftmaxObjective, from start: [Double], observe: (OptimizationProgress) -> Bool
  ) -> OptimizationResult {
    let first = run(objective, from: start, maxEpochs: options.maxEpochs, observe: observe)
    let stalled = first.stopReason == .lineSearchFailed || first.stopReason == .objectiveConverged
    guard options.solver != .sgd, stalled, first.gradientMax > options.tolerance,
      first.epochs < options.maxEpochs
    else { return first }
    objective.precision = .double
    let polished = run(
      objective, from: first.parameters, maxEpochs: options.maxEpochs - first.epochs
    ) { progress in
      guard progress.epoch > 0 else { return true }  // the point where the first phase ended
      var shifted = progress
      shifted.epoch += first.epochs
      shifted.passes += first.passes
      return observe(shifted)
    }
    return OptimizationResult(
      parameters: polished.parameters, value: polished.value, gradientMax: polished.gradientMax,
      epochs: first.epochs + polished.epochs, passes: first.passes + polished.passes,
      stopReason: polished.stopReason)
  }

  private func run(
    _ objective: SoftmaxObjective, from start: [Double], maxEpochs: Int,
    observe: (OptimizationProgress) -> Bool
  ) -> OptimizationResult {
    switch options.solver {
    case .lbfgs:
      return LBFGS(
        memory: options.memory, tolerance: options.tolerance,
        objectiveTolerance: options.objectiveTolerance, maxEpochs: maxEpochs
      ).minimize(objective, from: start, observe: observe)
    case .gd:
      return GradientDescent(
        learningRate: options.learningRate, tolerance: options.tolerance, maxEpochs: maxEpochs
      ).minimize(objective, from: start, observe: observe)
    case .sgd:
      return StochasticGradientDescent(
        batchSize: options.batchSize, learningRate: options.learningRate ?? 0.1,
        decay: options.decay, momentum: options.momentum, tolerance: options.tolerance,
        maxEpochs: maxEpochs, seed: options.seed
      ).minimize(objective, from: start, observe: observe)
    }
  }

  /// Training and validation rows: a stratified, seeded split when validation is on.
  private func splitRows(_ data: Dataset) throws(TrainingError)
    -> (train: [Int32]?, validation: [Int32]?)
  {
    guard let fraction = options.validationFraction else { return (nil, nil) }
    var generator = SplitMix64(seed: options.seed)
    var rowsByClass = [[Int32]](repeating: [], count: data.classCount)
    for (row, label) in data.labels.enumerated() { rowsByClass[Int(label)].append(Int32(row)) }
    var train: [Int32] = []
    var validation: [Int32] = []
    for var rows in rowsByClass {
      rows.shuffle(using: &generator)
      let held = Int((Double(rows.count) * fraction).rounded())
      validation += rows.prefix(held)
      train += rows.dropFirst(held)
    }
    guard !validation.isEmpty, Set(train.map { data.labels[Int($0)] }).count >= 2 else {
      throw .unusableData(
        "a validation fraction of \(fraction) leaves \(validation.count) validation rows and "
          + "\(train.count) training rows; use more data or another fraction")
    }
    return (train.sorted(), validation.sorted())
  }

  /// Per-row weights: the data's own (a weight column) times the class weights.
  private func rowWeights(_ data: Dataset, trainingRows: [Int32]?) throws(TrainingError) -> [Float]? {
    var weights = data.rowWeights
    if options.classWeight == .balanced {
      let rows = trainingRows.map { $0.map(Int.init) } ?? Array(0..<data.rowCount)
      var counts = [Int](repeating: 0, count: data.classCount)
      for row in rows { counts[Int(data.labels[row])] += 1 }
      let classWeights = counts.map { count in
        count == 0 ? 0 : Float(Double(rows.count) / (Double(data.classCount) * Double(count)))
      }
      var combined = weights ?? [Float](repeating: 1, count: data.rowCount)
      for row in 0..<data.rowCount { combined[row] *= classWeights[Int(data.labels[row])] }
      weights = combined
    }
    if let weights {
      let rows = trainingRows.map { $0.map(Int.init) } ?? Array(0..<data.rowCount)
      guard rows.contains(where: { weights[$0] > 0 }) else {
        throw .unusableData("every training row has weight 0")
      }
    }
    return weights
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

extension Duration {
  /// The duration in seconds.
  var seconds: Double {
    let (seconds, attoseconds) = components
    return Double(seconds) + Double(attoseconds) * 1e-18
  }
}
