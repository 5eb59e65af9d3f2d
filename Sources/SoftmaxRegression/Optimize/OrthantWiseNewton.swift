/// Newton steps for F = f + Σ c_i|θ_i| (`DifferentiableFunction.l1Penalty`) on the face of
/// the current orthant: the endgame of an elastic net after OWL-QN, which stalls short of a
/// tight tolerance on ill-conditioned problems.
///
/// Each epoch fixes the face: the coordinates that are 0 and stay 0 (|∂f/∂θ_i| ≤ c_i) are
/// held at 0; the others move within the orthant of sign(θ_i), or, where θ_i = 0 and the
/// pseudo-gradient ◇F_i ≠ 0, of −◇F_i. On that face F is smooth (f plus a linear term), so
/// the step solves ∇²f_FF d = −◇F_F by conjugate gradient on Hessian-vector products with the
/// function's preconditioner (both restricted to the free coordinates); the trial point is
/// projected onto the orthant (a coordinate that would cross zero stops at zero), with
/// Armijo backtracking on F. Stops when max|◇F| ≤ `tolerance` (converged), after `maxEpochs`
/// epochs, when backtracking fails or the step's predicted decrease is below F's resolution
/// (`lineSearchFailed`), or when the observer returns false.
public struct OrthantWiseNewton: Minimizer {
  /// Stop when max|◇F| ≤ tolerance.
  public var tolerance: Double
  /// Stop after this many epochs.
  public var maxEpochs: Int

  /// A configured solver; see the type's documentation for the rules.
  public init(tolerance: Double, maxEpochs: Int) {
    self.tolerance = tolerance
    self.maxEpochs = maxEpochs
  }

  /// Minimizes f + r from `start`.
  public func minimize(
    _ function: any TwiceDifferentiableFunction, from start: [Double],
    observe: (OptimizationProgress) -> Bool = { _ in true }
  ) -> OptimizationResult {
    let penalty = function.l1Penalty
    var point = CompositePoint(function, at: start, penalty: penalty)
    var epoch = 0
    var passes = 1
    func result(_ reason: StopReason) -> OptimizationResult {
      point.result(reason, epochs: epoch, passes: passes)
    }
    if let stop = point.checkStart(observe) { return stop }
    while true {
      if point.pseudoGradientMax <= tolerance { return result(.converged) }
      if epoch >= maxEpochs { return result(.maxEpochs) }
      let free = (0..<start.count).map { index in
        (penalty?.strengths[index] ?? 0) == 0 || point.parameters[index] != 0
          || point.pseudoGradient[index] != 0
      }
      let (direction, products) = newtonStep(function, at: point, free: free)
      var passesThisEpoch = products
      // Nothing left to gain at this precision: the step's first-order decrease is lost in
      // F's rounding (the trainer then goes on with a more precise evaluation, where there is one).
      let predicted = -VectorOperations.dot(point.pseudoGradient, direction)
      if predicted <= function.relativeResolution * abs(point.evaluation.value) {
        passes += passesThisEpoch
        return result(.lineSearchFailed)
      }
      let (next, trials) = OrthantWiseLBFGS.backtrack(
        function, from: point, along: direction, penalty: penalty, initialStep: 1)
      passesThisEpoch += trials
      passes += passesThisEpoch
      guard let next else { return result(.lineSearchFailed) }
      point = next
      epoch += 1
      guard observe(point.progress(epoch: epoch, passes: passes, passesThisEpoch: passesThisEpoch)) else {
        return result(.stoppedByObserver)
      }
    }
  }

  /// d with d_F ≈ −(∇²f_FF)⁻¹ ◇F_F by preconditioned CG (residual below 10⁻³ of ◇F's, or
  /// |F| products), 0 off F; and the products taken.
  private func newtonStep(
    _ function: any TwiceDifferentiableFunction, at point: CompositePoint, free: [Bool]
  ) -> ([Double], Int) {
    let count = free.count
    func masked(_ vector: [Double]) -> [Double] { (0..<count).map { free[$0] ? vector[$0] : 0 } }
    let preconditioner = function.preconditioner(at: point.parameters)
    var step = [Double](repeating: 0, count: count)
    var residual = masked(point.pseudoGradient.map { -$0 })
    var scaled = [Double](repeating: 0, count: count)
    preconditioner.solve(residual, into: &scaled)
    scaled = masked(scaled)
    var direction = scaled
    var product = [Double](repeating: 0, count: count)
    var scaledResidual = VectorOperations.dot(scaled, residual)
    let stopAt = 1e-3 * scaledResidual.squareRoot()
    var products = 0
    for _ in 0..<free.filter({ $0 }).count {
      if scaledResidual.squareRoot() <= stopAt { break }
      point.parameters.withUnsafeBufferPointer { parameters in
        direction.withUnsafeBufferPointer { direction in
          product.withUnsafeMutableBufferPointer {
            function.hessianVectorProduct(at: parameters, direction: direction, into: $0)
          }
        }
      }
      products += 1
      product = masked(product)
      let curvature = VectorOperations.dot(direction, product)
      guard curvature > 0 else { break }
      let alpha = scaledResidual / curvature
      VectorOperations.addScaled(direction, by: alpha, to: &step)
      VectorOperations.addScaled(product, by: -alpha, to: &residual)
      preconditioner.solve(residual, into: &scaled)
      scaled = masked(scaled)
      let next = VectorOperations.dot(scaled, residual)
      let beta = next / scaledResidual
      for index in 0..<count { direction[index] = scaled[index] + beta * direction[index] }
      scaledResidual = next
    }
    if products == 0 || !(VectorOperations.dot(step, point.pseudoGradient) < 0) {
      return (masked(point.pseudoGradient.map { -$0 }), products)  // steepest descent on the face
    }
    return (step, products)
  }
}
