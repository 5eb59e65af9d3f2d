/// Full-batch gradient descent: θ ← θ − t ∇f(θ).
///
/// With no fixed learning rate the step t comes from a backtracking (Armijo) line search:
/// a trial step is accepted when f(θ − t∇f) ≤ f(θ) − 10⁻⁴ · t · ‖∇f‖², otherwise t is
/// halved; after a step accepted at its first trial the next one starts at 2t. Each trial
/// is one evaluation (one pass over the data), and an accepted trial's gradient is reused,
/// so an epoch costs one pass plus one per halving. With a fixed `learningRate` every epoch
/// is exactly one pass.
///
/// Stops when max|∇f| ≤ `tolerance`, after `maxEpochs` steps, when the line search cannot
/// decrease f (the step fell below 10⁻²⁰: f is flat to Float precision), or when the observer
/// returns false. Memory: three parameter vectors.
public struct GradientDescent: Minimizer {
  /// A fixed step size, or nil for the line search.
  public var learningRate: Double?
  /// Stop when max|∇f| ≤ tolerance.
  public var tolerance: Double
  /// Stop after this many steps.
  public var maxEpochs: Int

  private static let armijoConstant = 1e-4
  private static let smallestStep = 1e-20

  /// A configured descent; see the type's documentation for the rules.
  public init(learningRate: Double? = nil, tolerance: Double, maxEpochs: Int) {
    self.learningRate = learningRate
    self.tolerance = tolerance
    self.maxEpochs = maxEpochs
  }

  /// Minimizes `function` from `start`.
  /// - Parameter observe: called after the start and after every step; return false to stop.
  public func minimize(
    _ function: any DifferentiableFunction, from start: [Double],
    observe: (OptimizationProgress) -> Bool = { _ in true }
  ) -> OptimizationResult {
    var state = OptimizationState(evaluating: function, at: start)
    if let stop = state.checkStart(observe) { return stop }
    var trial = start
    var trialGradient = state.gradient
    var step = learningRate ?? 1

    while true {
      if state.gradientMax <= tolerance { return state.result(.converged) }
      if state.epoch >= maxEpochs { return state.result(.maxEpochs) }
      let gradientNormSquared = VectorOperations.dot(state.gradient, state.gradient)
      var trials = 0
      var trialEvaluation: Evaluation
      while true {
        VectorOperations.step(from: state.parameters, along: state.gradient, by: -step, into: &trial)
        trialEvaluation = evaluate(function, trial, &trialGradient)
        trials += 1
        if learningRate != nil { break }
        let sufficientDecrease = state.value - Self.armijoConstant * step * gradientNormSquared
        if trialEvaluation.value.isFinite && trialEvaluation.value <= sufficientDecrease { break }
        step *= 0.5
        if step < Self.smallestStep {
          state.passes += trials
          return state.result(.lineSearchFailed)
        }
      }
      state.passes += trials
      let trialGradientMax = VectorOperations.maximumMagnitude(trialGradient)
      // A non-finite point is never adopted: the result keeps the last finite one.
      guard trialEvaluation.value.isFinite && trialGradientMax.isFinite else {
        return state.result(.nonFinite)
      }
      state.accept(
        &trial, gradient: &trialGradient, evaluation: trialEvaluation,
        gradientMax: trialGradientMax)
      if learningRate == nil && trials == 1 { step *= 2 }
      guard observe(state.progress(passesThisEpoch: trials)) else {
        return state.result(.stoppedByObserver)
      }
    }
  }
}
