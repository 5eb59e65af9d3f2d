extension SoftmaxObjective {
  /// M for the Newton step at θ: where K·(D+1) ≤ `HessianAssembler.maximumOrder`, the exact
  /// Hessian of J at θ (the data term assembled over at most `HessianAssembler.maximumRows`
  /// rows, evenly spaced, plus the penalty's part), by its Cholesky factor: CG then takes one
  /// or two products a step, and `TrustRegionNewton` keeps M for the next steps while they
  /// stay that short. Elsewhere, or if the factorization fails, `diagonalPreconditioner`.
  /// The rows sampled depend only on the row count, so M does not depend on the threads.
  public func preconditioner(at parameters: [Double]) -> any Preconditioner {
    if let assembled = assembledPreconditioner, assembled.point == parameters {
      return assembled.preconditioner
    }
    if let assembled = assemblePreconditioner(at: parameters) {
      assembledPreconditioner = (parameters, assembled)
      return assembled
    }
    return DiagonalPreconditioner(diagonal: diagonalPreconditioner ?? [])
  }

  /// The last assembled Hessian's preconditioner, or nil.
  public var latestPreconditioner: (any Preconditioner)? { assembledPreconditioner?.preconditioner }

  /// An assembly's cost in passes, where there is one: it sums K(K+1)/2 · (D+1)² multiply-adds
  /// a row over `hessianRows`, a pass about 2·K·(D+1) (its Float32 lanes are twice as many)
  /// over every row.
  public var preconditionerCost: Double? {
    let order = layout.classCount * (layout.featureCount + 1)
    guard order <= HessianAssembler.maximumOrder, rowCount > 0 else { return nil }
    let stride = (rowCount + HessianAssembler.maximumRows - 1) / HessianAssembler.maximumRows
    let sampled = Double((rowCount + stride - 1) / stride)
    return sampled / Double(rowCount) * Double(layout.classCount + 1) * Double(layout.featureCount + 1) / 4
  }

  /// The evenly spaced rows an assembled Hessian sums over: all of them up to
  /// `HessianAssembler.maximumRows`, else every s-th (nil: all the dataset's rows).
  var hessianRows: [Int32]? { Self.hessianRows(of: baseRows, rowCount: rowCount) }

  /// The evenly spaced rows among `rowCount` (the dataset's rows, or those `rows` lists)
  /// that an assembled Hessian sums over (nil: all the dataset's rows).
  static func hessianRows(of rows: [Int32]?, rowCount: Int) -> [Int32]? {
    let stride = (rowCount + HessianAssembler.maximumRows - 1) / HessianAssembler.maximumRows
    guard stride > 1 else { return rows }
    return Swift.stride(from: 0, to: rowCount, by: stride).map { rows?[$0] ?? Int32($0) }
  }

  private func assemblePreconditioner(at parameters: [Double]) -> CholeskyPreconditioner? {
    let assembler = HessianAssembler(
      features: dataset.features, layout: layout, rows: hessianRows, rowWeights: rowWeights,
      scaling: scaling)
    guard assembler.order <= HessianAssembler.maximumOrder else { return nil }
    // Every process assembles it alone, from the sampled rows wherever they lie: they must
    // hold the same values there, or their steps would part.
    guard sampledRowsAgree(assembler.rows) else { return nil }
    var matrix = assembler.assemble(at: parameters, on: executor)
    let compactIndex = (0..<parameterCount).map { assembler.compactIndex(ofParameter: $0) }
    let penalized = addPenaltyHessian(to: &matrix, order: assembler.order, compactIndex: compactIndex)
    fillFlatDirections(of: &matrix, order: assembler.order, penalized: penalized)
    return CholeskyFactorization(symmetric: matrix, order: assembler.order, executor: executor).map {
      CholeskyPreconditioner(factorization: $0, compactIndex: compactIndex)
    }
  }

  /// Whether every process holds the same values in `rows` (all rows when nil): a hash
  /// compared across the processes (collective; true in one process). When they differ,
  /// the objective is marked diverged, so its next pass is NaN on every process.
  private func sampledRowsAgree(_ rows: [Int32]?) -> Bool {
    guard chain.isDistributed else { return true }
    let features = dataset.features
    let indices = rows.map { $0.lazy.map(Int.init) } ?? Array(0..<features.rowCount).lazy.map { $0 }
    let bits = indices.lazy.flatMap { row in
      UnsafeBufferPointer(start: features.rowPointer(row), count: features.featureCount).lazy.map {
        UInt64($0.bitPattern)
      }
    }
    guard chain.processes.agree(on: bits) else {
      markDiverged()
      return false
    }
    return true
  }

  /// matrix += ∇²r in the compact order, column by column from the regulariser's products.
  /// - Returns: for each feature slot (the bias last), whether r curves along it.
  private func addPenaltyHessian(
    to matrix: inout [Double], order: Int, compactIndex: [Int?]
  ) -> [Bool] {
    let width = layout.featureCount + 1
    var penalized = [Bool](repeating: false, count: width)
    var unit = [Double](repeating: 0, count: parameterCount)
    var column = [Double](repeating: 0, count: parameterCount)
    for (parameter, compact) in compactIndex.enumerated() {
      guard let compact else { continue }
      unit[parameter] = 1
      for index in column.indices { column[index] = 0 }
      unit.withUnsafeBufferPointer { unit in
        column.withUnsafeMutableBufferPointer { regularizer.addHessianVectorProduct(unit, into: $0) }
      }
      unit[parameter] = 0
      for (row, target) in compactIndex.enumerated() where column[row] != 0 {
        if let target { matrix[target * order + compact] += column[row] }
      }
      if column[parameter] != 0 { penalized[compact % width] = true }
    }
    return penalized
  }

  /// Gives M curvature along the data term's flat directions. The probabilities do not change
  /// when the same number is added to every class's weight (or bias) of one feature: along
  /// such a direction the data term's Hessian is 0, and so is M's but for the Cholesky's tiny
  /// shift, so M⁻¹ would blow the gradient's rounding there up into a useless step that costs
  /// the logits precision. Where the penalty leaves the direction flat (the bias; all of W when
  /// λ = 0), M gets γ/K · 11ᵀ across classes, γ the feature's mean diagonal entry: the gradient
  /// and every Hessian product are orthogonal to such a direction, so CG is otherwise unchanged.
  private func fillFlatDirections(of matrix: inout [Double], order: Int, penalized: [Bool]) {
    let classes = layout.classCount
    let width = layout.featureCount + 1
    for slot in 0..<width where !penalized[slot] {
      let diagonalSum = (0..<classes).reduce(0.0) { sum, k in
        sum + matrix[(k * width + slot) * order + k * width + slot]
      }
      guard diagonalSum > 0 else { continue }
      let share = diagonalSum / Double(classes * classes)
      for k in 0..<classes {
        for l in 0..<classes { matrix[(k * width + slot) * order + l * width + slot] += share }
      }
    }
  }
}
