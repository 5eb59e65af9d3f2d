/// Per-feature centring and scaling: x ↦ (x − mean) / scale, evaluated in Double and
/// rounded once to Float32.
///
/// `mean` is the training mean and `scale` the population standard deviation
/// √(Σ(x − mean)² / m) of the values as read, both accumulated in Double in two passes over
/// the stored values, so features like 1e30 or 1e5 + small noise neither overflow nor
/// cancel. Training never applies it to the data: it is folded into the parameters
/// (`FeatureScaling`); scoring applies it to each row in Double. They are kept in Double: a Float32 mean
/// of 1e5 + noise would be off by up to 0.004, a large fraction of a 0.01 deviation. A
/// feature whose deviation is zero (or below the smallest normal Float32) gets scale 1, so
/// it is only centred.
public struct Standardization: Equatable, Sendable, Codable {
  /// The mean of each feature over the training rows.
  public var mean: [Double]
  /// The divisor for each feature: its standard deviation, or 1 where that is zero.
  public var scale: [Double]

  /// Creates a standardization from explicit values (for example, read from a model file).
  public init(mean: [Double], scale: [Double]) {
    precondition(mean.count == scale.count)
    self.mean = mean
    self.scale = scale
  }

  /// Fits mean and scale to the values of `dataset` as read (or to the listed `rows` only,
  /// e.g. the training part of a validation split). Cost: two passes, O(rows · features).
  public init(fitting dataset: Dataset, rows: [Int32]? = nil) {
    self.init(fitting: dataset, rows: rows, reduction: LocalStatistics())
  }

  /// Fits mean and scale with the row count, sums and squared deviations summed through
  /// `reduction`, so that a run over several processes gets the statistics of all rows.
  /// The statistics are those of the stored values (near 0 and 1 by their encoding, so
  /// nothing cancels), then decoded: mean = offset + μ'·2^e, scale = σ'·2^e.
  init(fitting dataset: Dataset, rows: [Int32]?, reduction: some StatisticsReduction) {
    let features = dataset.features
    let localRowCount = rows?.count ?? features.rowCount
    let columnCount = features.featureCount
    let divisor = Double(max(reduction.rowCount(local: localRowCount), 1))
    func row(_ position: Int) -> UnsafeMutablePointer<Float> {
      features.rowPointer(rows.map { Int($0[position]) } ?? position)
    }
    var sums = [Double](repeating: 0, count: columnCount)
    for position in 0..<localRowCount {
      let values = row(position)
      for column in 0..<columnCount { sums[column] += Double(values[column]) }
    }
    reduction.sum(&sums)
    let means = sums.map { $0 / divisor }
    var squares = [Double](repeating: 0, count: columnCount)
    for position in 0..<localRowCount {
      let values = row(position)
      for column in 0..<columnCount {
        let deviation = Double(values[column]) - means[column]
        squares[column] += deviation * deviation
      }
    }
    reduction.sum(&squares)
    let encoding = dataset.encoding
    mean = (0..<columnCount).map { encoding.offset[$0] + means[$0] / encoding.scale[$0] }
    scale = (0..<columnCount).map { column in
      let deviation = (squares[column] / divisor).squareRoot() / encoding.scale[column]
      return deviation >= Double(Float.leastNormalMagnitude) ? deviation : 1
    }
  }

  /// Standardizes one value of feature `column`; the exact operation scoring applies.
  @inline(__always)
  public func apply(_ value: Double, column: Int) -> Double {
    (value - mean[column]) / scale[column]
  }
}
