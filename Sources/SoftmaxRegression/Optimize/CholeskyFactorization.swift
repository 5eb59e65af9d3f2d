/// The Cholesky factorization A = L Lᵀ of a dense symmetric positive definite matrix, in
/// Double, for solving Newton systems with an assembled Hessian.
///
/// A matrix that is only semi-definite (a softmax Hessian is: adding one vector to every
/// class's parameters does not change the probabilities) is factored with a small shift,
/// A + τI with τ from 1e-12 · max diag(A) up by factors of 100 until the factorization
/// succeeds; `shift` says which τ was needed (0 when none).
struct CholeskyFactorization: Sendable {
  /// n, the matrix's order.
  let order: Int
  /// L, row-major, n × n (entries above the diagonal are unused).
  private var lower: [Double]
  /// τ added to the diagonal.
  private(set) var shift: Double = 0

  /// Factors the symmetric `matrix` (row-major n × n; only its lower triangle is read);
  /// nil when it has a non-finite entry or is not positive definite even after the largest
  /// shift.
  /// Rows below the diagonal are computed on `executor`'s threads in blocks (each entry by
  /// one thread, the same way for any thread count).
  init?(symmetric matrix: [Double], order: Int, executor: ShardedExecutor = ShardedExecutor(threadCount: 1)) {
    precondition(matrix.count == order * order, "a matrix of the wrong size")
    guard matrix.allSatisfy(\.isFinite) else { return nil }
    self.order = order
    lower = matrix
    let largest = (0..<order).map { matrix[$0 * order + $0] }.max() ?? 0
    guard largest > 0 else { return nil }
    var shift = 0.0
    while !Self.factorInPlace(&lower, order: order, executor: executor) {
      shift = shift == 0 ? 1e-12 * largest : shift * 100
      guard shift <= 1e-2 * largest else { return nil }
      lower = matrix
      for index in 0..<order { lower[index * order + index] += shift }
    }
    self.shift = shift
  }

  /// Rows per task when a column's rows are shared out.
  private static let rowsPerTask = 32
  /// Columns with fewer multiply-adds below the diagonal than this stay on one thread.
  private static let parallelWork = 32_768

  /// Overwrites the lower triangle of `matrix` with L, column by column (left-looking); false
  /// when a pivot is not positive.
  private static func factorInPlace(
    _ matrix: inout [Double], order n: Int, executor: ShardedExecutor
  ) -> Bool {
    matrix.withUnsafeMutableBufferPointer { a in
      let base = SendablePointer(base: a.baseAddress!)
      for column in 0..<n {
        let columnRow = base.base + column * n
        let pivot = columnRow[column] - dot(columnRow, columnRow, count: column)
        guard pivot > 0, pivot.isFinite else { return false }
        let diagonal = pivot.squareRoot()
        columnRow[column] = diagonal
        let below = (column + 1)..<n
        if below.count * column < parallelWork || executor.threadCount == 1 {
          eliminate(rows: below, column: column, diagonal: diagonal, base: base.base, order: n)
          continue
        }
        let tasks = (below.count + rowsPerTask - 1) / rowsPerTask
        executor.forEachShard(tasks) { task in
          let start = below.lowerBound + task * rowsPerTask
          eliminate(
            rows: start..<min(n, start + rowsPerTask), column: column, diagonal: diagonal,
            base: base.base, order: n)
        }
      }
      return true
    }
  }

  /// L[i][column] for the rows i in `rows`, from the columns before it.
  private static func eliminate(
    rows: Range<Int>, column: Int, diagonal: Double, base: UnsafeMutablePointer<Double>, order n: Int
  ) {
    let columnRow = base + column * n
    for row in rows {
      let rowStart = base + row * n
      rowStart[column] = (rowStart[column] - dot(rowStart, columnRow, count: column)) / diagonal
    }
  }

  /// Σ_{i<count} x_i y_i, four lanes at a time.
  private static func dot(
    _ x: UnsafeMutablePointer<Double>, _ y: UnsafeMutablePointer<Double>, count: Int
  ) -> Double {
    func load(_ pointer: UnsafeMutablePointer<Double>) -> SIMD4<Double> {
      UnsafeRawPointer(pointer).loadUnaligned(as: SIMD4<Double>.self)
    }
    // Four independent sums: one would wait on the previous add's latency every step.
    var (first, second, third, fourth) = (SIMD4<Double>(), SIMD4<Double>(), SIMD4<Double>(), SIMD4<Double>())
    var index = 0
    while index + 16 <= count {
      first = DoubleRow.fusedMultiplyAdd(load(x + index), load(y + index), first)
      second = DoubleRow.fusedMultiplyAdd(load(x + index + 4), load(y + index + 4), second)
      third = DoubleRow.fusedMultiplyAdd(load(x + index + 8), load(y + index + 8), third)
      fourth = DoubleRow.fusedMultiplyAdd(load(x + index + 12), load(y + index + 12), fourth)
      index += 16
    }
    while index + 4 <= count {
      first = DoubleRow.fusedMultiplyAdd(load(x + index), load(y + index), first)
      index += 4
    }
    let lanes = (first + second) + (third + fourth)
    var sum = (lanes[0] + lanes[1]) + (lanes[2] + lanes[3])
    while index < count {
      sum += x[index] * y[index]
      index += 1
    }
    return sum
  }

  /// x = (L Lᵀ)⁻¹ b, by forward and back substitution, both along L's rows (contiguous).
  func solve(_ right: [Double]) -> [Double] {
    var solution = right
    let n = order
    lower.withUnsafeBufferPointer { lower in
      solution.withUnsafeMutableBufferPointer { x in
        let base = UnsafeMutablePointer(mutating: lower.baseAddress!)
        let values = x.baseAddress!
        // L y = b: y_i = (b_i − L_i,<i · y_<i) / L_ii.
        for row in 0..<n {
          values[row] = (values[row] - Self.dot(base + row * n, values, count: row)) / base[row * n + row]
        }
        // Lᵀ x = y, by columns of Lᵀ (rows of L): x_i = y_i / L_ii, then y_<i −= L_i,<i x_i.
        for row in stride(from: n - 1, through: 0, by: -1) {
          let value = values[row] / base[row * n + row]
          values[row] = value
          let rowStart = base + row * n
          for column in 0..<row { values[column] -= rowStart[column] * value }
        }
      }
    }
    return solution
  }
}

/// A pointer handed to worker tasks that write disjoint entries.
private struct SendablePointer: @unchecked Sendable {
  let base: UnsafeMutablePointer<Double>
}
