#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Parses the rows one chunk owns (see `CSVChunkPlan`) straight into the shared matrix,
/// label and weight buffers, at the chunk's own row indices.
///
/// Each row first takes a one-pass path for the common shape (unquoted fields, plain
/// decimals, no spaces): digits are read and converted (to Double, then stored through the
/// layout's `ColumnEncoding`) in the same loop that finds the commas.
/// Any other row is re-read from its start with `CSVScanner` and `CSVLoader`'s field rules, so
/// the values are the serial reader's. Any error makes `parse` return false; messages come
/// from the serial reader. Labels get chunk-local indices, in order of first appearance
/// (`labelNames`), which the caller maps to classes. Cost: O(chunk bytes); no allocation per
/// row.
struct CSVChunkParser {
  /// What the loader needs to know about the columns and outputs; shared by all chunks.
  struct Target: @unchecked Sendable {
    // @unchecked: workers write disjoint rows of these buffers (each row belongs to one chunk).
    let bytes: UnsafeRawBufferPointer
    let loader: CSVLoader
    let layout: CSVLoader.Layout
    let matrix: FeatureMatrix
    let labels: UnsafeMutablePointer<Int32>
    let weights: UnsafeMutablePointer<Float>
    /// The layout's `ColumnEncoding` as two arrays, offset then scale, per feature: the hot
    /// loop reads them without bounds checks.
    let encodingValues: UnsafePointer<Double>
    /// Whether a value the field reader returns can be too large to store (see
    /// `ColumnEncoding.mayOverflow`); when not, the hot loop skips the check.
    let checksStoredValues: Bool
  }

  private let target: Target
  private let encoding: ColumnEncoding
  private let base: UnsafePointer<UInt8>
  private let end: Int
  /// Per column: the feature index (≥ 0), or one of the codes below.
  private let codes: [Int]
  private static let labelCode = -1
  private static let weightCode = -2
  private static let skippedCode = -3
  private var fields: [CSVField] = []

  /// The labels seen, in order of first appearance; index = chunk-local label.
  private(set) var labelNames: [String] = []
  /// Where some labels' bytes first appeared unquoted, with their index, for comparing bytes
  /// instead of building a string per row (the first `maxByteComparedLabels` labels).
  private var labelSpans: [(bytes: Range<Int>, index: Int32)] = []
  private var labelIndexByName: [String: Int32] = [:]
  private var lastSpan = 0
  private static let maxByteComparedLabels = 32

  init(target: Target) {
    self.target = target
    encoding = target.layout.encoding
    base = target.bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
    end = target.bytes.count
    codes = target.layout.roles.map { role in
      switch role {
      case .feature(let index): index
      case .label: Self.labelCode
      case .weight: Self.weightCode
      case .skipped: Self.skippedCode
      }
    }
  }

  /// Parses `chunk`'s rows; true when every row was valid and the rows ended where the next
  /// chunk's rows begin (`nextRowsStart`, the end of the file for the last chunk).
  mutating func parse(_ chunk: CSVChunkPlan.Chunk, nextRowsStart: Int) -> Bool {
    var position = chunk.rowsStart
    let stride = target.matrix.rowStride
    let featureCount = target.matrix.featureCount
    for rowIndex in chunk.firstRow..<chunk.firstRow + chunk.rowCount {
      position = skipLineBreaks(from: position)
      guard position < end else { return false }
      let row = target.matrix.rowPointer(rowIndex)
      (row + featureCount).initialize(repeating: 0, count: stride - featureCount)
      if let next = parseSimpleRow(at: position, into: row, rowIndex: rowIndex) {
        position = next
      } else if let next = parseGeneralRow(at: position, into: row, rowIndex: rowIndex) {
        position = next
      } else {
        return false
      }
    }
    return skipLineBreaks(from: position) == skipLineBreaks(from: nextRowsStart)
  }

  private func skipLineBreaks(from start: Int) -> Int {
    var position = start
    while position < end && CSVChunkPlan.isLineBreak(base[position]) { position += 1 }
    return position
  }

  // MARK: - The one-pass path

  /// Parses a row of unquoted fields and plain decimals; nil if the row is of another shape
  /// (or invalid), having written nothing that the general path will not overwrite.
  @inline(__always)
  private mutating func parseSimpleRow(
    at start: Int, into row: UnsafeMutablePointer<Float>, rowIndex: Int
  ) -> Int? {
    var position = start
    let lastColumn = codes.count - 1
    let offsets = target.encodingValues
    let scales = offsets + target.matrix.featureCount
    // One test per row, not a branch per value: a value too large to store sends the row to
    // the general path, which gives the located error.
    var allFinite = true
    for column in 0...lastColumn {
      let code = codes[column]
      if code >= 0 {
        guard let value = DecimalParser.parseFieldDouble(base, &position, end: end) else { return nil }
        let stored = Float((value - offsets[code]) * scales[code])
        if target.checksStoredValues { allFinite = allFinite && stored.isFinite }
        row[code] = stored
      } else if code == Self.weightCode {
        guard let value = DecimalParser.parseFieldDouble(base, &position, end: end),
          case let weight = Float(value), weight.isFinite, weight >= 0
        else { return nil }
        target.weights[rowIndex] = weight
      } else {
        let fieldStart = position
        while position < end {
          let byte = base[position]
          if byte == UInt8(ascii: ",") || CSVChunkPlan.isLineBreak(byte) { break }
          if byte == UInt8(ascii: "\"") || byte == 0 { return nil }
          position += 1
        }
        if code == Self.labelCode {
          guard let label = labelIndex(fieldStart..<position, column: column) else { return nil }
          target.labels[rowIndex] = label
        }
      }
      if column < lastColumn {
        guard position < end && base[position] == UInt8(ascii: ",") else { return nil }
        position += 1
      } else {
        guard position == end || CSVChunkPlan.isLineBreak(base[position]) else { return nil }
      }
    }
    guard allFinite else { return nil }
    if position < end {
      if base[position] == UInt8(ascii: "\r") && position + 1 < end
        && base[position + 1] == UInt8(ascii: "\n")
      {
        position += 1
      }
      position += 1
    }
    return position
  }

  /// The chunk-local index of the unquoted label at `span`, interning it on first sight;
  /// nil if it is not a valid label.
  private mutating func labelIndex(_ span: Range<Int>, column: Int) -> Int32? {
    if lastSpan < labelSpans.count && bytesEqual(labelSpans[lastSpan].bytes, span) {
      return labelSpans[lastSpan].index
    }
    for (position, known) in labelSpans.enumerated() where bytesEqual(known.bytes, span) {
      lastSpan = position
      return known.index
    }
    let field = CSVField(
      start: span.lowerBound, end: span.upperBound, isQuoted: false, hasEscapedQuotes: false,
      line: 0)
    guard let name = try? target.loader.label(in: field, column: column, header: target.layout.header)
    else { return nil }
    let index = intern(name)
    if labelSpans.count < Self.maxByteComparedLabels {
      labelSpans.append((span, index))
      lastSpan = labelSpans.count - 1
    }
    return index
  }

  private func bytesEqual(_ lhs: Range<Int>, _ rhs: Range<Int>) -> Bool {
    lhs.count == rhs.count && memcmp(base + lhs.lowerBound, base + rhs.lowerBound, lhs.count) == 0
  }

  private mutating func intern(_ name: String) -> Int32 {
    if let index = labelIndexByName[name] { return index }
    let index = Int32(labelNames.count)
    labelIndexByName[name] = index
    labelNames.append(name)
    return index
  }

  // MARK: - The general path

  /// Parses one row with the serial reader's scanner and field rules; nil on any error.
  private mutating func parseGeneralRow(
    at start: Int, into row: UnsafeMutablePointer<Float>, rowIndex: Int
  ) -> Int? {
    var scanner = CSVScanner(bytes: target.bytes, startingAt: start)
    guard (try? scanner.nextRow(into: &fields)) != nil, fields.count == codes.count else {
      return nil
    }
    let header = target.layout.header
    let loader = target.loader
    for (column, field) in fields.enumerated() {
      let code = codes[column]
      if code >= 0 {
        guard
          let value = try? loader.feature(
            in: field, column: column, header: header, encoding: encoding, featureIndex: code)
        else { return nil }
        row[code] = value
      } else if code == Self.weightCode {
        guard let value = try? loader.weight(in: field, column: column, header: header)
        else { return nil }
        target.weights[rowIndex] = value
      } else if code == Self.labelCode {
        guard let name = try? loader.label(in: field, column: column, header: header)
        else { return nil }
        target.labels[rowIndex] = intern(name)
      }
    }
    return scanner.position
  }
}
