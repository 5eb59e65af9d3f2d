/// An optimization algorithm: minimizes a function of θ from a starting point.
///
/// `Function` names what the algorithm needs of the function: `any DifferentiableFunction`
/// for gradient methods, `any MiniBatchFunction` for stochastic ones,
/// `any TwiceDifferentiableFunction` for Newton-type ones. The training objective offers all
/// of them. To add a solver: one file with a type conforming to `Minimizer`, and one line in
/// `SolverRegistry`.
public protocol Minimizer: Sendable {
  /// What the algorithm needs of the function it minimizes.
  associatedtype Function

  /// Minimizes `function` from `start`.
  /// - Parameter observe: called after the start (epoch 0) and after every epoch with the
  ///   accepted point and its evaluation; return false to stop.
  /// - Returns: the last accepted point, always one where f and ∇f were finite, and why the
  ///   algorithm stopped.
  func minimize(
    _ function: Function, from start: [Double], observe: (OptimizationProgress) -> Bool
  ) -> OptimizationResult
}
