/// What every optimizer reports after each epoch, and how it ends. Optimizers see a
/// function of θ (`DifferentiableFunction` and its refinements) and parameter vectors only.

/// The state after an epoch, handed to the observer.
public struct OptimizationProgress: Sendable {
  /// Epochs completed (0 is the starting point).
  public var epoch: Int
  /// f at the current θ and the statistics of the pass that computed it.
  public var evaluation: Evaluation
  /// max|∇f| at the current θ.
  public var gradientMax: Double
  /// Passes over the data so far (function evaluations; a mini-batch epoch counts as one).
  public var passes: Int
  /// Passes this epoch took.
  public var passesThisEpoch: Int
  /// The current θ.
  public var parameters: [Double]

  /// f at the current θ.
  public var value: Double { evaluation.value }
}

/// Why an optimizer stopped.
public enum StopReason: String, Sendable, Codable {
  /// max|∇f| ≤ tolerance.
  case converged
  /// The relative decrease of f in an epoch fell below the objective tolerance.
  case objectiveConverged = "objective_converged"
  /// The epoch limit was reached.
  case maxEpochs = "max_epochs"
  /// The line search found no acceptable step (f is flat to Float precision).
  case lineSearchFailed = "line_search_failed"
  /// The observer asked to stop.
  case stoppedByObserver = "stopped"
  /// The validation loss stopped improving (the best epoch's weights are kept).
  case earlyStopping = "early_stopping"
  /// f or ∇f became NaN or infinite; the last finite point is kept.
  case nonFinite = "non_finite"
}

/// The final point and how it was reached.
public struct OptimizationResult: Sendable {
  /// The final θ (always a point where f and ∇f were finite).
  public var parameters: [Double]
  /// f(θ) and the statistics of the pass that computed it.
  public var evaluation: Evaluation
  /// max|∇f(θ)|.
  public var gradientMax: Double
  /// Epochs completed.
  public var epochs: Int
  /// Passes over the data.
  public var passes: Int
  /// Why it stopped.
  public var stopReason: StopReason
  /// For a minimizer that hands over to another method part-way (`AutoSolver`): the epoch
  /// after which the second took over; nil otherwise.
  public var handoverEpoch: Int? = nil

  /// f(θ).
  public var value: Double { evaluation.value }
}

/// An optimizer's current point: θ, ∇f(θ), f(θ) with its statistics, and the epochs and
/// passes so far.
struct OptimizationState {
  var parameters: [Double]
  var gradient: [Double]
  var evaluation: Evaluation
  var gradientMax: Double
  var epoch = 0
  var passes = 1

  /// Evaluates f and ∇f at `start` (the first pass).
  init(evaluating function: some DifferentiableFunction, at start: [Double]) {
    precondition(start.count == function.parameterCount, "the start has the wrong length")
    parameters = start
    gradient = [Double](repeating: 0, count: start.count)
    evaluation = evaluate(function, start, &gradient)
    gradientMax = VectorOperations.maximumMagnitude(gradient)
  }

  /// f at the current θ.
  var value: Double { evaluation.value }

  /// Adopts `point` (θ and its gradient, swapped in, so the caller's buffers receive the
  /// old ones) with its evaluation, as the end of one more epoch.
  mutating func accept(
    _ point: inout [Double], gradient pointGradient: inout [Double], evaluation: Evaluation,
    gradientMax: Double
  ) {
    swap(&parameters, &point)
    swap(&gradient, &pointGradient)
    self.evaluation = evaluation
    self.gradientMax = gradientMax
    epoch += 1
  }

  /// The result, if the optimizer stops now for `reason`.
  func result(_ reason: StopReason) -> OptimizationResult {
    OptimizationResult(
      parameters: parameters, evaluation: evaluation, gradientMax: gradientMax, epochs: epoch,
      passes: passes, stopReason: reason)
  }

  /// What the observer sees after an epoch that took `passesThisEpoch` passes.
  func progress(passesThisEpoch: Int) -> OptimizationProgress {
    OptimizationProgress(
      epoch: epoch, evaluation: evaluation, gradientMax: gradientMax, passes: passes,
      passesThisEpoch: passesThisEpoch, parameters: parameters)
  }

  /// The checks every optimizer makes at the start: a non-finite start stops it, and so
  /// does an observer that declines epoch 0. Returns nil to go on.
  func checkStart(_ observe: (OptimizationProgress) -> Bool) -> OptimizationResult? {
    guard value.isFinite && gradientMax.isFinite else { return result(.nonFinite) }
    guard observe(progress(passesThisEpoch: 1)) else { return result(.stoppedByObserver) }
    return nil
  }
}

/// Evaluates `function` at `parameters`, writing ∇f into `gradient`.
func evaluate(
  _ function: some DifferentiableFunction, _ parameters: [Double], _ gradient: inout [Double]
) -> Evaluation {
  parameters.withUnsafeBufferPointer { parameters in
    gradient.withUnsafeMutableBufferPointer { gradient in
      function.evaluate(at: parameters, gradient: gradient)
    }
  }
}
