/// Trust-region Newton (TRON, after Lin, Weng & Keerthi 2008, the solver of LIBLINEAR):
/// each epoch solves the Newton system ∇²f·s = −∇f approximately by conjugate gradient
/// (Steihaug: stopped at the trust-region boundary ‖s‖ ≤ Δ, or when ‖r‖ ≤ 0.1‖∇f‖), then
/// takes the step if f decreased by enough of what the quadratic model predicted, and grows or
/// shrinks Δ by how well the model predicted.
///
/// Each CG iteration is one Hessian-vector product, one fused pass over the data like a
/// gradient (`TwiceDifferentiableFunction`); each trial point is one evaluation. No line
/// search. CG is preconditioned by the function's `preconditioner(at:)`: for the softmax
/// objective the exact Hessian where K·(D+1) is small (CG then takes one or two products),
/// else a diagonal. An assembled preconditioner costs many passes, so it is asked for anew
/// only after a step whose CG took more than four products; the trust region is measured in
/// its norm ‖s‖_M. On ill-conditioned problems (raw, unscaled features) Newton steps take
/// tens of epochs where gradient methods take thousands.
///
/// Stops when max|∇f| ≤ `tolerance` (converged), after `maxEpochs` accepted steps, when the
/// model predicts a decrease below f's resolution (`DifferentiableFunction.relativeResolution`;
/// reported as `lineSearchFailed`: no step can decrease f further at this precision, and the
/// trainer goes on with the Double kernel), or when the observer returns false.
public struct TrustRegionNewton: Minimizer {
  /// Stop when max|∇f| ≤ tolerance.
  public var tolerance: Double
  /// Stop after this many accepted steps.
  public var maxEpochs: Int
  /// The most CG iterations (Hessian-vector passes) per step; nil: the parameter count.
  public var maxConjugateGradientSteps: Int?

  // The constants of LIBLINEAR's TRON: acceptance and Δ update thresholds and factors.
  private static let (acceptance, shrinkBelow, growAbove) = (1e-4, 0.25, 0.75)
  private static let (smallFactor, halfFactor, growFactor) = (0.25, 0.5, 4.0)
  /// CG stops when ‖r‖ ≤ this fraction of ‖∇f‖ (an inexact Newton step).
  private static let conjugateGradientTolerance = 0.1
  /// The preconditioner is asked for anew (at the current point) only after a step whose
  /// CG took more products than this: an assembled Hessian costs many passes, and one from
  /// a nearby point still makes CG short.
  private static let refreshAfterProducts = 4

  /// A configured solver; see the type's documentation for the rules.
  public init(tolerance: Double, maxEpochs: Int, maxConjugateGradientSteps: Int? = nil) {
    self.tolerance = tolerance
    self.maxEpochs = maxEpochs
    self.maxConjugateGradientSteps = maxConjugateGradientSteps
  }

  /// Minimizes `function` from `start`.
  /// - Parameter observe: called after the start and after every accepted step; return
  ///   false to stop.
  public func minimize(
    _ function: any TwiceDifferentiableFunction, from start: [Double],
    observe: (OptimizationProgress) -> Bool = { _ in true }
  ) -> OptimizationResult {
    var state = OptimizationState(evaluating: function, at: start)
    if let stop = state.checkStart(observe) { return stop }
    // The first step is bounded by nothing but CG's own stop; the region then starts at its
    // length. (LIBLINEAR starts at ‖∇f‖, which is tiny near an optimum: a run resumed there,
    // as the trainer's Double phase is, would crawl.)
    var radius = Double.infinity
    var trial = start
    var trialGradient = state.gradient
    var passesThisEpoch = 0
    var firstStep = true
    var preconditioner = function.latestPreconditioner ?? function.preconditioner(at: state.parameters)
    var lastProducts = 0

    while true {
      if state.gradientMax <= tolerance { return state.result(.converged) }
      if state.epoch >= maxEpochs { return state.result(.maxEpochs) }
      if lastProducts > Self.refreshAfterProducts {
        preconditioner = function.preconditioner(at: state.parameters)
      }
      let step = conjugateGradient(function, at: state, radius: radius, preconditioner: preconditioner)
      VectorOperations.step(from: state.parameters, along: step.direction, by: 1, into: &trial)
      let trialEvaluation = evaluate(function, trial, &trialGradient)
      lastProducts = step.products
      let passes = step.products + 1
      state.passes += passes
      passesThisEpoch += passes

      let gradientStep = VectorOperations.dot(state.gradient, step.direction)
      let predicted = -0.5 * (gradientStep - VectorOperations.dot(step.direction, step.residual))
      let actual = state.value - trialEvaluation.value
      let stepNorm = step.stepNorm
      if firstStep { radius = min(radius, stepNorm) }
      firstStep = false
      let trialGradientMax = VectorOperations.maximumMagnitude(trialGradient)
      if trialEvaluation.value.isFinite && trialGradientMax.isFinite {
        radius = Self.updatedRadius(
          radius, stepNorm: stepNorm, actual: actual, predicted: predicted, gradientStep: gradientStep,
          curvature: trialEvaluation.value - state.value - gradientStep)
      } else {
        radius = Self.smallFactor * min(radius, stepNorm)  // overflow: a much shorter step
      }

      if actual > Self.acceptance * predicted, trialEvaluation.value.isFinite, trialGradientMax.isFinite {
        state.accept(&trial, gradient: &trialGradient, evaluation: trialEvaluation, gradientMax: trialGradientMax)
        guard observe(state.progress(passesThisEpoch: passesThisEpoch)) else {
          return state.result(.stoppedByObserver)
        }
        passesThisEpoch = 0
      }
      // Nothing left to gain at this precision: the model's predicted decrease is lost in f's
      // rounding (the trainer then goes on with a more precise evaluation, where there is one).
      let resolution = function.relativeResolution * abs(state.value)
      if (actual <= 0 && predicted <= 0) || abs(predicted) <= resolution || radius < 1e-300
      {
        return state.result(state.gradientMax <= tolerance ? .converged : .lineSearchFailed)
      }
    }
  }

  /// The new trust-region radius after a trial step, by how well the quadratic model
  /// predicted the actual decrease (`curvature`: f(θ+s) − f(θ) − ∇f·s, which with ∇f·s sets
  /// the step length a parabola through f along s would prefer).
  private static func updatedRadius(
    _ radius: Double, stepNorm: Double, actual: Double, predicted: Double, gradientStep: Double,
    curvature: Double
  ) -> Double {
    let scale = curvature <= 0 ? growFactor : max(smallFactor, -0.5 * (gradientStep / curvature))
    if actual < acceptance * predicted {
      return min(scale * stepNorm, halfFactor * radius)
    } else if actual < shrinkBelow * predicted {
      return max(smallFactor * radius, min(scale * stepNorm, halfFactor * radius))
    } else if actual < growAbove * predicted {
      return max(smallFactor * radius, min(scale * stepNorm, growFactor * radius))
    } else {
      return max(radius, min(scale * stepNorm, growFactor * radius))
    }
  }

  /// A preconditioned Steihaug CG step: `direction` s ≈ −(∇²f)⁻¹∇f within ‖s‖_M ≤ radius,
  /// `residual` r = −∇f − ∇²f·s, ‖s‖_M, and the Hessian-vector products it took. CG stops
  /// when ‖r‖_M⁻¹ ≤ η‖∇f‖_M⁻¹ with the forcing term η = min(0.1, ‖∇f‖_M⁻¹^½) (superlinear
  /// near the optimum, as in LIBLINEAR). The M-norms of s and of the search direction d
  /// follow from CG's own scalars (sᵀMd and dᵀMd by their recurrences, as in Steihaug's
  /// method), so M is only ever solved with, never multiplied.
  private func conjugateGradient(
    _ function: any TwiceDifferentiableFunction, at state: OptimizationState, radius: Double,
    preconditioner: any Preconditioner
  ) -> (direction: [Double], residual: [Double], stepNorm: Double, products: Int) {
    let count = state.parameters.count
    var step = [Double](repeating: 0, count: count)
    var residual = state.gradient.map { -$0 }
    var scaled = [Double](repeating: 0, count: count)
    preconditioner.solve(residual, into: &scaled)
    var direction = scaled
    var product = [Double](repeating: 0, count: count)
    var scaledResidual = VectorOperations.dot(scaled, residual)
    let gradientNorm = scaledResidual.squareRoot()
    let stopAt = min(Self.conjugateGradientTolerance, gradientNorm.squareRoot()) * gradientNorm
    // ‖s‖²_M, sᵀMd and ‖d‖²_M.
    var metric = (stepStep: 0.0, stepDirection: 0.0, directionDirection: scaledResidual)
    var products = 0
    for _ in 0..<(maxConjugateGradientSteps ?? max(count, 5)) {
      if scaledResidual.squareRoot() <= stopAt { break }
      hessianProduct(function, at: state.parameters, direction, into: &product)
      products += 1
      let curvature = VectorOperations.dot(direction, product)
      let alpha = scaledResidual / curvature
      let nextStepStep =
        metric.stepStep + alpha * (2 * metric.stepDirection + alpha * metric.directionDirection)
      if !(curvature > 0) || nextStepStep > radius * radius {
        // Negative or zero curvature (not in a convex objective, but possible in general), or
        // a step past the boundary: go along d to the boundary, where the quadratic model is
        // lowest along it (Steihaug).
        let boundary = radius.isFinite ? radius : gradientNorm
        let tau = Self.boundaryStep(metric, radius: boundary)
        VectorOperations.addScaled(direction, by: tau, to: &step)
        VectorOperations.addScaled(product, by: -tau, to: &residual)
        return (step, residual, boundary, products)
      }
      VectorOperations.addScaled(direction, by: alpha, to: &step)
      VectorOperations.addScaled(product, by: -alpha, to: &residual)
      preconditioner.solve(residual, into: &scaled)
      let next = VectorOperations.dot(scaled, residual)
      let beta = next / scaledResidual
      for index in 0..<count { direction[index] = scaled[index] + beta * direction[index] }
      metric = (
        nextStepStep, beta * (metric.stepDirection + alpha * metric.directionDirection),
        next + beta * beta * metric.directionDirection
      )
      scaledResidual = next
    }
    return (step, residual, metric.stepStep.squareRoot(), products)
  }

  /// The τ ≥ 0 with ‖s + τ d‖_M = radius (s inside the region), from ‖s‖²_M, sᵀMd, ‖d‖²_M.
  static func boundaryStep(
    _ metric: (stepStep: Double, stepDirection: Double, directionDirection: Double), radius: Double
  ) -> Double {
    let (ss, sd, dd) = metric
    let room = max(0, radius * radius - ss)
    let root = (sd * sd + dd * room).squareRoot()
    return sd >= 0 ? room / (sd + root) : (root - sd) / dd
  }

  private func norm(_ x: [Double]) -> Double { VectorOperations.dot(x, x).squareRoot() }

  private func hessianProduct(
    _ function: any TwiceDifferentiableFunction, at parameters: [Double], _ direction: [Double],
    into product: inout [Double]
  ) {
    parameters.withUnsafeBufferPointer { point in
      direction.withUnsafeBufferPointer { direction in
        product.withUnsafeMutableBufferPointer { product in
          function.hessianVectorProduct(at: point, direction: direction, into: product)
        }
      }
    }
  }
}

