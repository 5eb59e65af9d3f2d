/// The sums of one pass over a set of rows, as one flat vector of Doubles, so that merging
/// two of them (or combining them across processes) is one element-wise addition:
///
///     values[0 ..< P]   Σ_i v_i (p_i − y_i) ⊗ [x_i, 1], in the θ layout (`ParameterLayout`)
///                       (for a Hessian-vector pass: Σ_i v_i ∇²ℓ_i · u, same layout)
///     values[P]         Σ_i v_i ℓ_i, the weighted loss
///     values[P + 1]     Σ_i v_i, the weight sum
///     values[P + 2]     rows whose most probable class is their label
///     values[P + 3]     rows evaluated
///     values[P + 4]     the pass's fingerprint: a hash of the point it was evaluated at, which
///                       the processes of a run compare as the totals travel (`ProcessChain`)
///
/// Counts are exact as Doubles up to 2⁵³ rows. P is the parameter count.
struct PassTotals: Equatable {
  /// The flat sums, in the order above.
  private(set) var values: [Double]
  /// P, the length of the gradient part.
  let parameterCount: Int

  private static let scalarCount = 5

  /// Zero totals for `parameterCount` parameters.
  init(parameterCount: Int) {
    self.parameterCount = parameterCount
    values = [Double](repeating: 0, count: parameterCount + Self.scalarCount)
  }

  /// Σ v_i ℓ_i.
  var loss: Double {
    get { values[parameterCount] }
    set { values[parameterCount] = newValue }
  }
  /// Σ v_i.
  var weightSum: Double {
    get { values[parameterCount + 1] }
    set { values[parameterCount + 1] = newValue }
  }
  /// Rows classified correctly.
  var correctCount: Int {
    get { Int(values[parameterCount + 2]) }
    set { values[parameterCount + 2] = Double(newValue) }
  }
  /// The fingerprint of the point the pass was evaluated at (bits of a 63-bit hash), or
  /// `PassTotals.mismatch` once a process found another's to differ.
  var fingerprint: UInt64 {
    get { values[parameterCount + 4].bitPattern }
    set { values[parameterCount + 4] = Double(bitPattern: newValue) }
  }

  /// The fingerprint of a pass whose processes were not at the same point.
  static let mismatch = UInt64.max

  /// Marks the totals as evaluated at `fingerprint`: the first process sets it; a process
  /// continuing the totals of others (`afterOthers`) keeps theirs when it is the same, and
  /// otherwise sets `mismatch`, which every later process keeps.
  mutating func stamp(_ fingerprint: UInt64, afterOthers: Bool) {
    if !afterOthers {
      self.fingerprint = fingerprint
    } else if self.fingerprint != fingerprint {
      self.fingerprint = Self.mismatch
    }
  }

  /// Rows evaluated.
  var rowCount: Int {
    get { Int(values[parameterCount + 3]) }
    set { values[parameterCount + 3] = Double(newValue) }
  }

  /// Adds `other` element-wise (the same layout). Cost: O(P).
  mutating func merge(_ other: PassTotals) {
    precondition(other.parameterCount == parameterCount, "totals of different layouts")
    for index in values.indices { values[index] += other.values[index] }
  }

  /// Calls `body` with the flat values, for a reducer that writes them in place.
  mutating func withUnsafeMutableValues<Result>(
    _ body: (UnsafeMutableBufferPointer<Double>) -> Result
  ) -> Result {
    values.withUnsafeMutableBufferPointer { body($0) }
  }

  /// Calls `body` with the gradient part (the first P values).
  func withGradientSums<Result>(_ body: (UnsafeBufferPointer<Double>) -> Result) -> Result {
    values.withUnsafeBufferPointer { body(UnsafeBufferPointer(rebasing: $0[0..<parameterCount])) }
  }
}
