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
  /// (A panel with fewer than `parallelWork` multiply-adds below it stays on one thread.)
  init?(
    symmetric matrix: [Double], order: Int, executor: ShardedExecutor = ShardedExecutor(threadCount: 1),
    parallelWork: Int = Self.parallelWork
  ) {
    precondition(matrix.count == order * order, "a matrix of the wrong size")
    guard matrix.allSatisfy(\.isFinite) else { return nil }
    self.order = order
    lower = matrix
    let largest = (0..<order).map { matrix[$0 * order + $0] }.max() ?? 0
    guard largest > 0 else { return nil }
    var shift = 0.0
    while !Self.factorInPlace(&lower, order: order, executor: executor, parallelWork: parallelWork) {
      shift = shift == 0 ? 1e-12 * largest : shift * 100
      guard shift <= 1e-2 * largest else { return nil }
      lower = matrix
      for index in 0..<order { lower[index * order + index] += shift }
    }
    self.shift = shift
  }

  /// Columns factored together: each row below them is read once for all four.
  private static let panelWidth = 4
  /// Rows per task when a panel's rows are shared out.
  private static let rowsPerTask = 64
  /// Panels with fewer multiply-adds below them than this stay on one thread (waking the
  /// workers for less costs more than it saves).
  static let parallelWork = 1 << 17

  /// Overwrites the lower triangle of `matrix` with L, four columns at a time (left-looking:
  /// each entry is A's minus the dot product of the rows' parts left of the panel, then the
  /// panel's own columns); false when a pivot is not positive.
  private static func factorInPlace(
    _ matrix: inout [Double], order n: Int, executor: ShardedExecutor, parallelWork: Int
  ) -> Bool {
    matrix.withUnsafeMutableBufferPointer { a in
      let base = SendablePointer(base: a.baseAddress!)
      var start = 0
      while start < n {
        let width = min(panelWidth, n - start)
        // The panel's diagonal block, column by column.
        for column in start..<(start + width) {
          let columnRow = base.base + column * n
          let pivot = columnRow[column] - dot(columnRow, columnRow, count: column)
          guard pivot > 0, pivot.isFinite else { return false }
          columnRow[column] = pivot.squareRoot()
          for row in (column + 1)..<(start + width) {
            let rowStart = base.base + row * n
            rowStart[column] = (rowStart[column] - dot(rowStart, columnRow, count: column)) / columnRow[column]
          }
        }
        let below = (start + width)..<n
        if below.count * start < parallelWork || executor.threadCount == 1 {
          eliminate(rows: below, panel: start, width: width, base: base.base, order: n)
        } else {
          let tasks = (below.count + rowsPerTask - 1) / rowsPerTask
          let panel = start
          executor.forEachShard(tasks) { task in
            let first = below.lowerBound + task * rowsPerTask
            eliminate(
              rows: first..<min(n, first + rowsPerTask), panel: panel, width: width, base: base.base,
              order: n)
          }
        }
        start += width
      }
      return true
    }
  }

  /// L[i][panel..<panel+width] for the rows i in `rows`, from the columns before the panel
  /// (one pass over each row for the whole panel) and then within it.
  private static func eliminate(
    rows: Range<Int>, panel: Int, width: Int, base: UnsafeMutablePointer<Double>, order n: Int
  ) {
    typealias Lanes = SIMD4<Double>
    func load(_ pointer: UnsafeMutablePointer<Double>) -> Lanes {
      UnsafeRawPointer(pointer).loadUnaligned(as: Lanes.self)
    }
    // The panel's columns as rows of L (a narrow last panel repeats its last column).
    let column0 = base + panel * n
    let column1 = base + (panel + min(1, width - 1)) * n
    let column2 = base + (panel + min(2, width - 1)) * n
    let column3 = base + (panel + min(3, width - 1)) * n
    for row in rows {
      let rowStart = base + row * n
      var (sum0, sum1, sum2, sum3) = (Lanes(), Lanes(), Lanes(), Lanes())
      var index = 0
      while index + 4 <= panel {
        let values = load(rowStart + index)
        sum0 = DoubleRow.fusedMultiplyAdd(values, load(column0 + index), sum0)
        sum1 = DoubleRow.fusedMultiplyAdd(values, load(column1 + index), sum1)
        sum2 = DoubleRow.fusedMultiplyAdd(values, load(column2 + index), sum2)
        sum3 = DoubleRow.fusedMultiplyAdd(values, load(column3 + index), sum3)
        index += 4
      }
      var totals = (
        (sum0[0] + sum0[1]) + (sum0[2] + sum0[3]), (sum1[0] + sum1[1]) + (sum1[2] + sum1[3]),
        (sum2[0] + sum2[1]) + (sum2[2] + sum2[3]), (sum3[0] + sum3[1]) + (sum3[2] + sum3[3]))
      while index < panel {
        let value = rowStart[index]
        totals.0 += value * column0[index]
        totals.1 += value * column1[index]
        totals.2 += value * column2[index]
        totals.3 += value * column3[index]
        index += 1
      }
      // Within the panel: column panel + k also subtracts the row's entries left of it there.
      let entry0 = (rowStart[panel] - totals.0) / column0[panel]
      rowStart[panel] = entry0
      guard width > 1 else { continue }
      let entry1 = (rowStart[panel + 1] - totals.1 - entry0 * column1[panel]) / column1[panel + 1]
      rowStart[panel + 1] = entry1
      guard width > 2 else { continue }
      let entry2 =
        (rowStart[panel + 2] - totals.2 - entry0 * column2[panel] - entry1 * column2[panel + 1])
        / column2[panel + 2]
      rowStart[panel + 2] = entry2
      guard width > 3 else { continue }
      rowStart[panel + 3] =
        (rowStart[panel + 3] - totals.3 - entry0 * column3[panel] - entry1 * column3[panel + 1]
          - entry2 * column3[panel + 2]) / column3[panel + 3]
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
