/// A labelled table of Float32 features, the input to training and evaluation.
///
/// Features live once, row-major and padded (see `FeatureMatrix`), stored through
/// `encoding` (a per-column shift and power-of-two scale chosen at ingest, see
/// `ColumnEncoding`); `value(row:column:)` gives the value as read. Nothing rewrites the
/// stored values after loading: training folds the encoding and the standardisation into
/// its parameters, so a matrix mapped from a cache is used where it lies. Each row has a class
/// index into `classNames`; class names are the labels exactly as written in the data. A
/// dataset loaded for prediction from a file without a label column has no labels
/// (`isLabeled == false`).
public struct Dataset: Sendable {
  /// The feature values, one row per example.
  public let features: FeatureMatrix
  /// How `features` stores each column's values.
  public let encoding: ColumnEncoding
  /// The class index (into `classNames`) of each row; empty when the data has no labels.
  public let labels: [Int32]
  /// The class names in class-index order.
  public let classNames: [String]
  /// The feature column names, in column order.
  public let featureNames: [String]
  /// The name of the label column.
  public let labelName: String
  /// A weight ≥ 0 per row (from a weight column), or nil when every row weighs 1.
  public let rowWeights: [Float]?
  /// How the table's columns became `features` (numeric, categorical levels, missing-value
  /// rule); a model trained on the data keeps it to read raw rows.
  public let table: TableEncoding
  /// What the reader did with each column (missing cells, dropped rows, unseen levels).
  public let ingest: IngestReport
  /// Loaded in shares by several processes (`Dataset(csvAt:schema:threadCount:processes:)`):
  /// per process, in rank order, the rows whose feature values it holds (consecutive, and
  /// together all rows); the other rows read as zeros there. Nil when this process holds
  /// every row. A `Trainer` over the same processes moves the rows each needs.
  var heldRows: [Range<Int>]? = nil

  /// Whether this process holds the feature values of every row: false for a dataset
  /// loaded in shares by several processes, whose other rows read as zeros here. Train it
  /// with a `Trainer` over the same processes (which moves the rows each process reads);
  /// what reads every row (`subset(_:)`, `SoftmaxModel.predictions(for:threadCount:)`) needs a
  /// dataset loaded whole, and `LambdaSearch` refuses one that is not.
  public var holdsEveryRow: Bool { heldRows == nil }

  /// The number of rows (examples).
  public var rowCount: Int { features.rowCount }
  /// The number of features per row.
  public var featureCount: Int { features.featureCount }
  /// The number of classes.
  public var classCount: Int { classNames.count }
  /// Whether every row has a class label.
  public var isLabeled: Bool { labels.count == rowCount && rowCount > 0 }

  /// Wraps already validated parts. `labels` is empty or has one valid index per row.
  init(
    features: FeatureMatrix, encoding: ColumnEncoding, labels: [Int32], classNames: [String],
    featureNames: [String], labelName: String, rowWeights: [Float]? = nil,
    table: TableEncoding? = nil, ingest: IngestReport? = nil
  ) {
    precondition(labels.isEmpty || labels.count == features.rowCount)
    precondition(featureNames.count == features.featureCount)
    precondition(encoding.offset.count == features.featureCount)
    precondition(rowWeights == nil || rowWeights!.count == features.rowCount)
    self.features = features
    self.encoding = encoding
    self.labels = labels
    self.classNames = classNames
    self.featureNames = featureNames
    self.labelName = labelName
    self.rowWeights = rowWeights
    self.table = table ?? .numeric(featureNames)
    self.ingest = ingest ?? .plain(featureNames: featureNames)
  }

  /// Builds a dataset from in-memory rows and string labels.
  ///
  /// Classes are ordered as in CSV loading: numerically when every label is an integer,
  /// otherwise by string order. Values are stored as CSV values are (see `ColumnEncoding`).
  /// Cost: O(rows · features + rows · log classes).
  /// - Parameters:
  ///   - rows: one array of feature values per example, all of the same length.
  ///   - labels: one label per row.
  ///   - featureNames: names for the feature columns; default `x1`, `x2`, ….
  ///   - labelName: the label column's name; default `label`.
  ///   - weights: a finite weight ≥ 0 per row, or nil for 1.
  /// - Throws: `DatasetError` for ragged rows, non-finite values, values too far from their
  ///   column's first values to store, negative weights, empty labels, or no rows.
  public init(
    rows: [[Float]], labels: [String], featureNames: [String]? = nil, labelName: String = "label",
    weights: [Float]? = nil
  ) throws(DatasetError) {
    let file = "<memory>"
    guard labels.count == rows.count else {
      throw DatasetError(
        file: file,
        reason: .inconsistentShape("\(rows.count) rows but \(labels.count) labels"))
    }
    let (matrix, encoding, names) = try Self.stored(rows, featureNames: featureNames)
    var interner = LabelInterner()
    var indices: [Int32] = []
    indices.reserveCapacity(labels.count)
    for (rowIndex, label) in labels.enumerated() {
      guard !label.isEmpty else {
        throw DatasetError(file: file, line: rowIndex + 1, reason: .emptyLabel)
      }
      indices.append(interner.index(of: label))
    }
    if let weights {
      guard weights.count == rows.count else {
        throw DatasetError(
          file: file, reason: .inconsistentShape("\(rows.count) rows but \(weights.count) weights"))
      }
      if let bad = weights.firstIndex(where: { !($0.isFinite && $0 >= 0) }) {
        throw DatasetError(file: file, line: bad + 1, value: "\(weights[bad])", reason: .invalidWeight)
      }
    }
    let (classNames, remap) = interner.sortedClasses()
    self.init(
      features: matrix, encoding: encoding, labels: indices.map { remap[Int($0)] },
      classNames: classNames, featureNames: names, labelName: labelName, rowWeights: weights)
  }

  /// Builds an unlabelled dataset from in-memory rows, for scoring with a model
  /// (`SoftmaxModel.predictions(for:)`, `scores(for:)`). Values are stored as in
  /// `init(rows:labels:)`; a trainer refuses it (no labels).
  /// - Throws: `DatasetError` for no rows, ragged rows, non-finite values or values too far
  ///   from their column's first values to store.
  public init(rows: [[Float]], featureNames: [String]? = nil) throws(DatasetError) {
    let (matrix, encoding, names) = try Self.stored(rows, featureNames: featureNames)
    self.init(
      features: matrix, encoding: encoding, labels: [], classNames: [], featureNames: names, labelName: "label")
  }

  /// `init(rows:labels:featureNames:labelName:weights:)` for rows of Double (or any binary
  /// floating-point type): each value is rounded to the nearest Float32, as a CSV value is.
  /// - Throws: as the Float32 version, and `.valueOutOfRange` for a finite value beyond
  ///   Float32's range.
  public init<Value: BinaryFloatingPoint>(
    rows: [[Value]], labels: [String], featureNames: [String]? = nil, labelName: String = "label",
    weights: [Float]? = nil
  ) throws(DatasetError) {
    try self.init(
      rows: Self.float32Rows(rows, featureNames: featureNames), labels: labels, featureNames: featureNames,
      labelName: labelName, weights: weights)
  }

  /// `init(rows:featureNames:)` (unlabelled) for rows of Double or another floating-point type.
  public init<Value: BinaryFloatingPoint>(rows: [[Value]], featureNames: [String]? = nil) throws(DatasetError) {
    try self.init(rows: Self.float32Rows(rows, featureNames: featureNames), featureNames: featureNames)
  }

  /// Rows rounded to Float32; a finite value that overflows is an error naming its cell.
  static func float32Rows<Value: BinaryFloatingPoint>(_ rows: [[Value]], featureNames: [String]?) throws(DatasetError)
    -> [[Float]]
  {
    var result: [[Float]] = []
    result.reserveCapacity(rows.count)
    for (rowIndex, row) in rows.enumerated() {
      var converted: [Float] = []
      converted.reserveCapacity(row.count)
      for (column, value) in row.enumerated() {
        let single = Float(value)
        if value.isFinite && !single.isFinite {
          throw DatasetError(
            file: "<memory>", line: rowIndex + 1, column: column + 1,
            columnName: featureNames.flatMap { column < $0.count ? $0[column] : nil },
            value: "\(Double(value))", reason: .valueOutOfRange)
        }
        converted.append(single)
      }
      result.append(converted)
    }
    return result
  }

  /// The rows stored as a feature matrix (through a fitted `ColumnEncoding`), with the
  /// feature names (`x1`, `x2`, … by default).
  private static func stored(_ rows: [[Float]], featureNames: [String]?) throws(DatasetError)
    -> (FeatureMatrix, ColumnEncoding, [String])
  {
    let file = "<memory>"
    guard let first = rows.first else { throw DatasetError(file: file, reason: .noDataRows) }
    let names = featureNames ?? (0..<first.count).map { "x\($0 + 1)" }
    guard names.count == first.count else {
      throw DatasetError(
        file: file,
        reason: .inconsistentShape("\(names.count) feature names for \(first.count) features"))
    }
    let matrix = try FeatureMatrix(rowCount: rows.count, featureCount: first.count)
    for (rowIndex, row) in rows.enumerated() {
      guard row.count == first.count else {
        throw DatasetError(
          file: file, line: rowIndex + 1,
          reason: .raggedRow(expected: first.count, found: row.count))
      }
      for (column, value) in row.enumerated() {
        guard value.isFinite else {
          throw DatasetError(
            file: file, line: rowIndex + 1, column: column + 1, columnName: names[column],
            value: "\(value)", reason: .notANumber)
        }
        matrix.storage[rowIndex * matrix.rowStride + column] = value
      }
    }
    switch ColumnEncoding.encodeInPlace(matrix) {
    case .success(let encoding):
      return (matrix, encoding, names)
    case .failure(let cell):
      throw DatasetError(
        file: file, line: cell.row + 1, column: cell.column + 1, columnName: names[cell.column],
        value: "\(rows[cell.row][cell.column])", reason: .valueOutOfRange)
    }
  }

  /// The value of feature `column` in `row` (both zero-based) as read, in Double: the stored
  /// Float32 decoded with `encoding`. Cost: O(1).
  public func value(row: Int, column: Int) -> Double {
    encoding.decode(features[row, column], column: column)
  }

  /// The rows at `indices`, in that order, as a new dataset with the same classes.
  /// Cost: O(indices.count · features).
  /// - Throws: `DatasetError` with reason `.outOfMemory` when the copy cannot be allocated.
  public func subset(_ indices: [Int]) throws(DatasetError) -> Dataset {
    let matrix = try FeatureMatrix(rowCount: indices.count, featureCount: featureCount)
    for (target, source) in indices.enumerated() {
      matrix.rowPointer(target).update(from: features.rowPointer(source), count: features.rowStride)
    }
    return Dataset(
      features: matrix, encoding: encoding, labels: labels.isEmpty ? [] : indices.map { labels[$0] },
      classNames: classNames, featureNames: featureNames, labelName: labelName,
      rowWeights: rowWeights.map { weights in indices.map { weights[$0] } }, table: table)
  }
}

/// Assigns each distinct label string an index in order of first appearance.
struct LabelInterner {
  private var indexByName: [ExactText: Int32] = [:]
  private(set) var names: [String] = []

  mutating func index(of name: String) -> Int32 {
    let key = ExactText(name)
    if let index = indexByName[key] { return index }
    let index = Int32(names.count)
    indexByName[key] = index
    names.append(name)
    return index
  }

  /// The names in class order and, for each first-appearance index, its class index.
  func sortedClasses() -> (names: [String], remap: [Int32]) {
    let comparator = ClassOrder.precedes(in: names)
    let order = names.indices.sorted { comparator(names[$0], names[$1]) }
    var remap = [Int32](repeating: 0, count: names.count)
    for (classIndex, firstAppearance) in order.enumerated() {
      remap[firstAppearance] = Int32(classIndex)
    }
    return (order.map { names[$0] }, remap)
  }
}

/// The order of class names: numeric when every label is an integer, else by string.
public enum ClassOrder {
  /// Whether `text` is an optionally signed run of ASCII digits.
  public static func isInteger(_ text: String) -> Bool {
    var digits = Substring(text)
    if digits.first == "+" || digits.first == "-" { digits = digits.dropFirst() }
    return !digits.isEmpty && digits.utf8.allSatisfy { $0 &- 48 < 10 }
  }

  /// Sorts names: numerically (any length, ties such as `1`/`01` by string) when all are
  /// integers, else by Unicode scalar order (Python's order; text differing in any scalar is
  /// a different name, see `ExactText`). Cost: O(n log n) comparisons.
  public static func sorted(_ names: [String]) -> [String] {
    let comparator = precedes(in: names)
    return names.sorted(by: comparator)
  }

  static func precedes(in names: [String]) -> (String, String) -> Bool {
    if names.allSatisfy(isInteger) {
      return { numericPrecedes($0, $1) }
    }
    return { ExactText.precedes($0, $1) }
  }

  private static func numericPrecedes(_ lhs: String, _ rhs: String) -> Bool {
    let left = IntegerText(lhs)
    let right = IntegerText(rhs)
    if left.isNegative != right.isNegative { return left.isNegative }
    if left.magnitude.count != right.magnitude.count {
      return (left.magnitude.count < right.magnitude.count) != left.isNegative
    }
    if left.magnitude != right.magnitude {
      return (left.magnitude < right.magnitude) != left.isNegative
    }
    return ExactText.precedes(lhs, rhs)
  }

  private struct IntegerText {
    var isNegative: Bool
    var magnitude: Substring
    init(_ text: String) {
      var digits = Substring(text)
      var negative = false
      if let sign = digits.first, sign == "+" || sign == "-" {
        negative = sign == "-"
        digits = digits.dropFirst()
      }
      digits = digits.drop { $0 == "0" }
      isNegative = negative && !digits.isEmpty
      magnitude = digits
    }
  }
}
