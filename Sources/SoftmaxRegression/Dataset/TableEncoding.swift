/// How the columns of a table become a model's features, learnt from the training data and
/// kept in the model, so that scoring reads raw rows the way training did.
///
/// - A **numeric** column is one feature. Under `MissingValuePolicy.mean` a missing cell
///   takes `fill`, the column's mean over the training rows that have a value.
/// - A **categorical** column is one 0/1 feature per level (one-hot), levels in `ClassOrder`
///   (numerically when every level is an integer, else by Unicode scalars), then, when the
///   training data had missing cells under `.mean`, one last feature for "missing". A level
///   that training never saw encodes as all zeros. Indicator features are not standardised:
///   each level's weight is penalised alike, however rare the level.
/// - An **ignored** column is read past.
///
/// Feature names: a numeric column's name; `NAME=LEVEL` for a level; `NAME=<missing>`.
public struct TableEncoding: Sendable, Equatable, Codable {
  /// What a feature column holds.
  public enum Kind: String, Sendable, Codable {
    /// Numbers: one feature.
    case numeric
    /// Text levels: one indicator feature per level.
    case categorical
  }

  /// One input column that gives features.
  public struct Column: Sendable, Equatable, Codable {
    /// The column's header name.
    public var name: String
    /// Numeric or categorical.
    public var kind: Kind
    /// Numeric under `.mean`: the value (as read) that replaces a missing cell.
    public var fill: Double?
    /// Categorical: the levels, in feature order.
    public var levels: [String]?
    /// Categorical: whether "missing" is a level of its own (the column's last feature).
    public var missingLevel: Bool?

    enum CodingKeys: String, CodingKey {
      case name, kind, fill, levels
      case missingLevel = "missing_level"
    }

    /// A numeric column.
    public static func numeric(_ name: String, fill: Double? = nil) -> Column {
      Column(name: name, kind: .numeric, fill: fill, levels: nil, missingLevel: nil)
    }

    /// A categorical column with these levels.
    public static func categorical(_ name: String, levels: [String], missingLevel: Bool) -> Column {
      Column(name: name, kind: .categorical, fill: nil, levels: levels, missingLevel: missingLevel)
    }

    /// The number of features the column gives.
    public var featureCount: Int {
      kind == .numeric ? 1 : (levels?.count ?? 0) + (missingLevel == true ? 1 : 0)
    }

    /// The names of the features the column gives.
    public var featureNames: [String] {
      guard kind == .categorical else { return [name] }
      return (levels ?? []).map { "\(name)=\($0)" } + (missingLevel == true ? ["\(name)=\(TableEncoding.missingLevelName)"] : [])
    }
  }

  /// The columns that give features, in feature order.
  public var columns: [Column]
  /// Columns read past (by name), so that scoring data may still hold them.
  public var ignored: [String]
  /// The cell texts that mean "missing" (an empty cell always does).
  public var missingTokens: [String]
  /// What training did with a missing cell; scoring does the same.
  public var missing: MissingValuePolicy

  enum CodingKeys: String, CodingKey {
    case columns, ignored, missing
    case missingTokens = "missing_tokens"
  }

  /// The feature name of a categorical column's "missing" level, after `NAME=`.
  public static let missingLevelName = "<missing>"
  /// The default missing-value tokens (besides the empty cell).
  public static let defaultMissingTokens = ["NA", "N/A", "NaN", "nan", "null", "NULL", "?"]

  /// An encoding from its parts.
  public init(
    columns: [Column], ignored: [String] = [], missingTokens: [String] = defaultMissingTokens,
    missing: MissingValuePolicy = .error
  ) {
    self.columns = columns
    self.ignored = ignored
    self.missingTokens = missingTokens
    self.missing = missing
  }

  /// Every column numeric, each one feature: what a table of numbers needs.
  public static func numeric(_ names: [String]) -> TableEncoding {
    TableEncoding(columns: names.map { Column.numeric($0) })
  }

  /// The features, in order.
  public var featureNames: [String] { columns.flatMap(\.featureNames) }

  /// Whether each feature is a 0/1 indicator of a categorical level (not standardised).
  public var indicatorFeatures: [Bool] {
    columns.flatMap { [Bool](repeating: $0.kind == .categorical, count: $0.featureCount) }
  }

  /// Whether the encoding holds nothing beyond numeric columns read strictly: what a model
  /// file of version 1 describes by its feature names alone.
  public var isPlain: Bool {
    columns.allSatisfy { $0.kind == .numeric && $0.fill == nil } && ignored.isEmpty
      && missing == .error && missingTokens == Self.defaultMissingTokens
  }
}

/// What a reader does with a missing cell (empty, or one of the missing-value tokens).
public enum MissingValuePolicy: String, Sendable, Codable, CaseIterable {
  /// Stop at the first missing cell, naming it (the default).
  case error
  /// Numeric cells take the column's training mean; categorical cells a level of their own.
  /// A missing label or weight is still an error.
  case mean
  /// Leave out every row with a missing feature, label or weight (counted).
  case drop
}
