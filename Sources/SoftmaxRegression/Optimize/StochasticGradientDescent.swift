/// Mini-batch stochastic gradient descent with momentum, for functions that are a mean over
/// rows and can evaluate a range of them (`MiniBatchFunction`).
///
/// Each epoch shuffles the rows with the seeded generator, then for each batch of
/// `batchSize` consecutive positions takes v ← μv − η_t ∇f_batch(θ), θ ← θ + v, where
/// η_t = η₀ / (1 + decay · t) for epoch t = 0, 1, …. Each batch's gradient is computed
/// data-parallel; shards depend only on the batch size and the shuffle only on the seed,
/// so results are bit-identical for any thread count. After each epoch one full pass gives
/// the objective and gradient the observer sees (so an epoch costs two passes).
///
/// Stops when max|∇f| ≤ `tolerance`, after `maxEpochs` epochs, or when the observer
/// returns false.
public struct StochasticGradientDescent: Minimizer {
  /// Rows per mini-batch.
  public var batchSize: Int
  /// η₀, the initial step size.
  public var learningRate: Double
  /// The decay of the step size per epoch.
  public var decay: Double
  /// μ, the momentum.
  public var momentum: Double
  /// Stop when max|∇f| ≤ tolerance (checked after each epoch).
  public var tolerance: Double
  /// Stop after this many epochs.
  public var maxEpochs: Int
  /// Seed of the shuffles.
  public var seed: UInt64

  /// A configured SGD; see the type's documentation for the rules. The caller validates
  /// the values (`TrainingOptions.validate()`); a batch size below 1 is taken as 1.
  public init(
    batchSize: Int, learningRate: Double, decay: Double, momentum: Double, tolerance: Double,
    maxEpochs: Int, seed: UInt64
  ) {
    self.batchSize = max(1, batchSize)
    self.learningRate = learningRate
    self.decay = decay
    self.momentum = momentum
    self.tolerance = tolerance
    self.maxEpochs = maxEpochs
    self.seed = seed
  }

  /// Minimizes `objective` from `start`.
  public func minimize(
    _ objective: any MiniBatchFunction, from start: [Double],
    observe: (OptimizationProgress) -> Bool = { _ in true }
  ) -> OptimizationResult {
    var state = OptimizationState(evaluating: objective, at: start)
    if let stop = state.checkStart(observe) { return stop }
    var velocity = [Double](repeating: 0, count: start.count)
    var batchGradient = state.gradient
    var generator = SplitMix64(seed: seed)
    var lastFinite = state

    while true {
      if state.gradientMax <= tolerance { return state.result(.converged) }
      if state.epoch >= maxEpochs { return state.result(.maxEpochs) }
      let stepSize = learningRate / (1 + decay * Double(state.epoch))
      objective.shuffleRows(using: &generator)
      var batchStart = 0
      while batchStart < objective.rowCount {
        let batchEnd = min(batchStart + batchSize, objective.rowCount)
        _ = state.parameters.withUnsafeBufferPointer { p in
          batchGradient.withUnsafeMutableBufferPointer { g in
            objective.evaluate(at: p, gradient: g, positions: batchStart..<batchEnd)
          }
        }
        VectorOperations.scale(&velocity, by: momentum)
        VectorOperations.addScaled(batchGradient, by: -stepSize, to: &velocity)
        VectorOperations.addScaled(velocity, by: 1, to: &state.parameters)
        batchStart = batchEnd
      }
      state.epoch += 1
      state.evaluation = evaluate(objective, state.parameters, &state.gradient)
      state.passes += 2
      state.gradientMax = VectorOperations.maximumMagnitude(state.gradient)
      guard state.value.isFinite && state.gradientMax.isFinite else {
        // The result keeps the last finite point, with its counts of work done.
        var result = lastFinite.result(.nonFinite)
        result.passes = state.passes
        return result
      }
      lastFinite = state
      guard observe(state.progress(passesThisEpoch: 2)) else {
        return state.result(.stoppedByObserver)
      }
    }
  }
}
