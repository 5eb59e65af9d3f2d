/// Where every statistic that depends on all the training rows is summed: row counts,
/// class counts (class weights), and the standardisation's sums and squared deviations.
///
/// Each is first computed over the rows this process holds, then summed through one
/// reduction. In one process the sum is the identity (`LocalStatistics`); a run across
/// several processes replaces it with a global reduction, in a fixed order, so every
/// process sees the same totals.
protocol StatisticsReduction: Sendable {
  /// Replaces `values` with their element-wise sum over every process holding rows.
  func sum(_ values: inout [Double])
}

/// The reduction of a single process: its rows are all the rows.
struct LocalStatistics: StatisticsReduction {
  func sum(_ values: inout [Double]) {}
}

extension StatisticsReduction {
  /// The number of training rows over all processes.
  func rowCount(local: Int) -> Int {
    var values = [Double(local)]
    sum(&values)
    return Int(values[0])
  }

  /// The number of rows of each class among `rows` (all rows when nil), over all processes.
  func classCounts(labels: [Int32], classCount: Int, rows: [Int32]?) -> [Int] {
    var counts = [Double](repeating: 0, count: classCount)
    if let rows {
      for row in rows { counts[Int(labels[Int(row)])] += 1 }
    } else {
      for label in labels { counts[Int(label)] += 1 }
    }
    sum(&counts)
    return counts.map { Int($0) }
  }
}
