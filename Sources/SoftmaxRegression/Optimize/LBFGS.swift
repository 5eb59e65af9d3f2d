/// Limited-memory BFGS (Nocedal & Wright, *Numerical Optimization*, Algorithm 7.4–7.5).
///
/// Keeps the last `memory` pairs s = θ₊ − θ, y = ∇f₊ − ∇f; the two-loop recursion turns
/// them into the direction d = −H∇f, with the initial scaling H₀ = (sᵀy / yᵀy) I. Steps
/// come from a strong Wolfe line search (`StrongWolfeLineSearch`), whose first trial is
/// α = 1 (after the first epoch, whose trial is 1/‖∇f‖). A pair with sᵀy ≤ 10⁻¹⁰·yᵀy is
/// skipped, so H stays positive definite. If the line search fails with a history, the
/// history is dropped and the epoch is retried along −∇f once.
///
/// Stops when max|∇f| ≤ `tolerance`, when an epoch lowers f by less than
/// `objectiveTolerance` · max(|f|, 1), after `maxEpochs` epochs, when the line search fails
/// along −∇f, or when the observer returns false. One epoch = one accepted step; its passes
/// (line-search trials) are reported. Memory: (2·memory + 4) parameter vectors.
public struct LBFGS: Minimizer {
  /// Pairs kept (m), at least 1. Default 10.
  public var memory: Int
  /// Stop when max|∇f| ≤ tolerance.
  public var tolerance: Double
  /// Stop when the relative decrease of f in an epoch is below this.
  public var objectiveTolerance: Double
  /// Stop after this many epochs.
  public var maxEpochs: Int

  /// A configured L-BFGS; see the type's documentation for the rules.
  public init(memory: Int = 10, tolerance: Double, objectiveTolerance: Double, maxEpochs: Int) {
    self.memory = max(1, memory)
    self.tolerance = tolerance
    self.objectiveTolerance = objectiveTolerance
    self.maxEpochs = maxEpochs
  }

  /// Minimizes `function` from `start`.
  /// - Parameter observe: called after the start and after every epoch; return false to stop.
  public func minimize(
    _ function: any DifferentiableFunction, from start: [Double],
    observe: (OptimizationProgress) -> Bool = { _ in true }
  ) -> OptimizationResult {
    var state = OptimizationState(evaluating: function, at: start)
    if let stop = state.checkStart(observe) { return stop }
    var trial = start
    var trialGradient = state.gradient
    var direction = state.gradient
    var history = History(capacity: memory, count: start.count)

    let lineSearch = StrongWolfeLineSearch()
    while true {
      if state.gradientMax <= tolerance { return state.result(.converged) }
      if state.epoch >= maxEpochs { return state.result(.maxEpochs) }
      var outcome: StrongWolfeLineSearch.Outcome
      var passesThisEpoch = 0
      repeat {
        history.direction(for: state.gradient, into: &direction)
        if VectorOperations.dot(direction, state.gradient) >= 0 {
          history.removeAll()
          history.direction(for: state.gradient, into: &direction)
        }
        let initialStep =
          history.isEmpty
          ? 1 / max(VectorOperations.dot(state.gradient, state.gradient).squareRoot(), 1e-30) : 1
        outcome = lineSearch.search(
          function, from: state.parameters, value: state.value, gradient: state.gradient,
          direction: direction, initialStep: initialStep, trial: &trial,
          trialGradient: &trialGradient)
        passesThisEpoch += outcome.evaluations
        if outcome.step != nil || history.isEmpty { break }
        history.removeAll()
      } while true
      state.passes += passesThisEpoch
      guard outcome.step != nil, let accepted = outcome.evaluation else {
        return state.result(.lineSearchFailed)
      }
      let trialGradientMax = VectorOperations.maximumMagnitude(trialGradient)
      guard accepted.value.isFinite && trialGradientMax.isFinite else {
        return state.result(.nonFinite)
      }

      history.append(
        from: state.parameters, to: trial, gradient: state.gradient, newGradient: trialGradient)
      let previousValue = state.value
      state.accept(
        &trial, gradient: &trialGradient, evaluation: accepted, gradientMax: trialGradientMax)
      guard observe(state.progress(passesThisEpoch: passesThisEpoch)) else {
        return state.result(.stoppedByObserver)
      }
      if state.gradientMax <= tolerance { return state.result(.converged) }
      let decrease = previousValue - state.value
      if decrease <= objectiveTolerance * max(abs(previousValue), abs(state.value), 1) {
        return state.result(.objectiveConverged)
      }
    }
  }

  /// The (s, y) pairs and the two-loop recursion.
  struct History {
    let capacity: Int
    private var steps: [[Double]] = []
    private var gradientChanges: [[Double]] = []
    private var reciprocalCurvatures: [Double] = []
    private var alphas: [Double]
    /// Where a new pair is built before the curvature check, so that a rejected pair never
    /// touches the stored ones.
    private var candidateStep: [Double]
    private var candidateGradientChange: [Double]
    private var newest = -1
    private(set) var storedCount = 0

    init(capacity: Int, count: Int) {
      self.capacity = capacity
      alphas = [Double](repeating: 0, count: capacity)
      candidateStep = [Double](repeating: 0, count: count)
      candidateGradientChange = [Double](repeating: 0, count: count)
      steps.reserveCapacity(capacity)
      gradientChanges.reserveCapacity(capacity)
    }

    var isEmpty: Bool { storedCount == 0 }

    mutating func removeAll() {
      storedCount = 0
      newest = -1
    }

    /// Stores s = new − old and y = newGradient − gradient in place of the oldest pair,
    /// unless sᵀy is not positive enough (then H would not stay positive definite and the
    /// history is left exactly as it was).
    mutating func append(from old: [Double], to new: [Double], gradient: [Double], newGradient: [Double]) {
      VectorOperations.difference(new, old, into: &candidateStep)
      VectorOperations.difference(newGradient, gradient, into: &candidateGradientChange)
      let curvature = VectorOperations.dot(candidateStep, candidateGradientChange)
      let yy = VectorOperations.dot(candidateGradientChange, candidateGradientChange)
      guard curvature > 1e-10 * yy, curvature > 0 else { return }
      let slot = (newest + 1) % capacity
      if slot == steps.count {  // the ring is still growing
        steps.append(candidateStep)
        gradientChanges.append(candidateGradientChange)
        reciprocalCurvatures.append(1 / curvature)
      } else {
        swap(&steps[slot], &candidateStep)
        swap(&gradientChanges[slot], &candidateGradientChange)
        reciprocalCurvatures[slot] = 1 / curvature
      }
      newest = slot
      storedCount = min(storedCount + 1, capacity)
    }

    /// d = −H ∇f by the two-loop recursion (−∇f when the history is empty).
    mutating func direction(for gradient: [Double], into direction: inout [Double]) {
      // q starts as −∇f, so the result is already the descent direction.
      for index in gradient.indices { direction[index] = -gradient[index] }
      guard storedCount > 0 else { return }
      var slot = newest
      for _ in 0..<storedCount {
        let alpha = reciprocalCurvatures[slot] * VectorOperations.dot(steps[slot], direction)
        alphas[slot] = alpha
        VectorOperations.addScaled(gradientChanges[slot], by: -alpha, to: &direction)
        slot = (slot - 1 + capacity) % capacity
      }
      let yy = VectorOperations.dot(gradientChanges[newest], gradientChanges[newest])
      let gamma = 1 / (reciprocalCurvatures[newest] * yy)
      VectorOperations.scale(&direction, by: gamma)
      slot = (newest - storedCount + 1 + capacity) % capacity
      for _ in 0..<storedCount {
        let beta = reciprocalCurvatures[slot] * VectorOperations.dot(gradientChanges[slot], direction)
        VectorOperations.addScaled(steps[slot], by: alphas[slot] - beta, to: &direction)
        slot = (slot + 1) % capacity
      }
    }
  }
}
