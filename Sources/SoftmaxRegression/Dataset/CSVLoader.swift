import Foundation

/// The single-threaded CSV → Dataset conversion behind `Dataset.init(csvAt:schema:)`.
struct CSVLoader {
  /// What each CSV column becomes. A feature's index is its slot in the rows as read: a
  /// numeric value, or a categorical column's level code (see `TableAssembler`).
  enum ColumnRole: Equatable {
    case feature(Int)
    case categorical(Int)
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
  /// The sample that decides the feature columns' kinds and encoding, instead of this
  /// file's own first rows (the parts of one dataset share one sample of their first rows).
  var sharedSample: ColumnSample? = nil
  /// Asked every `progressInterval` rows; false stops the load with `.cancelled`.
  var shouldContinue: (() -> Bool)? = nil
  private var fields: [CSVField] = []
  /// The missing-value tokens as bytes.
  let missingTokens: [[UInt8]]

  init(bytes: UnsafeRawBufferPointer, file: String, schema: Dataset.Schema) {
    self.bytes = bytes
    self.file = file
    self.schema = schema
    missingTokens = schema.missingTokens.map { Array($0.utf8) }
  }

  /// The header's names, what each column becomes, and where the data rows begin.
  struct Layout {
    var header: [String]
    /// The names of the feature slots, in slot order.
    var featureNames: [String]
    var roles: [ColumnRole]
    var labelColumn: Int?
    /// The byte offset where the data rows begin (after the header row, if any).
    var bodyStart: Int
    /// The physical line number at `bodyStart`.
    var bodyLine: Int
    /// How numeric slots are stored, from the first rows (`ColumnEncoding.sampleRowCount`);
    /// categorical slots hold level codes as they are (identity).
    var encoding: ColumnEncoding
    /// The byte between fields.
    var delimiter: UInt8
    /// Per slot: categorical because its first rows held more text than numbers (a number
    /// in it is then an error, not a level).
    var inferredCategorical: [Bool]
    /// Per slot: its column (0-based).
    var slotColumns: [Int]

    /// The slots that hold categorical level codes, in slot order.
    var categoricalSlots: [Int] {
      roles.compactMap { if case .categorical(let slot) = $0 { slot } else { nil } }
    }
  }

  /// Whether the rows read need `TableAssembler` (levels to merge, cells to fill, rows to
  /// drop) rather than being the dataset as they are.
  var needsAssembly: Bool { schema.missing != .error || schema.table != nil || hasCategoricalColumns }
  private var hasCategoricalColumns = false

  /// Reads and checks the header row. Cost: O(header bytes).
  mutating func readLayout() throws(DatasetError) -> Layout {
    let delimiter = schema.delimiter
    let (header, scanner) = try readHeader()
    var columns = try columnLayout(header)
    var sample: ColumnSample
    if let sharedSample {
      sample = sharedSample
    } else {
      sample = ColumnSample(slotCount: columns.featureNames.count)
      var sampleScanner = scanner
      _ = addSample(from: &sampleScanner, roles: columns.roles, into: &sample, limit: ColumnEncoding.sampleRowCount)
    }
    var inferred = [Bool](repeating: false, count: columns.featureNames.count)
    if schema.table == nil {
      for (column, role) in columns.roles.enumerated() {
        guard case .feature(let slot) = role, sample.isText(slot) else { continue }
        columns.roles[column] = .categorical(slot)
        inferred[slot] = true
      }
    }
    hasCategoricalColumns = columns.roles.contains { if case .categorical = $0 { true } else { false } }
    var slotColumns = [Int](repeating: 0, count: columns.featureNames.count)
    for (column, role) in columns.roles.enumerated() {
      if case .feature(let slot) = role { slotColumns[slot] = column }
      if case .categorical(let slot) = role { slotColumns[slot] = column }
    }
    let categorical = Set(columns.roles.compactMap { if case .categorical(let slot) = $0 { slot } else { nil } })
    return Layout(
      header: header, featureNames: columns.featureNames, roles: columns.roles,
      labelColumn: columns.labelColumn, bodyStart: scanner.position, bodyLine: scanner.line,
      encoding: sample.sampler.encoding().identity(at: categorical),
      delimiter: delimiter, inferredCategorical: inferred, slotColumns: slotColumns)
  }

  /// The header row's names (`c1`, `c2`, … when the schema says there is none) and a
  /// scanner at the first data row. Cost: O(header bytes).
  mutating func readHeader() throws(DatasetError) -> (names: [String], body: CSVScanner) {
    let delimiter = schema.delimiter
    let fileStart = try Self.textStart(bytes, file: file, delimiter: delimiter)
    var scanner = CSVScanner(bytes: bytes, startingAt: fileStart, delimiter: delimiter)
    guard try nextRow(&scanner, header: []) != nil else {
      throw DatasetError(file: file, reason: .emptyFile)
    }
    let header = schema.hasHeader ? try headerNames() : fields.indices.map { "c\($0 + 1)" }
    if !schema.hasHeader { scanner = CSVScanner(bytes: bytes, startingAt: fileStart, delimiter: delimiter) }
    return (header, scanner)
  }

  /// Adds up to `limit` first rows to `sample` (nil: a new one for this file's columns);
  /// returns the rows read. The sample must be of a file with this one's header.
  mutating func addSample(to sample: inout ColumnSample?, limit: Int) throws(DatasetError) -> Int {
    let (header, body) = try readHeader()
    var scanner = body
    let columns = try columnLayout(header)
    var grown = sample ?? ColumnSample(slotCount: columns.featureNames.count)
    let rows = addSample(from: &scanner, roles: columns.roles, into: &grown, limit: limit)
    sample = grown
    return rows
  }

  /// What the first rows say of each slot: the numbers (for the encoding) and whether text
  /// was seen (for the column's kind).
  struct ColumnSample {
    var sampler: ColumnEncoding.Sampler
    var numbers: [Int]
    var texts: [Int]

    init(slotCount: Int) {
      sampler = ColumnEncoding.Sampler(featureCount: slotCount)
      numbers = [Int](repeating: 0, count: slotCount)
      texts = numbers
    }

    /// Whether the slot held more texts than numbers: then it is categorical, and a number
    /// in it an error (a stray value is the minority, whichever kind it is).
    func isText(_ slot: Int) -> Bool { texts[slot] > numbers[slot] }
  }

  /// Adds the first rows that scan cleanly to `sample` (invalid rows and cells are left out
  /// here; the load reports them). Cost: O(sample bytes).
  private mutating func addSample(
    from scanner: inout CSVScanner, roles: [ColumnRole], into sample: inout ColumnSample, limit: Int
  ) -> Int {
    var rows = 0
    while rows < limit, (try? scanner.nextRow(into: &fields)) ?? nil != nil {
      rows += 1
      guard fields.count == roles.count else { continue }
      for (column, field) in fields.enumerated() {
        guard case .feature(let slot) = roles[column] else { continue }
        switch number(in: field) {
        case .value(let value):
          sample.sampler.add(value, column: slot)
          sample.numbers[slot] += 1
        case .invalid where !isMissingToken(field, trimmed: true):
          sample.texts[slot] += 1
        default: break
        }
      }
    }
    return rows
  }

  /// Loads the whole file on the calling thread: the reference behaviour, and the source of
  /// every error message (the parallel loader re-reads a file here when a chunk fails).
  mutating func load() throws(DatasetError) -> Dataset {
    let (rows, layout) = try loadRows()
    guard let dataset = try makeDataset(rows, layout: layout) else {
      // The assembler declines only what reading the rows has already thrown for.
      throw DatasetError(file: file, reason: .inconsistentShape("the rows could not be assembled"))
    }
    return try schema.conform(dataset, file: file)
  }

  /// Reads the whole file's rows as read, before assembly: `load` up to the dataset.
  mutating func loadRows() throws(DatasetError) -> (RawRows, Layout) {
    let layout = try readLayout()
    let scanner = CSVScanner(
      bytes: bytes, startingAt: layout.bodyStart, line: layout.bodyLine, delimiter: layout.delimiter)
    let (rowCount, syntaxError) = countRows(from: scanner, header: layout.header)
    guard rowCount > 0 else {
      throw syntaxError ?? DatasetError(file: file, reason: .noDataRows)
    }
    // A syntax error found while counting is thrown only after the rows before it were
    // read, so the error reported is always the first one in the file.
    let rows = try readRows(from: scanner, rowCount: rowCount, layout: layout)
    if let syntaxError { throw syntaxError }
    return (rows, layout)
  }

  /// Where the CSV text starts (after any byte-order marks), once the file is known not to
  /// be UTF-16 and `delimiter` usable.
  static func textStart(_ bytes: UnsafeRawBufferPointer, file: String, delimiter: UInt8) throws(DatasetError) -> Int {
    if bytes.count >= 2 && ((bytes[0] == 0xFF && bytes[1] == 0xFE) || (bytes[0] == 0xFE && bytes[1] == 0xFF)) {
      throw DatasetError(file: file, line: 1, reason: .utf16)
    }
    guard delimiter != 0, delimiter != UInt8(ascii: "\""), !CSVChunkPlan.isLineBreak(delimiter), delimiter < 0x80
    else {
      throw DatasetError(file: file, value: String(UnicodeScalar(delimiter)), reason: .unusableDelimiter)
    }
    return byteOrderMarkLength(bytes)
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

  /// The feature slot names (in slot order) and each column's role, categorical where the
  /// schema says so (a model's table, or `categoricalColumns`); the first rows decide the
  /// other columns' kinds later.
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
    if let table = schema.table {
      return try scoringLayout(header, table: table, labelColumn: labelColumn)
    }
    guard let expected = schema.featureNames else {
      return try trainingLayout(header, labelColumn: labelColumn, weightColumn: weightColumn)
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

  /// Training: every column but the label, the weight and those the schema leaves out is a
  /// feature, in file order.
  private func trainingLayout(_ header: [String], labelColumn: Int?, weightColumn: Int?)
    throws(DatasetError) -> (featureNames: [String], roles: [ColumnRole], labelColumn: Int?)
  {
    let present = Set(header)
    let named: [(option: Dataset.Schema.Option, names: [String])] = [
      (.ignore, schema.ignoredColumns), (.features, schema.selectedFeatures ?? []),
      (.categorical, schema.categoricalColumns),
    ]
    for (option, names) in named {
      if let unknown = names.first(where: { !present.contains($0) }) {
        throw DatasetError(
          file: file, line: 1, columnName: unknown, reason: .unknownColumn(option: option, available: header))
      }
    }
    let ignored = Set(schema.ignoredColumns)
    let selected = schema.selectedFeatures.map(Set.init)
    let categorical = Set(schema.categoricalColumns)
    var roles: [ColumnRole] = []
    var names: [String] = []
    for (column, name) in header.enumerated() {
      if column == labelColumn {
        roles.append(.label)
      } else if column == weightColumn {
        roles.append(.weight)
      } else if ignored.contains(name) || selected.map({ !$0.contains(name) }) ?? false {
        roles.append(.skipped)
      } else {
        roles.append(categorical.contains(name) ? .categorical(names.count) : .feature(names.count))
        names.append(name)
      }
    }
    guard !names.isEmpty else {
      throw DatasetError(
        file: file, line: 1,
        reason: .noFeatureColumns(columns: header.count, delimiter: schema.delimiter))
    }
    return (names, roles, labelColumn)
  }

  /// Scoring with a model's table: its columns by name, in the table's order, of the kinds
  /// it says; columns it ignored are read past.
  private func scoringLayout(_ header: [String], table: TableEncoding, labelColumn: Int?)
    throws(DatasetError) -> (featureNames: [String], roles: [ColumnRole], labelColumn: Int?)
  {
    var slotByName: [String: Int] = [:]
    for (slot, column) in table.columns.enumerated() { slotByName[column.name] = slot }
    let ignored = Set(table.ignored)
    var roles: [ColumnRole] = []
    for (column, name) in header.enumerated() {
      if column == labelColumn {
        roles.append(schema.requiresLabels ? .label : .skipped)
      } else if let slot = slotByName[name] {
        roles.append(table.columns[slot].kind == .categorical ? .categorical(slot) : .feature(slot))
      } else if ignored.contains(name) {
        roles.append(.skipped)
      } else {
        throw DatasetError(
          file: file, line: 1, column: column + 1, columnName: name, reason: .unexpectedColumn)
      }
    }
    let present = Set(header)
    if let missing = table.columns.first(where: { !present.contains($0.name) }) {
      throw DatasetError(file: file, line: 1, columnName: missing.name, reason: .missingFeatureColumn)
    }
    return (table.columns.map(\.name), roles, labelColumn)
  }

  // MARK: - Rows

  /// Scans the next row into `fields`, turning scanner errors into located `DatasetError`s.
  private mutating func nextRow(_ scanner: inout CSVScanner, header: [String]) throws(DatasetError)
    -> Int?
  {
    do {
      return try scanner.nextRow(into: &fields)
    } catch {
      throw error.located(in: bytes, file: file, header: header)
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
    throws(DatasetError) -> RawRows
  {
    let header = layout.header
    let matrix: FeatureMatrix
    do {
      matrix = try FeatureMatrix(rowCount: rowCount, featureCount: layout.featureNames.count)
    } catch {
      throw error.located(in: file)
    }
    var codes = TextCodes(layout: layout)
    let readsLabels = layout.roles.contains(.label)
    var labels: [Int32] = []
    if readsLabels { labels.reserveCapacity(rowCount) }
    var weights: [Float] = []
    let readsWeights = layout.roles.contains(.weight)
    if readsWeights { weights.reserveCapacity(rowCount) }
    var dropped: [Bool] = schema.missing == .drop ? [Bool](repeating: false, count: rowCount) : []
    let knownClasses = schema.classNames.map { Set($0.map(ExactText.init)) }

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
      let cells = try readRow(fields, layout: layout, into: matrix.rowPointer(row), codes: &codes)
      if readsLabels {
        if let known = schema.classNames, !cells.dropped,
          let labelField = layout.labelColumn.map({ fields[$0] }),
          let knownClasses, !knownClasses.contains(ExactText(codes.labels.names[Int(cells.label)]))
        {
          throw DatasetError(
            file: file, line: labelField.line, column: layout.labelColumn! + 1,
            columnName: header[layout.labelColumn!], value: codes.labels.names[Int(cells.label)],
            reason: .unknownClass(known: known))
        }
        labels.append(cells.label)
      }
      if readsWeights { weights.append(cells.weight) }
      if cells.dropped { dropped[row] = true }
    }
    progress?(bytes.count, bytes.count)
    return RawRows(
      matrix: matrix, labels: labels, labelNames: codes.labels.names,
      weights: readsWeights ? weights : nil, dropped: dropped,
      chunks: [.init(rows: 0..<rowCount, codes: codes)])
  }

  /// What one row gave besides its features.
  struct RowCells {
    /// The label's index among the row range's label names (0 when there is no label).
    var label: Int32 = 0
    /// The row's weight (1 when there is no weight column).
    var weight: Float = 1
    /// Whether the row is left out (`MissingValuePolicy.drop`).
    var dropped = false
  }

  /// Reads one row's fields by their roles: numeric slots stored with the layout's encoding
  /// (NaN when missing under `.mean`), categorical slots as level codes among `codes` (NaN
  /// when missing), the label interned in `codes`. The rules of every general path.
  /// - Throws: the cell's located `DatasetError`.
  func readRow(
    _ fields: [CSVField], layout: Layout, into row: UnsafeMutablePointer<Float>, codes: inout TextCodes
  ) throws(DatasetError) -> RowCells {
    let header = layout.header
    var cells = RowCells()
    for (column, field) in fields.enumerated() {
      switch layout.roles[column] {
      case .feature(let slot):
        if isMissing(field, trimmed: true) {
          cells.dropped = try missingCell(field, column: column, header: header, isFeature: true) || cells.dropped
          codes.missingCounts[column] += 1
          row[slot] = .nan
        } else {
          row[slot] = try feature(
            in: field, column: column, header: header, encoding: layout.encoding, featureIndex: slot)
        }
      case .categorical(let slot):
        if isMissing(field, trimmed: false) {
          cells.dropped = try missingCell(field, column: column, header: header, isFeature: true) || cells.dropped
          codes.missingCounts[column] += 1
          row[slot] = .nan
        } else {
          row[slot] = try level(in: field, column: column, layout: layout, slot: slot, codes: &codes)
        }
      case .label:
        if isMissing(field, trimmed: false) {
          cells.dropped = try missingCell(field, column: column, header: header, isFeature: false, isLabel: true) || cells.dropped
          codes.missingCounts[column] += 1
        } else {
          cells.label = codes.labels.index(of: try label(in: field, column: column, header: header))
        }
      case .weight:
        if isMissing(field, trimmed: true) {
          cells.dropped = try missingCell(field, column: column, header: header, isFeature: false) || cells.dropped
          codes.missingCounts[column] += 1
        } else {
          cells.weight = try weight(in: field, column: column, header: header)
        }
      case .skipped:
        break
      }
    }
    return cells
  }

  /// A categorical cell's level code among `codes` (order of first appearance).
  /// - Throws: invalid UTF-8; a number in a column inferred to hold text; more levels than
  ///   `schema.maxLevels`.
  func level(
    in field: CSVField, column: Int, layout: Layout, slot: Int, codes: inout TextCodes
  ) throws(DatasetError) -> Float {
    guard let text = text(of: field) else {
      throw failure(.invalidUTF8, field, column, layout.header)
    }
    if layout.inferredCategorical[slot], case .value = number(in: field) {
      throw failure(.numberInTextColumn, field, column, layout.header)
    }
    let code = codes.levels[slot].index(of: text)
    if schema.table == nil && codes.levels[slot].names.count > schema.maxLevels {
      throw failure(.tooManyLevels(limit: schema.maxLevels), field, column, layout.header)
    }
    return Float(code)
  }

  /// Whether the field is missing: empty (after trimming spaces and tabs when `trimmed`),
  /// or a missing-value token.
  func isMissing(_ field: CSVField, trimmed: Bool) -> Bool {
    var start = field.start
    var end = field.end
    if trimmed {
      while start < end && (bytes[start] == 0x20 || bytes[start] == 0x09) { start += 1 }
      while end > start && (bytes[end - 1] == 0x20 || bytes[end - 1] == 0x09) { end -= 1 }
    }
    guard start < end else { return true }
    return isMissingToken(start..<end, escaped: field.hasEscapedQuotes)
  }

  private func isMissingToken(_ field: CSVField, trimmed: Bool) -> Bool {
    !isEmpty(field, trimmed: trimmed) && isMissing(field, trimmed: trimmed)
  }

  private func isEmpty(_ field: CSVField, trimmed: Bool) -> Bool {
    var start = field.start
    if trimmed { while start < field.end && (bytes[start] == 0x20 || bytes[start] == 0x09) { start += 1 } }
    return start == field.end
  }

  private func isMissingToken(_ span: Range<Int>, escaped: Bool) -> Bool {
    guard !escaped else { return false }  // no token holds a quote
    let base = bytes.baseAddress!
    return missingTokens.contains { token in
      token.count == span.count
        && token.withUnsafeBytes { memcmp($0.baseAddress!, base + span.lowerBound, span.count) == 0 }
    }
  }

  /// What a missing cell does under the schema's rule: true when its row is dropped.
  /// - Throws: under `.error`, and for a label or weight under `.mean`.
  private func missingCell(
    _ field: CSVField, column: Int, header: [String], isFeature: Bool, isLabel: Bool = false
  ) throws(DatasetError) -> Bool {
    switch schema.missing {
    case .drop: return true
    case .mean where isFeature: return false
    default:
      let empty = isEmpty(field, trimmed: true)
      throw failure(empty ? (isLabel ? .emptyLabel : .emptyCell) : .missingValue, field, column, header)
    }
  }

  /// The dataset from rows already read, through `TableAssembler` when the layout needs it
  /// (else as read); nil when the rows' levels are too many (the serial reader then names
  /// the cell). Classes are sorted by `ClassOrder`. Cost: O(rows), or O(rows · features)
  /// when assembled.
  func makeDataset(
    _ rows: RawRows, layout: Layout, executor: ShardedExecutor = ShardedExecutor(threadCount: 1),
    held: Range<Int>? = nil, processes: any ProcessGroup = SingleProcess()
  ) throws(DatasetError) -> Dataset? {
    let labelName = layout.labelColumn.map { layout.header[$0] } ?? schema.labelColumn ?? "label"
    var interner = LabelInterner()
    for name in rows.labelNames { _ = interner.index(of: name) }
    let (classNames, remap) = interner.sortedClasses()
    // A dropped row's label may be a placeholder 0 with no names at all.
    let labels = rows.labels.map { remap.indices.contains(Int($0)) ? remap[Int($0)] : 0 }
    guard needsAssembly else {
      return Dataset(
        features: rows.matrix, encoding: layout.encoding, labels: labels,
        classNames: classNames, featureNames: layout.featureNames, labelName: labelName,
        rowWeights: rows.weights, table: plainTable(layout))
    }
    let assembler = TableAssembler(
      layout: layout, schema: schema, file: file, executor: executor, held: held, processes: processes)
    return try assembler.assemble(
      rows, labels: labels, classNames: classNames, labelName: labelName)
  }

  /// The table of numeric columns read strictly: it records the columns training left out
  /// (so scoring data may hold them) and the missing-value markers asked for.
  private func plainTable(_ layout: Layout) -> TableEncoding? {
    guard schema.featureNames == nil else { return nil }
    let ignored = layout.roles.indices.filter { layout.roles[$0] == .skipped }.map { layout.header[$0] }
    return TableEncoding(
      columns: layout.featureNames.map { .numeric($0) }, ignored: ignored,
      missingTokens: schema.missingTokens, missing: schema.missing)
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
