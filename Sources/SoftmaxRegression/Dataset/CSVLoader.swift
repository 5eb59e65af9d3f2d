import Foundation

/// The single-threaded CSV → Dataset conversion behind `Dataset.init(csvAt:schema:)`.
struct CSVLoader {
  /// What each CSV column becomes.
  enum ColumnRole: Equatable {
    case feature(Int)
    case label
    case weight
    case skipped
  }

  let bytes: UnsafeRawBufferPointer
  let file: String
  let schema: Dataset.Schema
  /// Called every `progressInterval` rows with (bytes parsed, total bytes), and at the end.
  var progress: ((Int, Int) -> Void)? = nil
  private let progressInterval = 1 << 14
  /// The encoding to store values with, instead of one sampled from this file's first rows
  /// (the parts of one dataset share the first parts' sample).
  var encoding: ColumnEncoding? = nil
  /// Asked every `progressInterval` rows; false stops the load with `.cancelled`.
  var shouldContinue: (() -> Bool)? = nil
  private var fields: [CSVField] = []

  init(bytes: UnsafeRawBufferPointer, file: String, schema: Dataset.Schema) {
    self.bytes = bytes
    self.file = file
    self.schema = schema
  }

  /// The header's names, what each column becomes, and where the data rows begin.
  struct Layout {
    var header: [String]
    /// The feature names in storage order.
    var featureNames: [String]
    var roles: [ColumnRole]
    var labelColumn: Int?
    /// The byte offset just past the header row's line break.
    var bodyStart: Int
    /// The physical line number at `bodyStart`.
    var bodyLine: Int
    /// How feature values are stored, from the first rows (`ColumnEncoding.sampleRowCount`).
    var encoding: ColumnEncoding
  }

  /// Reads and checks the header row. Cost: O(header bytes).
  mutating func readLayout() throws(DatasetError) -> Layout {
    if bytes.count >= 2 && ((bytes[0] == 0xFF && bytes[1] == 0xFE) || (bytes[0] == 0xFE && bytes[1] == 0xFF)) {
      throw DatasetError(file: file, line: 1, reason: .utf16)
    }
    let bodyStart = Self.byteOrderMarkLength(bytes)
    var scanner = CSVScanner(bytes: bytes, startingAt: bodyStart)
    guard try nextRow(&scanner, header: []) != nil else {
      throw DatasetError(file: file, reason: .emptyFile)
    }
    let header = try headerNames()
    let columns = try columnLayout(header)
    return Layout(
      header: header, featureNames: columns.featureNames, roles: columns.roles,
      labelColumn: columns.labelColumn, bodyStart: scanner.position, bodyLine: scanner.line,
      encoding: encoding ?? sampleEncoding(from: scanner, roles: columns.roles, featureCount: columns.featureNames.count))
  }

  /// Adds the feature values of up to `limit` first rows to `sampler`; returns the rows read.
  mutating func addSample(to sampler: inout ColumnEncoding.Sampler, limit: Int) throws(DatasetError) -> Int {
    let layout = try readLayout()
    var scanner = CSVScanner(bytes: bytes, startingAt: layout.bodyStart)
    return addSample(from: &scanner, roles: layout.roles, into: &sampler, limit: limit)
  }

  /// The encoding of the feature values of the first rows that scan cleanly (invalid rows
  /// and cells are left out here; the load reports them). Cost: O(sample bytes).
  private mutating func sampleEncoding(
    from start: CSVScanner, roles: [ColumnRole], featureCount: Int
  ) -> ColumnEncoding {
    var sampler = ColumnEncoding.Sampler(featureCount: featureCount)
    var scanner = start
    _ = addSample(from: &scanner, roles: roles, into: &sampler, limit: ColumnEncoding.sampleRowCount)
    return sampler.encoding()
  }

  private mutating func addSample(
    from scanner: inout CSVScanner, roles: [ColumnRole], into sampler: inout ColumnEncoding.Sampler,
    limit: Int
  ) -> Int {
    var rows = 0
    while rows < limit, (try? scanner.nextRow(into: &fields)) ?? nil != nil {
      rows += 1
      guard fields.count == roles.count else { continue }
      for (column, field) in fields.enumerated() {
        if case .feature(let index) = roles[column], case .value(let value) = number(in: field) {
          sampler.add(value, column: index)
        }
      }
    }
    return rows
  }

  /// Loads the whole file on the calling thread: the reference behaviour, and the source of
  /// every error message (the parallel loader re-reads a file here when a chunk fails).
  mutating func load() throws(DatasetError) -> Dataset {
    let layout = try readLayout()
    let scanner = CSVScanner(bytes: bytes, startingAt: layout.bodyStart, line: layout.bodyLine)
    let (rowCount, syntaxError) = countRows(from: scanner, header: layout.header)
    guard rowCount > 0 else {
      throw syntaxError ?? DatasetError(file: file, reason: .noDataRows)
    }
    // A syntax error found while counting is thrown only after the rows before it were
    // read, so the error reported is always the first one in the file.
    let dataset = try readRows(from: scanner, rowCount: rowCount, layout: layout)
    if let syntaxError { throw syntaxError }
    return try schema.conform(dataset, file: file)
  }

  /// The length of the UTF-8 byte-order marks at the start: all of them, since a file
  /// passed through two tools that each add one must not get a first column name that
  /// starts with an invisible U+FEFF.
  private static func byteOrderMarkLength(_ bytes: UnsafeRawBufferPointer) -> Int {
    var length = 0
    while bytes.count >= length + 3 && bytes[length] == 0xEF && bytes[length + 1] == 0xBB
      && bytes[length + 2] == 0xBF
    {
      length += 3
    }
    return length
  }

  // MARK: - Header

  private func headerNames() throws(DatasetError) -> [String] {
    var names: [String] = []
    var firstColumn: [String: Int] = [:]
    for (index, field) in fields.enumerated() {
      guard let name = text(of: field) else {
        throw DatasetError(
          file: file, line: field.line, column: index + 1, value: lossyText(of: field),
          reason: .invalidUTF8)
      }
      if let first = firstColumn[name] {
        throw DatasetError(
          file: file, line: field.line, column: index + 1, columnName: name,
          reason: .duplicateColumnName(firstColumn: first))
      }
      firstColumn[name] = index + 1
      names.append(name)
    }
    return names
  }

  /// The feature names (in storage order) and each column's role.
  private func columnLayout(_ header: [String]) throws(DatasetError)
    -> (featureNames: [String], roles: [ColumnRole], labelColumn: Int?)
  {
    let labelColumn: Int?
    if let name = schema.labelColumn {
      labelColumn = header.firstIndex(of: name)
      if labelColumn == nil && (schema.requiresLabels || schema.featureNames == nil) {
        let reason: DatasetError.Reason =
          schema.featureNames == nil ? .unknownLabelColumn(available: header) : .missingLabelColumn
        throw DatasetError(file: file, line: 1, columnName: name, reason: reason)
      }
    } else {
      labelColumn = header.count - 1
    }
    var weightColumn: Int? = nil
    if let name = schema.weightColumn {
      weightColumn = header.firstIndex(of: name)
      if weightColumn != nil && weightColumn == labelColumn {
        throw DatasetError(file: file, line: 1, columnName: name, reason: .weightColumnIsLabel)
      }
      guard weightColumn != nil else {
        throw DatasetError(
          file: file, line: 1, columnName: name, reason: .unknownWeightColumn(available: header))
      }
    }
    guard let expected = schema.featureNames else {
      var roles: [ColumnRole] = []
      var names: [String] = []
      for (column, name) in header.enumerated() {
        if column == labelColumn {
          roles.append(.label)
        } else if column == weightColumn {
          roles.append(.weight)
        } else {
          roles.append(.feature(names.count))
          names.append(name)
        }
      }
      return (names, roles, labelColumn)
    }
    var featureIndexByName: [String: Int] = [:]
    for (index, name) in expected.enumerated() { featureIndexByName[name] = index }
    var roles: [ColumnRole] = []
    for (column, name) in header.enumerated() {
      if column == labelColumn {
        roles.append(schema.requiresLabels ? .label : .skipped)
      } else if let featureIndex = featureIndexByName[name] {
        roles.append(.feature(featureIndex))
      } else {
        throw DatasetError(
          file: file, line: 1, column: column + 1, columnName: name, reason: .unexpectedColumn)
      }
    }
    let present = Set(header)
    if let missing = expected.first(where: { !present.contains($0) }) {
      throw DatasetError(file: file, line: 1, columnName: missing, reason: .missingFeatureColumn)
    }
    return (expected, roles, labelColumn)
  }

  // MARK: - Rows

  /// Scans the next row into `fields`, turning scanner errors into located `DatasetError`s.
  private mutating func nextRow(_ scanner: inout CSVScanner, header: [String]) throws(DatasetError)
    -> Int?
  {
    do {
      return try scanner.nextRow(into: &fields)
    } catch {
      let reason: DatasetError.Reason
      switch error.reason {
      case .unterminatedQuote: reason = .unterminatedQuote
      case .textAfterClosingQuote: reason = .textAfterClosingQuote
      case .quoteInUnquotedField: reason = .quoteInUnquotedField
      case .nulByte: reason = .nulByte
      }
      let raw = UnsafeRawBufferPointer(rebasing: bytes[error.start..<error.end])
      throw DatasetError(
        file: file, line: error.line, column: error.fieldIndex,
        columnName: header.indices.contains(error.fieldIndex - 1)
          ? header[error.fieldIndex - 1] : nil,
        value: String(decoding: raw, as: UTF8.self), reason: reason)
    }
  }

  /// Counts the rows that scan cleanly, and returns the syntax error that stopped the count.
  private mutating func countRows(from start: CSVScanner, header: [String])
    -> (count: Int, error: DatasetError?)
  {
    var scanner = start
    var count = 0
    do {
      while try nextRow(&scanner, header: header) != nil { count += 1 }
    } catch {
      return (count, error)
    }
    return (count, nil)
  }

  private mutating func readRows(from start: CSVScanner, rowCount: Int, layout: Layout)
    throws(DatasetError) -> Dataset
  {
    let header = layout.header
    let matrix: FeatureMatrix
    do {
      matrix = try FeatureMatrix(rowCount: rowCount, featureCount: layout.featureNames.count)
    } catch {
      throw error.located(in: file)
    }
    var interner = LabelInterner()
    let readsLabels = layout.roles.contains(.label)
    var labels: [Int32] = []
    if readsLabels { labels.reserveCapacity(rowCount) }
    var weights: [Float] = []
    let readsWeights = layout.roles.contains(.weight)
    if readsWeights { weights.reserveCapacity(rowCount) }
    let knownClasses = Set(schema.classNames ?? [])

    var scanner = start
    for row in 0..<rowCount {
      if row % progressInterval == 0 {
        progress?(scanner.position, bytes.count)
        if let shouldContinue, !shouldContinue() { throw DatasetError(file: file, reason: .cancelled) }
      }
      guard let line = try nextRow(&scanner, header: header) else { break }
      guard fields.count == header.count else {
        throw DatasetError(
          file: file, line: line, reason: .raggedRow(expected: header.count, found: fields.count))
      }
      let rowStart = matrix.rowPointer(row)
      for (column, field) in fields.enumerated() {
        switch layout.roles[column] {
        case .feature(let featureIndex):
          rowStart[featureIndex] = try feature(
            in: field, column: column, header: header, encoding: layout.encoding,
            featureIndex: featureIndex)
        case .label:
          let name = try label(in: field, column: column, header: header)
          if let known = schema.classNames, !knownClasses.contains(name) {
            throw DatasetError(
              file: file, line: field.line, column: column + 1, columnName: header[column],
              value: name, reason: .unknownClass(known: known))
          }
          labels.append(interner.index(of: name))
        case .weight:
          weights.append(try weight(in: field, column: column, header: header))
        case .skipped:
          break
        }
      }
    }
    progress?(bytes.count, bytes.count)
    return makeDataset(
      matrix: matrix, labels: labels, labelNames: interner.names,
      rowWeights: readsWeights ? weights : nil, layout: layout)
  }

  /// Assembles the dataset from rows already read, before `Schema.conform`: `labels` index
  /// `labelNames` (in order of first appearance); classes are sorted by `ClassOrder`.
  /// Cost: O(rows).
  func makeDataset(
    matrix: FeatureMatrix, labels: [Int32], labelNames: [String], rowWeights: [Float]?,
    layout: Layout
  ) -> Dataset {
    let labelName = layout.labelColumn.map { layout.header[$0] } ?? schema.labelColumn ?? "label"
    var interner = LabelInterner()
    for name in labelNames { _ = interner.index(of: name) }
    let (classNames, remap) = interner.sortedClasses()
    return Dataset(
      features: matrix, encoding: layout.encoding, labels: labels.map { remap[Int($0)] },
      classNames: classNames, featureNames: layout.featureNames, labelName: labelName,
      rowWeights: rowWeights)
  }

  // MARK: - Fields

  /// The field as a weight: a number ≥ 0, rounded to Float32.
  func weight(in field: CSVField, column: Int, header: [String]) throws(DatasetError) -> Float {
    let weight = try Float(number(in: field, column: column, header: header))
    guard weight.isFinite else { throw failure(.valueOutOfRange, field, column, header) }
    guard weight >= 0 else { throw failure(.invalidWeight, field, column, header) }
    return weight
  }

  /// The field as feature `featureIndex`, stored with `encoding`.
  func feature(
    in field: CSVField, column: Int, header: [String], encoding: ColumnEncoding, featureIndex: Int
  ) throws(DatasetError) -> Float {
    let stored = encoding.encode(
      try number(in: field, column: column, header: header), column: featureIndex)
    guard stored.isFinite else { throw failure(.valueOutOfRange, field, column, header) }
    return stored
  }

  /// The field as the nearest Double, trimmed of spaces and tabs.
  func number(in field: CSVField, column: Int, header: [String]) throws(DatasetError)
    -> Double
  {
    switch number(in: field) {
    case .value(let value): return value
    case .empty: throw failure(.emptyCell, field, column, header)
    case .invalid: throw failure(text(of: field) == nil ? .invalidUTF8 : .notANumber, field, column, header)
    }
  }

  private enum NumberField {
    case value(Double)
    case empty
    case invalid
  }

  private func number(in field: CSVField) -> NumberField {
    var start = field.start
    var end = field.end
    while start < end && (bytes[start] == 0x20 || bytes[start] == 0x09) { start += 1 }
    while end > start && (bytes[end - 1] == 0x20 || bytes[end - 1] == 0x09) { end -= 1 }
    guard start < end else { return .empty }
    return DecimalParser.parseDouble(UnsafeRawBufferPointer(rebasing: bytes[start..<end]))
      .map { .value($0) } ?? .invalid
  }

  private func failure(
    _ reason: DatasetError.Reason, _ field: CSVField, _ column: Int, _ header: [String]
  ) -> DatasetError {
    DatasetError(
      file: file, line: field.line, column: column + 1, columnName: header[column],
      value: reason == .emptyCell ? nil : lossyText(of: field), reason: reason)
  }

  /// The field as a label: valid UTF-8, not empty, `""` collapsed.
  func label(in field: CSVField, column: Int, header: [String]) throws(DatasetError)
    -> String
  {
    guard let name = text(of: field) else {
      throw DatasetError(
        file: file, line: field.line, column: column + 1, columnName: header[column],
        value: lossyText(of: field), reason: .invalidUTF8)
    }
    guard !name.isEmpty else {
      throw DatasetError(
        file: file, line: field.line, column: column + 1, columnName: header[column],
        reason: .emptyLabel)
    }
    return name
  }

  /// The field's text with `""` collapsed, or nil if it is not valid UTF-8.
  private func text(of field: CSVField) -> String? {
    let raw = UnsafeRawBufferPointer(rebasing: bytes[field.start..<field.end])
    guard let text = String(validating: raw, as: UTF8.self) else { return nil }
    return field.hasEscapedQuotes ? text.replacingOccurrences(of: "\"\"", with: "\"") : text
  }

  private func lossyText(of field: CSVField) -> String {
    String(decoding: UnsafeRawBufferPointer(rebasing: bytes[field.start..<field.end]), as: UTF8.self)
  }
}
