/// OWL-QN (Andrew & Gao 2007, the solver of Spark's elastic net): L-BFGS for F = f + r with
/// r(θ) = Σ c_i|θ_i| (`DifferentiableFunction.l1Penalty`), which handles the non-smooth
/// term exactly, so weights that should be zero are exactly zero.
///
/// Each epoch: the pseudo-gradient ◇F (the minimum-norm subgradient, `L1Penalty`) takes the
/// gradient's place in the two-loop recursion, whose pairs (s, y) come from the smooth
/// part's gradients; penalised coordinates where the direction d disagrees in sign with −◇F
/// are set to 0; the step stays in the orthant of θ (or, where θ_i = 0, of −◇F_i): a trial coordinate
/// that would cross zero is set to zero. The step length comes from backtracking (halving
/// from 1, or 1/‖◇F‖ without a history) until F(θ₊) ≤ F(θ) + 10⁻⁴ ◇F·(θ₊ − θ).
///
/// Stops when max|◇F| ≤ `tolerance` (converged), when an epoch lowers F by less than
/// `objectiveTolerance` · max(|F|, 1), after `maxEpochs` epochs, when backtracking fails along
/// −◇F, or when the observer returns false. Evaluations report F (the penalty included) and
/// max|◇F| as the gradient's size. With no L1 term it is L-BFGS with a backtracking line search.
public struct OrthantWiseLBFGS: Minimizer {
  /// Pairs kept, at least 1.
  public var memory: Int
  /// Stop when max|◇F| ≤ tolerance.
  public var tolerance: Double
  /// Stop when the relative decrease of F in an epoch is below this.
  public var objectiveTolerance: Double
  /// Stop after this many epochs.
  public var maxEpochs: Int

  /// Halvings of the step before backtracking gives up.
  private static let maximumTrials = 40
  /// The sufficient-decrease constant.
  private static let sufficientDecrease = 1e-4

  /// A configured OWL-QN; see the type's documentation for the rules.
  public init(memory: Int = 10, tolerance: Double, objectiveTolerance: Double, maxEpochs: Int) {
    self.memory = max(1, memory)
    self.tolerance = tolerance
    self.objectiveTolerance = objectiveTolerance
    self.maxEpochs = maxEpochs
  }

  /// Minimizes f + r from `start`.
  /// - Parameter observe: called after the start and after every epoch; return false to stop.
  public func minimize(
    _ function: any DifferentiableFunction, from start: [Double],
    observe: (OptimizationProgress) -> Bool = { _ in true }
  ) -> OptimizationResult {
    let penalty = function.l1Penalty
    var point = CompositePoint(function, at: start, penalty: penalty)
    var epoch = 0
    var passes = 1
    func progress(_ passesThisEpoch: Int) -> OptimizationProgress {
      point.progress(epoch: epoch, passes: passes, passesThisEpoch: passesThisEpoch)
    }
    func result(_ reason: StopReason) -> OptimizationResult {
      point.result(reason, epochs: epoch, passes: passes)
    }
    if let stop = point.checkStart(observe) { return stop }
    var history = LBFGS.History(capacity: memory, count: start.count)
    var direction = start
    while true {
      if point.pseudoGradientMax <= tolerance { return result(.converged) }
      if epoch >= maxEpochs { return result(.maxEpochs) }
      var passesThisEpoch = 0
      var accepted: CompositePoint? = nil
      repeat {
        descentDirection(point, strengths: penalty?.strengths, history: &history, into: &direction)
        let (trial, trials) = Self.backtrack(function, from: point, along: direction, penalty: penalty,
          initialStep: history.isEmpty ? 1 / max(VectorOperations.dot(point.pseudoGradient, point.pseudoGradient).squareRoot(), 1e-30) : 1)
        passesThisEpoch += trials
        accepted = trial
        if trial != nil || history.isEmpty { break }
        history.removeAll()
      } while true
      passes += passesThisEpoch
      guard let next = accepted else { return result(.lineSearchFailed) }
      history.append(
        from: point.parameters, to: next.parameters, gradient: point.gradient, newGradient: next.gradient)
      let previousValue = point.evaluation.value
      point = next
      epoch += 1
      guard observe(progress(passesThisEpoch)) else { return result(.stoppedByObserver) }
      if point.pseudoGradientMax <= tolerance { return result(.converged) }
      let decrease = previousValue - point.evaluation.value
      if decrease <= objectiveTolerance * max(abs(previousValue), abs(point.evaluation.value), 1) {
        return result(.objectiveConverged)
      }
    }
  }

  /// d = −H◇F by the two-loop recursion, with the penalised coordinates that disagree in
  /// sign with −◇F set to 0 (−◇F itself when the result would not descend).
  private func descentDirection(
    _ point: CompositePoint, strengths: [Double]?, history: inout LBFGS.History, into direction: inout [Double]
  ) {
    history.direction(for: point.pseudoGradient, into: &direction)
    if let strengths {
      for index in direction.indices
      where strengths[index] > 0 && direction[index] * point.pseudoGradient[index] >= 0 {
        direction[index] = 0
      }
    }
    if !(VectorOperations.dot(direction, point.pseudoGradient) < 0) {
      history.removeAll()
      for index in direction.indices { direction[index] = -point.pseudoGradient[index] }
    }
  }

  /// The first step length (halving from `initialStep`) whose orthant-projected trial
  /// decreases F enough, and the evaluations it took; nil after `maximumTrials`.
  static func backtrack(
    _ function: any DifferentiableFunction, from point: CompositePoint, along direction: [Double],
    penalty: L1Penalty?, initialStep: Double
  ) -> (CompositePoint?, Int) {
    let strengths = penalty?.strengths
    var step = initialStep
    var trialParameters = point.parameters
    for trial in 1...Self.maximumTrials {
      for index in trialParameters.indices {
        let moved = point.parameters[index] + step * direction[index]
        trialParameters[index] = moved
        guard let strengths, strengths[index] > 0 else { continue }
        // The orthant: θ's sign, or where θ is 0 the sign of −◇F.
        let orthant = point.parameters[index] != 0 ? point.parameters[index] : -point.pseudoGradient[index]
        if moved * orthant <= 0 { trialParameters[index] = 0 }
      }
      let candidate = CompositePoint(function, at: trialParameters, penalty: penalty)
      var predicted = 0.0
      for index in trialParameters.indices {
        predicted += point.pseudoGradient[index] * (trialParameters[index] - point.parameters[index])
      }
      if candidate.isFinite,
        candidate.evaluation.value <= point.evaluation.value + Self.sufficientDecrease * predicted
      {
        return (candidate, trial)
      }
      step *= 0.5
    }
    return (nil, Self.maximumTrials)
  }
}

/// A point of F = f + r (`DifferentiableFunction.l1Penalty`): θ, the smooth gradient, F's
/// evaluation and ◇F.
struct CompositePoint {
  var parameters: [Double]
  var gradient: [Double]
  var evaluation: Evaluation
  var pseudoGradient: [Double]
  var pseudoGradientMax: Double

  init(_ function: any DifferentiableFunction, at parameters: [Double], penalty: L1Penalty?) {
    self.parameters = parameters
    gradient = [Double](repeating: 0, count: parameters.count)
    evaluation = evaluate(function, parameters, &gradient)
    if let penalty {
      evaluation.value += penalty.value(parameters)
      pseudoGradient = penalty.pseudoGradient(parameters, gradient: gradient)
    } else {
      pseudoGradient = gradient
    }
    pseudoGradientMax = VectorOperations.maximumMagnitude(pseudoGradient)
  }

  var isFinite: Bool { evaluation.value.isFinite && pseudoGradientMax.isFinite }

  /// The result, if the optimizer stops here for `reason`.
  func result(_ reason: StopReason, epochs: Int, passes: Int) -> OptimizationResult {
    OptimizationResult(
      parameters: parameters, evaluation: evaluation, gradientMax: pseudoGradientMax,
      epochs: epochs, passes: passes, stopReason: reason)
  }

  /// The checks at the start (a non-finite start, an observer that declines epoch 0), as
  /// `OptimizationState.checkStart`; nil to go on.
  func checkStart(_ observe: (OptimizationProgress) -> Bool) -> OptimizationResult? {
    guard isFinite else { return result(.nonFinite, epochs: 0, passes: 1) }
    guard observe(progress(epoch: 0, passes: 1, passesThisEpoch: 1)) else {
      return result(.stoppedByObserver, epochs: 0, passes: 1)
    }
    return nil
  }

  /// What the observer sees at this point.
  func progress(epoch: Int, passes: Int, passesThisEpoch: Int) -> OptimizationProgress {
    OptimizationProgress(
      epoch: epoch, evaluation: evaluation, gradientMax: pseudoGradientMax, passes: passes,
      passesThisEpoch: passesThisEpoch, parameters: parameters)
  }
}
