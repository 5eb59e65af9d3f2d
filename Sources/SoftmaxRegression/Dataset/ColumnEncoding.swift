/// How each feature column is stored: x ↦ Float32((x − offset) · 2^−exponent), computed in
/// Double and rounded once.
///
/// Values are parsed to Double and shifted before they are rounded to Float32, so a column
/// such as 100000 + small noise keeps the digits of its noise (rounding 100000.0123 to
/// Float32 first would keep steps of 2^−7). The power-of-two scale keeps the stored values
/// near 1 and is exact. Training never rewrites the stored values: the objective folds this
/// encoding and the standardisation into its parameters (see `FeatureScaling`).
///
/// The offset and exponent of a column come from its first `sampleRowCount` values, so
/// they depend on the data alone, never on the thread count or the chunking. The offset is
/// the sample mean rounded to a multiple of 2^exponent, the exponent ⌊log2⌋ of the sample's
/// standard deviation (0 for a constant sample): a column of Float32 or short decimal values
/// is then usually stored exactly, and `decode` gives back the value read.
public struct ColumnEncoding: Equatable, Sendable {
  /// Per column, the value subtracted before scaling.
  public let offset: [Double]
  /// Per column, the power of two the shifted value is divided by.
  public let exponent: [Int]
  /// 2^−exponent per column.
  let scale: [Double]

  /// How many leading rows decide each column's offset and exponent.
  public static let sampleRowCount = 1024
  /// The exponents allowed: a Float32 value times 2^±120 stays a finite Double.
  static let exponentRange = -120...120

  /// An encoding with explicit values (for example read from a cache file); nil when the
  /// counts differ, an offset is not finite or an exponent is outside ±120.
  public init?(offset: [Double], exponent: [Int]) {
    guard offset.count == exponent.count, offset.allSatisfy({ $0.isFinite }),
      exponent.allSatisfy({ Self.exponentRange.contains($0) })
    else { return nil }
    self.offset = offset
    self.exponent = exponent
    self.scale = exponent.map { Double(sign: .plus, exponent: -$0, significand: 1) }
  }

  /// Stores values as they are (offset 0, exponent 0).
  public static func identity(featureCount: Int) -> ColumnEncoding {
    ColumnEncoding(
      validatedOffset: [Double](repeating: 0, count: featureCount),
      exponent: [Int](repeating: 0, count: featureCount))
  }

  /// Values taken from encodings already validated (for example, reordered columns).
  init(validatedOffset offset: [Double], exponent: [Int]) {
    self.offset = offset
    self.exponent = exponent
    self.scale = exponent.map { Double(sign: .plus, exponent: -$0, significand: 1) }
  }

  /// This encoding with the given columns stored as they are (offset 0, exponent 0).
  func identity(at columns: Set<Int>) -> ColumnEncoding {
    guard !columns.isEmpty else { return self }
    return ColumnEncoding(
      validatedOffset: offset.indices.map { columns.contains($0) ? 0 : offset[$0] },
      exponent: exponent.indices.map { columns.contains($0) ? 0 : exponent[$0] })
  }

  /// Whether every column is stored as it is.
  public var isIdentity: Bool {
    offset.allSatisfy { $0 == 0 } && exponent.allSatisfy { $0 == 0 }
  }

  /// The stored form of `value` in `column`; not finite when it is beyond Float32's range.
  @inline(__always)
  public func encode(_ value: Double, column: Int) -> Float {
    Float((value - offset[column]) * scale[column])
  }

  /// Whether some value of magnitude ≤ `limit` has a stored form beyond Float32's range in
  /// some column (with an ulp of margin).
  func mayOverflow(magnitudeUpTo limit: Double) -> Bool {
    zip(offset, scale).contains { offset, scale in
      (limit + abs(offset)) * scale * (1 + 0x1p-20) >= Double(Float.greatestFiniteMagnitude)
    }
  }

  /// The value a stored number stands for, in Double.
  @inline(__always)
  public func decode(_ stored: Float, column: Int) -> Double {
    Double(stored) / scale[column] + offset[column]
  }

  /// Collects the sample of each column (Welford's running mean and squared deviations, so
  /// memory is O(features) whatever the sample) and makes the encoding from it.
  struct Sampler {
    private var count: [Double]
    private var mean: [Double]
    private var squares: [Double]

    /// The number of columns sampled.
    var columnCount: Int { count.count }

    init(featureCount: Int) {
      count = [Double](repeating: 0, count: featureCount)
      mean = [Double](repeating: 0, count: featureCount)
      squares = [Double](repeating: 0, count: featureCount)
    }

    /// Adds a value of `column` (ignored when not finite).
    mutating func add(_ value: Double, column: Int) {
      guard value.isFinite else { return }
      count[column] += 1
      let delta = value - mean[column]
      mean[column] += delta / count[column]
      squares[column] += delta * (value - mean[column])
    }

    /// The encoding of the values added.
    func encoding() -> ColumnEncoding {
      var offsets: [Double] = []
      var exponents: [Int] = []
      for column in count.indices {
        let deviation = count[column] > 0 ? (squares[column] / count[column]).squareRoot() : 0
        let (offset, exponent) = Self.fit(mean: mean[column], deviation: deviation)
        offsets.append(offset)
        exponents.append(exponent)
      }
      return ColumnEncoding(validatedOffset: offsets, exponent: exponents)
    }

    private static func fit(mean: Double, deviation: Double) -> (Double, Int) {
      guard mean.isFinite, deviation.isFinite else { return (0, 0) }
      let exponent =
        deviation > 0 ? Int(deviation.exponent).clamped(to: ColumnEncoding.exponentRange) : 0
      let unit = Double(sign: .plus, exponent: exponent, significand: 1)
      return ((mean / unit).rounded() * unit, exponent)
    }
  }
}

extension ColumnEncoding {
  /// Encodes `matrix` (values as read, owned and unshared) in place with the encoding of its
  /// first rows. Returns the encoding, or the first (row, column) whose stored form would
  /// be beyond Float32's range. Cost: O(rows · features).
  static func encodeInPlace(_ matrix: FeatureMatrix) -> Result<ColumnEncoding, CellOverflow> {
    var sampler = Sampler(featureCount: matrix.featureCount)
    for row in 0..<min(matrix.rowCount, sampleRowCount) {
      let values = matrix.rowPointer(row)
      for column in 0..<matrix.featureCount { sampler.add(Double(values[column]), column: column) }
    }
    let encoding = sampler.encoding()
    for row in 0..<matrix.rowCount {
      let values = matrix.rowPointer(row)
      for column in 0..<matrix.featureCount {
        let stored = encoding.encode(Double(values[column]), column: column)
        guard stored.isFinite else { return .failure(CellOverflow(row: row, column: column)) }
        values[column] = stored
      }
    }
    return .success(encoding)
  }

  /// A value whose stored form is beyond Float32's range (zero-based row and column).
  struct CellOverflow: Error {
    var row: Int
    var column: Int
  }
}

extension Comparable {
  fileprivate func clamped(to range: ClosedRange<Self>) -> Self {
    min(max(self, range.lowerBound), range.upperBound)
  }
}
