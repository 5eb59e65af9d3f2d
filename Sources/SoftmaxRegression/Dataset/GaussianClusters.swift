/// A seeded synthetic classification problem: K Gaussian clusters in D dimensions.
///
/// Class centres are drawn once as 2·N(0, I); each row picks a class uniformly and adds
/// N(0, I) noise to its centre (the same recipe as `../shared/bench/numpy_epoch.py`).
/// Everything comes from one SplitMix64 stream seeded by `seed`, so the same parameters
/// give the same rows on every machine.
public struct GaussianClusters: Sendable {
  /// Rows to generate.
  public var rowCount: Int
  /// Features per row.
  public var featureCount: Int
  /// Number of classes (labels `0`…`K−1`).
  public var classCount: Int
  /// The random seed.
  public var seed: UInt64

  /// A problem of the given shape; all counts must be ≥ 1 (classes ≥ 2).
  public init(rowCount: Int, featureCount: Int, classCount: Int, seed: UInt64 = 0) {
    precondition(rowCount >= 1 && featureCount >= 1 && classCount >= 2)
    self.rowCount = rowCount
    self.featureCount = featureCount
    self.classCount = classCount
    self.seed = seed
  }

  /// Calls `body(label, features)` for each row in order; `features` is reused between calls.
  /// Cost: O(rows · features).
  public func forEachRow(_ body: (Int, UnsafeMutableBufferPointer<Float>) throws -> Void) rethrows {
    var random = SplitMix64(seed: seed)
    let centers = (0..<(classCount * featureCount)).map { _ in 2 * random.nextGaussian() }
    let row = UnsafeMutableBufferPointer<Float>.allocate(capacity: featureCount)
    defer { row.deallocate() }
    for _ in 0..<rowCount {
      let label = Int(random.next() % UInt64(classCount))
      for feature in 0..<featureCount {
        row[feature] = centers[label * featureCount + feature] + random.nextGaussian()
      }
      try body(label, row)
    }
  }

  /// The rows as an in-memory dataset (features `f0`…, label column `label`).
  /// - Throws: `DatasetError` with reason `.outOfMemory` when the matrix cannot be allocated.
  public func makeDataset() throws(DatasetError) -> Dataset {
    let matrix = try FeatureMatrix(rowCount: rowCount, featureCount: featureCount)
    var labels: [Int32] = []
    labels.reserveCapacity(rowCount)
    var rowIndex = 0
    forEachRow { label, features in
      matrix.rowPointer(rowIndex).update(from: features.baseAddress!, count: featureCount)
      labels.append(Int32(label))
      rowIndex += 1
    }
    // Generated values are a few units from zero: their stored form is always finite.
    let encoding = (try? ColumnEncoding.encodeInPlace(matrix).get()) ?? .identity(featureCount: featureCount)
    return Dataset(
      features: matrix, encoding: encoding, labels: labels,
      classNames: (0..<classCount).map(String.init), featureNames: featureNames, labelName: "label")
  }

  /// `f0`, `f1`, ….
  public var featureNames: [String] { (0..<featureCount).map { "f\($0)" } }
}

/// SplitMix64 (Steele, Lea, Flood 2014): a small, fast, seedable 64-bit generator.
public struct SplitMix64: RandomNumberGenerator, Sendable {
  private var state: UInt64

  /// A generator whose stream is fixed by `seed`.
  public init(seed: UInt64) { state = seed }

  /// The next 64 random bits. Cost: O(1).
  public mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// A uniform Double in [0, 1) from the top 53 bits.
  public mutating func nextUniform() -> Double {
    Double(next() >> 11) * 0x1.0p-53
  }

  /// A standard normal sample (Box–Muller; one of the pair is used).
  public mutating func nextGaussian() -> Float {
    let u1 = 1 - nextUniform()  // (0, 1]: log stays finite
    let u2 = nextUniform()
    return Float((-2 * _log(u1)).squareRoot() * _cos(2 * .pi * u2))
  }
}

#if canImport(Glibc)
  import Glibc
  private func _log(_ x: Double) -> Double { Glibc.log(x) }
  private func _cos(_ x: Double) -> Double { Glibc.cos(x) }
#elseif canImport(Darwin)
  import Darwin
  private func _log(_ x: Double) -> Double { Darwin.log(x) }
  private func _cos(_ x: Double) -> Double { Darwin.cos(x) }
#endif
