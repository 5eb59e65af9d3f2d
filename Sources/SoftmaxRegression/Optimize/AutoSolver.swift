import Foundation

/// L-BFGS while it converges quickly, trust-region Newton once L-BFGS's own progress says
/// Newton will be cheaper: the solver for a problem whose conditioning nobody knows in
/// advance.
///
/// Newton with an assembled Hessian (`TwiceDifferentiableFunction.preconditionerCost`) takes
/// tens of epochs whatever the conditioning, but each assembly costs many passes; L-BFGS
/// costs one or two passes an epoch but needs thousands on ill-conditioned problems (raw,
/// unscaled features). After every L-BFGS epoch from `checkAfterPasses` on, the rate at
/// which the lowest max|∇f| fell over the second half of the passes so far (per pass, on a
/// log scale) predicts the passes still needed to reach the tolerance; when that exceeds
/// what a Newton solve costs (`newtonCost`: three assemblies and 30 Hessian-vector passes,
/// each about two gradient passes: what Newton took on the digits, wine and generated
/// sets), Newton continues from the current point. A function without an
/// assembled Hessian never hands over (Newton steps on its diagonal stand-in are not
/// reliably cheaper than L-BFGS).
///
/// With an L1 term (`DifferentiableFunction.l1Penalty`, an elastic net) it runs OWL-QN, and
/// where OWL-QN stalls above the tolerance and the Hessian is assembled, Newton on the
/// orthant's face (`OrthantWiseNewton`) from there.
public struct AutoSolver: Minimizer {
  /// The L-BFGS phase.
  public var lbfgs: LBFGS
  /// The Newton phase.
  public var newton: TrustRegionNewton
  /// No hand-over is considered before this many passes (the early rate is noise).
  public var checkAfterPasses = 10

  /// A solver with the two phases' settings.
  public init(lbfgs: LBFGS, newton: TrustRegionNewton) {
    self.lbfgs = lbfgs
    self.newton = newton
  }

  /// The passes a Newton solve is expected to cost on `function`, or nil when it has no
  /// assembled Hessian.
  public static func newtonCost(_ function: any TwiceDifferentiableFunction) -> Double? {
    function.preconditionerCost.map { 3 * $0 + 60 }
  }

  /// Minimizes `function` from `start`; epochs and passes of both phases are counted
  /// together, and the result's `handoverEpoch` says where Newton took over (nil: never).
  public func minimize(
    _ function: any TwiceDifferentiableFunction, from start: [Double],
    observe: (OptimizationProgress) -> Bool = { _ in true }
  ) -> OptimizationResult {
    if function.l1Penalty != nil { return minimizeElasticNet(function, from: start, observe: observe) }
    guard let newtonCost = Self.newtonCost(function) else {
      return lbfgs.minimize(function, from: start, observe: observe)
    }
    // (passes, lowest max|∇f| so far) after each epoch.
    var trace: [(passes: Int, gradient: Double)] = []
    var handOver = false
    let first = lbfgs.minimize(function, from: start) { progress in
      guard observe(progress) else { return false }
      trace.append((progress.passes, min(trace.last?.gradient ?? .infinity, progress.gradientMax)))
      handOver = Self.shouldHandOver(trace, tolerance: lbfgs.tolerance, newtonCost: newtonCost,
        checkAfterPasses: checkAfterPasses)
      return !handOver
    }
    guard handOver && first.stopReason == .stoppedByObserver else { return first }
    var second = newton
    second.maxEpochs = max(0, newton.maxEpochs - first.epochs)
    let result = second.minimize(function, from: first.parameters) { progress in
      Self.shifted(progress, after: first).map(observe) ?? true
    }
    return Self.combined(first, result)
  }

  /// OWL-QN, then Newton on the orthant's face where OWL-QN stalls above the tolerance and
  /// the Hessian is assembled.
  private func minimizeElasticNet(
    _ function: any TwiceDifferentiableFunction, from start: [Double],
    observe: (OptimizationProgress) -> Bool
  ) -> OptimizationResult {
    let orthantWise = OrthantWiseLBFGS(
      memory: lbfgs.memory, tolerance: lbfgs.tolerance, objectiveTolerance: lbfgs.objectiveTolerance,
      maxEpochs: lbfgs.maxEpochs)
    let first = orthantWise.minimize(function, from: start, observe: observe)
    let stalled = first.stopReason == .objectiveConverged || first.stopReason == .lineSearchFailed
    guard stalled, first.gradientMax > lbfgs.tolerance, function.preconditionerCost != nil else { return first }
    let second = OrthantWiseNewton(
      tolerance: lbfgs.tolerance, maxEpochs: max(0, lbfgs.maxEpochs - first.epochs))
    let result = second.minimize(function, from: first.parameters) { progress in
      Self.shifted(progress, after: first).map(observe) ?? true
    }
    return Self.combined(first, result)
  }

  /// The second method's progress as the observer sees it: epochs and passes shifted by
  /// `first`'s; nil for its starting point, which is `first`'s last, seen already.
  private static func shifted(
    _ progress: OptimizationProgress, after first: OptimizationResult
  ) -> OptimizationProgress? {
    guard progress.epoch > 0 else { return nil }
    var shifted = progress
    shifted.epoch += first.epochs
    shifted.passes += first.passes
    return shifted
  }

  /// `first` continued by `second`: handed over at `first`'s last epoch.
  private static func combined(_ first: OptimizationResult, _ second: OptimizationResult) -> OptimizationResult {
    var result = second
    result.epochs += first.epochs
    result.passes += first.passes
    result.handoverEpoch = first.epochs
    return result
  }

  /// Whether Newton should take over after the epochs in `trace`: the rate at which the
  /// lowest max|∇f| fell over the second half of the passes so far predicts more passes to
  /// the tolerance than `newtonCost`.
  static func shouldHandOver(
    _ trace: [(passes: Int, gradient: Double)], tolerance: Double, newtonCost: Double,
    checkAfterPasses: Int
  ) -> Bool {
    guard let last = trace.last, last.passes >= checkAfterPasses, last.gradient > tolerance,
      let middle = trace.last(where: { $0.passes <= last.passes / 2 })
    else { return false }
    return predictedPasses(
      from: middle.gradient, to: last.gradient, tolerance: tolerance,
      after: last.passes - middle.passes) > newtonCost
  }

  /// The passes still needed to bring max|∇f| from `current` down to `tolerance` at the
  /// rate it fell from `earlier` over the last `passes` passes (infinite when it has not
  /// fallen).
  static func predictedPasses(
    from earlier: Double, to current: Double, tolerance: Double, after passes: Int
  ) -> Double {
    let rate = Foundation.log(earlier / current) / Double(max(1, passes))
    guard rate > 0 else { return .infinity }
    return Foundation.log(current / tolerance) / rate
  }
}
