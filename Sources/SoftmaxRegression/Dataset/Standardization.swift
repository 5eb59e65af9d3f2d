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
    self.init(fitting: dataset, rows: rows, processes: SingleProcess())
  }

  /// Fits mean and scale over the rows of several processes, each reading only its range
  /// of the positions (that of its shards, `ProcessGroup.shardRange(of:)`).
  ///
  /// One pass over the stored values (a matrix larger than memory is read from disk once,
  /// not twice): the sums of x' and x'², in Double, in position order. The encoding has
  /// already shifted each column by its sample mean and scaled it near 1, so the variance
  /// (Σx'² − (Σx')²/m)/m does not cancel (a mean 1000 deviations from the sample's would
  /// lose 6 of Double's 16 digits). The statistics are then decoded: mean = offset + μ'·2^e,
  /// scale = σ'·2^e. Over several processes each continues the running sums of those before
  /// it (`ProcessChain`): the same additions in the same order, so the same bits, with each
  /// process waiting for the one before (the pass is as long as one process's).
  init(fitting dataset: Dataset, rows: [Int32]?, processes: any ProcessGroup) {
    let features = dataset.features
    let rowCount = rows?.count ?? features.rowCount
    let columnCount = features.featureCount
    let count = Double(max(rowCount, 1))
    func rowIndex(_ position: Int) -> Int { rows.map { Int($0[position]) } ?? position }
    let positions = processes.shareOfRows(rowCount)
    var sums = [Double](repeating: 0, count: 2 * columnCount)
    let chain = ProcessChain(processes: processes)
    _ = sums.withUnsafeMutableBufferPointer { chain.receivePreceding($0) }
    let window = max(1, (16 << 20) / max(1, features.rowStride * 4))
    for start in stride(from: positions.lowerBound, to: positions.upperBound, by: window) {
      let end = min(positions.upperBound, start + window)
      if rows == nil { features.willRead(rows: end..<min(positions.upperBound, end + 2 * window)) }
      for position in start..<end {
        let values = features.rowPointer(rowIndex(position))
        for column in 0..<columnCount {
          let value = Double(values[column])
          sums[column] += value
          sums[columnCount + column] += value * value
        }
      }
      if rows == nil { features.didRead(rows: start..<end) }
    }
    sums.withUnsafeMutableBufferPointer { chain.passOn($0) }
    let encoding = dataset.encoding
    var mean: [Double] = []
    var scale: [Double] = []
    for column in 0..<columnCount {
      let storedMean = sums[column] / count
      let variance = max(0, sums[columnCount + column] / count - storedMean * storedMean)
      mean.append(encoding.offset[column] + storedMean / encoding.scale[column])
      let deviation = variance.squareRoot() / encoding.scale[column]
      scale.append(deviation >= Double(Float.leastNormalMagnitude) ? deviation : 1)
    }
    self.mean = mean
    self.scale = scale
  }

  /// This standardisation with the flagged features left as they are (mean 0, scale 1):
  /// the 0/1 indicators of categorical levels.
  func leaving(_ flagged: [Bool]) -> Standardization {
    guard flagged.contains(true) else { return self }
    var result = self
    for (feature, isFlagged) in flagged.enumerated() where isFlagged {
      result.mean[feature] = 0
      result.scale[feature] = 1
    }
    return result
  }

  /// Standardizes one value of feature `column`; the exact operation scoring applies.
  @inline(__always)
  public func apply(_ value: Double, column: Int) -> Double {
    (value - mean[column]) / scale[column]
  }
}
