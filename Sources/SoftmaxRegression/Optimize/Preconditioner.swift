/// A symmetric positive definite M ≈ ∇²f for preconditioned conjugate gradients: CG works
/// with z = M⁻¹r in place of the residual r (and measures its steps in ‖s‖_M = (sᵀMs)^½), so
/// the closer M is to the Hessian, the fewer Hessian-vector products a Newton step takes
/// (with M = ∇²f exactly, one).
public protocol Preconditioner {
  /// result = M⁻¹ residual.
  func solve(_ residual: [Double], into result: inout [Double])
}

/// M = diag(d): cheap, and enough to even out the scales of raw, unscaled features.
public struct DiagonalPreconditioner: Preconditioner {
  /// d, all positive.
  public let diagonal: [Double]

  /// M = diag(`diagonal`); the entries must be positive.
  public init(diagonal: [Double]) {
    self.diagonal = diagonal
  }

  /// The identity of size `count`.
  public init(identityOf count: Int) {
    self.init(diagonal: [Double](repeating: 1, count: count))
  }

  /// result_i = r_i / d_i.
  public func solve(_ residual: [Double], into result: inout [Double]) {
    for index in residual.indices { result[index] = residual[index] / diagonal[index] }
  }
}

/// M = an assembled matrix (the exact Hessian, where it is small enough), by its Cholesky
/// factor, over a subset of θ's entries: `compactIndex[i]` is entry i's row in the matrix,
/// nil for an entry outside it (row padding), where M is the identity.
struct CholeskyPreconditioner: Preconditioner {
  let factorization: CholeskyFactorization
  let compactIndex: [Int?]

  func solve(_ residual: [Double], into result: inout [Double]) {
    let solution = factorization.solve(gather(residual))
    for (index, compact) in compactIndex.enumerated() {
      result[index] = compact.map { solution[$0] } ?? residual[index]
    }
  }

  private func gather(_ vector: [Double]) -> [Double] {
    var compact = [Double](repeating: 0, count: factorization.order)
    for (index, target) in compactIndex.enumerated() {
      if let target { compact[target] = vector[index] }
    }
    return compact
  }
}
