/// Trains a softmax regression model: standardise (optionally), build the objective on the
/// executor's threads, run the solver from zero weights, and package the result.
///
/// The trainer picks and connects the parts; it computes no gradient itself. The same data
/// and options give a bit-identical model for any thread count.
public struct Trainer: Sendable {
  /// The options in force.
  public let options: TrainingOptions

  /// A trainer with `options`; they are validated by `fit`.
  public init(options: TrainingOptions = TrainingOptions()) {
    self.options = options
  }

  /// The trained model and the report of the run.
  public struct Result: Sendable {
    public var model: SoftmaxModel
    public var report: TrainingReport
  }

  /// Trains on `dataset` (labelled, at least 2 classes).
  /// - Parameters:
  ///   - dataset: the training rows. Standardisation works on a copy if the caller still
  ///     holds the dataset; pass ownership to avoid that copy.
  ///   - onEpoch: called after the start (epoch 0) and after every epoch; return false to
  ///     stop early (the model is then the last completed epoch's).
  /// - Throws: `TrainingError` for invalid options, unusable data or a non-finite start.
  public func fit(
    _ dataset: consuming Dataset, onEpoch: (TrainingReport.Epoch) -> Bool = { _ in true }
  ) throws(TrainingError) -> Result {
    try options.validate()
    guard dataset.isLabeled else { throw .unusableData("the rows have no labels") }
    guard dataset.classCount >= 2 else {
      throw .unusableData("found \(dataset.classCount) class; training needs at least 2")
    }
    let clock = ContinuousClock()
    let start = clock.now
    var data = dataset
    let standardization = options.standardize ? Standardization(fitting: data.features) : nil
    if let standardization { data.standardize(with: standardization) }

    let threadCount = options.effectiveThreadCount
    let objective = SoftmaxObjective(
      dataset: data, lambda: options.lambda, executor: ShardedExecutor(threadCount: threadCount))
    let layout = objective.layout
    var history: [TrainingReport.Epoch] = []
    history.reserveCapacity(min(options.maxEpochs, 100_000) + 1)
    var lastElapsed = 0.0
    let descent = GradientDescent(
      learningRate: options.learningRate, tolerance: options.tolerance,
      maxEpochs: options.maxEpochs)
    let result = descent.minimize(
      objective, from: [Float](repeating: 0, count: layout.parameterCount)
    ) { progress in
      let elapsed = (clock.now - start).seconds
      let seconds = max(elapsed - lastElapsed, 1e-9)
      lastElapsed = elapsed
      let record = TrainingReport.Epoch(
        epoch: progress.epoch, objective: progress.value, gradientMax: progress.gradientMax,
        // The observer runs right after the accepted evaluation, so it describes this point.
        accuracy: objective.lastEvaluation.accuracy, passes: progress.passes,
        elapsedSeconds: elapsed,
        rowsPerSecond: Double(data.rowCount * progress.passesThisEpoch) / seconds)
      history.append(record)
      return onEpoch(record)
    }
    if result.stopReason == .nonFinite && result.epochs == 0 {
      throw .nonFinite(
        "the objective or its gradient is not finite at the starting point; "
          + "features may be too large without standardisation")
    }

    let (weights, bias) = layout.unpack(result.parameters)
    let model: SoftmaxModel
    do {
      model = try SoftmaxModel(
        classNames: data.classNames, featureNames: data.featureNames, labelName: data.labelName,
        weights: weights, bias: bias, standardization: standardization)
    } catch {
      throw .nonFinite("the trained weights are not finite: \(error)")
    }
    let report = TrainingReport(
      solver: options.solver, threadCount: threadCount, rowCount: data.rowCount,
      epochs: result.epochs, passes: result.passes, objective: result.value,
      gradientMax: result.gradientMax, trainAccuracy: history.last?.accuracy ?? 0,
      stopReason: result.stopReason, trainSeconds: (clock.now - start).seconds,
      history: history)
    return Result(model: model, report: report)
  }
}

extension Duration {
  /// The duration in seconds.
  var seconds: Double {
    let (seconds, attoseconds) = components
    return Double(seconds) + Double(attoseconds) * 1e-18
  }
}
