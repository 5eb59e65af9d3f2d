/// What a reader did with each column of a table: for a summary that says what was done.
public struct IngestReport: Sendable, Equatable {
  /// One input column.
  public struct Column: Sendable, Equatable {
    /// What the column became.
    public enum Role: Sendable, Equatable {
      case numeric
      case categorical(levels: Int)
      case label
      case weight
      case ignored
    }
    /// The header name.
    public var name: String
    /// What it became.
    public var role: Role
    /// Its missing cells (empty, or a missing-value token), over all rows read.
    public var missingCount: Int
    /// Cells whose level the model did not know (scoring only): encoded as all zeros.
    public var unseenCount: Int
  }

  /// The columns in file order.
  public var columns: [Column]
  /// The rows (0-based, in file order, header not counted) left out under
  /// `MissingValuePolicy.drop`.
  public var droppedRows: [Int]
  /// The rule applied to missing cells.
  public var missing: MissingValuePolicy

  /// A report of numeric features only, nothing missing.
  static func plain(featureNames: [String]) -> IngestReport {
    IngestReport(
      columns: featureNames.map { Column(name: $0, role: .numeric, missingCount: 0, unseenCount: 0) },
      droppedRows: [], missing: .error)
  }

  /// The cells of unseen levels, over all columns.
  public var unseenCount: Int { columns.reduce(0) { $0 + $1.unseenCount } }
}
