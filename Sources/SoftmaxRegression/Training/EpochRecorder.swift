/// Turns each accepted point of a training run into a history line: timing, the training
/// statistics that travel with the point, and the validation loss and accuracy (evaluated
/// here, on the validation objective), and tracks the best validation epoch for early
/// stopping.
struct EpochRecorder {
  private let clock = ContinuousClock()
  private let start: ContinuousClock.Instant
  private var lastElapsed = 0.0
  private let trainingRowCount: Int
  private let validation: SoftmaxObjective?
  private var validationGradient: [Double]
  private let patience: Int?
  /// The history so far, from epoch 0.
  private(set) var history: [TrainingReport.Epoch] = []
  /// The epoch with the lowest validation loss so far, and its θ (with early stopping).
  private(set) var best: (loss: Double, epoch: Int, parameters: [Double])? = nil
  /// Whether the validation loss has not improved for `patience` epochs.
  private(set) var patienceExhausted = false

  /// A recorder for a run over `trainingRowCount` rows that started at `start`.
  init(
    start: ContinuousClock.Instant, trainingRowCount: Int, validation: SoftmaxObjective?,
    patience: Int?, maxEpochs: Int
  ) {
    self.start = start
    self.trainingRowCount = trainingRowCount
    self.validation = validation
    self.patience = patience
    validationGradient = [Double](repeating: 0, count: validation?.parameterCount ?? 0)
    history.reserveCapacity(min(maxEpochs, 100_000) + 1)
  }

  /// Seconds since the run started.
  var elapsedSeconds: Double { (clock.now - start).seconds }

  /// Records the point an optimizer accepted and returns its history line.
  mutating func record(_ progress: OptimizationProgress) -> TrainingReport.Epoch {
    let elapsed = elapsedSeconds
    let seconds = max(elapsed - lastElapsed, 1e-9)
    lastElapsed = elapsed
    var line = TrainingReport.Epoch(
      epoch: progress.epoch, objective: progress.value, gradientMax: progress.gradientMax,
      accuracy: progress.evaluation.accuracy, passes: progress.passes, elapsedSeconds: elapsed,
      rowsPerSecond: Double(trainingRowCount * progress.passesThisEpoch) / seconds)
    if let validation {
      let held = evaluate(validation, progress.parameters, &validationGradient)
      line.validationLoss = held.meanLoss
      line.validationAccuracy = held.accuracy
      trackBest(loss: held.meanLoss, progress)
    }
    history.append(line)
    return line
  }

  /// Replaces the objective, gradient and accuracy of the last line with those of
  /// `progress`, the same point evaluated again (in Double, when training switches kernels).
  mutating func revise(_ progress: OptimizationProgress) {
    guard let last = history.indices.last, history[last].epoch == progress.epoch else { return }
    history[last].objective = progress.value
    history[last].gradientMax = progress.gradientMax
    history[last].accuracy = progress.evaluation.accuracy
  }

  private mutating func trackBest(loss: Double, _ progress: OptimizationProgress) {
    guard let patience else { return }
    if let best, !(loss < best.loss) {
      if progress.epoch - best.epoch >= patience { patienceExhausted = true }
    } else {
      best = (loss, progress.epoch, progress.parameters)
    }
  }
}

extension Duration {
  /// The duration in seconds.
  var seconds: Double {
    let (seconds, attoseconds) = components
    return Double(seconds) + Double(attoseconds) * 1e-18
  }
}
