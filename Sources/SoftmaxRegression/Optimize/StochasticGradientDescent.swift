/// Mini-batch stochastic gradient descent with momentum, for objectives that can evaluate
/// a range of their rows (`MiniBatchFunction`).
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
public struct StochasticGradientDescent: Sendable {
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

  /// A configured SGD; see the type's documentation for the rules.
  public init(
    batchSize: Int, learningRate: Double, decay: Double, momentum: Double, tolerance: Double,
    maxEpochs: Int, seed: UInt64
  ) {
    precondition(batchSize >= 1 && learningRate > 0 && decay >= 0 && (0..<1).contains(momentum))
    self.batchSize = batchSize
    self.learningRate = learningRate
    self.decay = decay
    self.momentum = momentum
    self.tolerance = tolerance
    self.maxEpochs = maxEpochs
    self.seed = seed
  }

  /// Minimizes `objective` from `start`.
  public func minimize(
    _ objective: SoftmaxObjective, from start: [Double],
    observe: (OptimizationProgress) -> Bool = { _ in true }
  ) -> OptimizationResult {
    let count = start.count
    var parameters = start
    var velocity = [Double](repeating: 0, count: count)
    var gradient = [Double](repeating: 0, count: count)
    var generator = SplitMix64(seed: seed)
    var value = evaluate(objective, parameters, &gradient)
    var passes = 1
    var gradientMax = VectorOperations.maximumMagnitude(gradient)
    var epoch = 0
    var lastFinite = parameters

    func finish(_ reason: StopReason) -> OptimizationResult {
      OptimizationResult(
        parameters: parameters, value: value, gradientMax: gradientMax, epochs: epoch,
        passes: passes, stopReason: reason)
    }

    guard value.isFinite && gradientMax.isFinite else { return finish(.nonFinite) }
    guard observe(OptimizationProgress(epoch: 0, value: value, gradientMax: gradientMax,
      passes: 1, passesThisEpoch: 1, parameters: parameters)) else { return finish(.stoppedByObserver) }

    while true {
      if gradientMax <= tolerance { return finish(.converged) }
      if epoch >= maxEpochs { return finish(.maxEpochs) }
      let stepSize = learningRate / (1 + decay * Double(epoch))
      objective.shuffleRows(using: &generator)
      var start = 0
      while start < objective.rowCount {
        let end = min(start + batchSize, objective.rowCount)
        _ = parameters.withUnsafeBufferPointer { p in
          gradient.withUnsafeMutableBufferPointer { g in
            objective.evaluate(at: p, gradient: g, positions: start..<end)
          }
        }
        VectorOperations.scale(&velocity, by: momentum)
        VectorOperations.addScaled(gradient, by: -stepSize, to: &velocity)
        VectorOperations.addScaled(velocity, by: 1, to: &parameters)
        start = end
      }
      epoch += 1
      let epochValue = evaluate(objective, parameters, &gradient)
      passes += 2
      let epochGradientMax = VectorOperations.maximumMagnitude(gradient)
      guard epochValue.isFinite && epochGradientMax.isFinite else {
        parameters = lastFinite
        epoch -= 1
        return finish(.nonFinite)
      }
      value = epochValue
      gradientMax = epochGradientMax
      lastFinite = parameters
      guard observe(OptimizationProgress(epoch: epoch, value: value, gradientMax: gradientMax,
        passes: passes, passesThisEpoch: 2, parameters: parameters)) else {
        return finish(.stoppedByObserver)
      }
    }
  }
}
