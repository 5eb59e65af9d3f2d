/// A smooth function of a flat parameter vector, as optimizers see it.
///
/// Optimizers know nothing of data, classes or threads: they ask for f(θ) and ∇f(θ) at a
/// point and update θ. They keep θ in Double, so steps far below Float32's resolution still
/// move it; the function decides the precision it computes in (the softmax objective uses
/// Float32 kernels, or Double ones to finish). One call is one pass over the data.
///
/// A function is evaluated by one optimizer at a time: implementations may keep scratch
/// buffers and need not be reentrant.
public protocol DifferentiableFunction: AnyObject {
  /// The length of the parameter vector θ.
  var parameterCount: Int { get }

  /// Evaluates f(θ) and writes ∇f(θ) into `gradient` (same length as `parameters`).
  /// - Returns: f(θ) and the statistics of the same pass, which the optimizer keeps with
  ///   the point if it accepts it.
  func evaluate(
    at parameters: UnsafeBufferPointer<Double>, gradient: UnsafeMutableBufferPointer<Double>
  ) -> Evaluation

  /// The relative error of f as evaluated: decreases below `relativeResolution · |f|` are
  /// rounding, not progress. Default: a few ulps of Double.
  var relativeResolution: Double { get }

  /// The non-smooth L1 part of the objective, which `evaluate` leaves out and a solver that
  /// handles it (`OrthantWiseLBFGS`) adds; nil for none. Default nil.
  var l1Penalty: L1Penalty? { get }
}

extension DifferentiableFunction {
  /// A few ulps of Double.
  public var relativeResolution: Double { 1e-14 }

  /// None.
  public var l1Penalty: L1Penalty? { nil }
}

/// A function that can also multiply its Hessian by a vector, for Newton-type solvers.
public protocol TwiceDifferentiableFunction: DifferentiableFunction {
  /// Writes ∇²f(θ)·v into `product` (same length as `parameters`). One pass over the data.
  func hessianVectorProduct(
    at parameters: UnsafeBufferPointer<Double>, direction: UnsafeBufferPointer<Double>,
    into product: UnsafeMutableBufferPointer<Double>)

  /// Positive numbers near the Hessian's diagonal, one per parameter, for preconditioning
  /// conjugate gradients; nil for none (the identity). Default nil.
  var diagonalPreconditioner: [Double]? { get }

  /// M ≈ ∇²f(θ) for the conjugate gradients of a Newton step at θ. Default: the diagonal
  /// preconditioner, or the identity.
  func preconditioner(at parameters: [Double]) -> any Preconditioner

  /// The preconditioner built last, at whatever point, or nil. A solver that resumes near
  /// that point (the trainer's Double phase does) may start with it instead of building one:
  /// any positive definite M gives the same Newton steps, only more or fewer CG products.
  /// Default nil.
  var latestPreconditioner: (any Preconditioner)? { get }

  /// What `preconditioner(at:)` costs, in passes over the data, when it assembles a
  /// Hessian; nil when it does not (a diagonal costs nothing). Default nil.
  var preconditionerCost: Double? { get }
}

extension TwiceDifferentiableFunction {
  /// No preconditioner.
  public var diagonalPreconditioner: [Double]? { nil }

  /// None.
  public var latestPreconditioner: (any Preconditioner)? { nil }

  /// Nil: no assembled Hessian.
  public var preconditionerCost: Double? { nil }

  /// `diagonalPreconditioner` as a `Preconditioner`, or the identity.
  public func preconditioner(at parameters: [Double]) -> any Preconditioner {
    diagonalPreconditioner.map(DiagonalPreconditioner.init(diagonal:))
      ?? DiagonalPreconditioner(identityOf: parameterCount)
  }
}

/// A function that is a (weighted) mean over rows, which stochastic solvers evaluate on
/// mini-batches of consecutive positions in an order they shuffle.
///
///     f_B(θ) = (Σ_{i∈B} v_i ℓ_i(θ)) / Σ_{i∈B} v_i + r(θ)     (r: the penalty, added once)
public protocol MiniBatchFunction: DifferentiableFunction {
  /// The number of positions (rows) the function covers.
  var rowCount: Int { get }

  /// Evaluates f_B and ∇f_B for the rows at `positions` of the current order.
  func evaluate(
    at parameters: UnsafeBufferPointer<Double>, gradient: UnsafeMutableBufferPointer<Double>,
    positions: Range<Int>
  ) -> Evaluation

  /// Reorders the positions with a seeded shuffle (the training objective shuffles blocks of
  /// consecutive rows and the rows within them, see `SoftmaxObjective.shuffleRows`).
  func shuffleRows(using generator: inout SplitMix64)
}

/// f(θ) and what the same pass learnt about θ besides it.
///
/// It travels with the point: an optimizer hands the observer the evaluation of the point
/// it accepted, whatever it evaluated last (a rejected line-search trial, a Hessian-vector
/// product, a projected step).
public struct Evaluation: Sendable, Equatable {
  /// f(θ).
  public var value: Double
  /// The (weighted) mean of −log p(y_i | x_i): f without the penalty. Equal to `value`
  /// for a function that is not a data term.
  public var meanLoss: Double
  /// Rows whose highest-probability class is their label.
  public var correctCount: Int
  /// The number of rows evaluated (0 for a function that is not a mean over rows).
  public var rowCount: Int

  /// An evaluation with explicit statistics.
  public init(value: Double, meanLoss: Double, correctCount: Int, rowCount: Int) {
    self.value = value
    self.meanLoss = meanLoss
    self.correctCount = correctCount
    self.rowCount = rowCount
  }

  /// The evaluation of a plain function: only its value.
  public init(value: Double) {
    self.init(value: value, meanLoss: value, correctCount: 0, rowCount: 0)
  }

  /// correctCount / rowCount (unweighted); 0 when no rows were evaluated.
  public var accuracy: Double { rowCount == 0 ? 0 : Double(correctCount) / Double(rowCount) }
}
