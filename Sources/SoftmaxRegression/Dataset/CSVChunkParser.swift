#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Parses the rows one chunk owns (see `CSVChunkPlan`) straight into the shared matrix,
/// label, weight and drop buffers, at the chunk's own row indices.
///
/// Each row first takes a one-pass path for the common shape (unquoted fields, plain
/// decimals, no spaces, nothing missing): digits are read and converted (to Double, then
/// stored through the layout's `ColumnEncoding`) in the same loop that finds the delimiters.
/// Any other row is re-read from its start with `CSVScanner` and `CSVLoader.readRow`, so the
/// values are the serial reader's. Any error makes `parse` return false; messages come from
/// the serial reader. Labels and levels get chunk-local codes, in order of first appearance
/// (`codes`), which the caller merges. Cost: O(chunk bytes); no allocation per row.
struct CSVChunkParser {
  /// What the loader needs to know about the columns and outputs; shared by all chunks.
  struct Target: @unchecked Sendable {
    // @unchecked: workers write disjoint rows of these buffers (each row belongs to one chunk).
    let bytes: UnsafeRawBufferPointer
    let loader: CSVLoader
    let layout: CSVLoader.Layout
    let matrix: FeatureMatrix
    /// One label per row; written only when the layout has a label column.
    let labels: UnsafeMutablePointer<Int32>
    /// One weight per row; written only when the layout has a weight column.
    let weights: UnsafeMutablePointer<Float>
    /// One flag per row, set when the row is dropped; nil when no row can be.
    let dropped: UnsafeMutablePointer<Bool>?
    /// The layout's `ColumnEncoding` as two arrays, offset then scale, per feature: the hot
    /// loop reads them without bounds checks.
    let encodingValues: UnsafePointer<Double>
    /// Whether a value the field reader returns can be too large to store (see
    /// `ColumnEncoding.mayOverflow`); when not, the hot loop skips the check.
    let checksStoredValues: Bool
  }

  private let target: Target
  private let base: UnsafePointer<UInt8>
  private let end: Int
  private let delimiter: UInt8
  /// Per column: the feature slot of a numeric column (≥ 0), or one of the codes below.
  private let columnCodes: [Int]
  private static let labelCode = -1
  private static let weightCode = -2
  private static let skippedCode = -3
  private static let categoricalCode = -4
  /// Per column: the slot of a categorical column (else 0).
  private let slotOfColumn: [Int]
  /// Whether the layout reads labels, and weights: the target has room for them only then.
  private let readsLabels: Bool, readsWeights: Bool
  private var fields: [CSVField] = []

  /// The codes of the chunk's labels and levels, and its missing cells.
  private(set) var codes: TextCodes
  /// Per column, where some texts' bytes first appeared unquoted, with their code, for
  /// comparing bytes instead of building a string per row.
  private var spanCaches: [SpanCache]

  init(target: Target) {
    self.target = target
    base = target.bytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
    end = target.bytes.count
    delimiter = target.layout.delimiter
    columnCodes = target.layout.roles.map { role in
      switch role {
      case .feature(let index): index
      case .categorical: Self.categoricalCode
      case .label: Self.labelCode
      case .weight: Self.weightCode
      case .skipped: Self.skippedCode
      }
    }
    slotOfColumn = target.layout.roles.map { if case .categorical(let slot) = $0 { slot } else { 0 } }
    readsLabels = target.layout.roles.contains(.label)
    readsWeights = target.layout.roles.contains(.weight)
    codes = TextCodes(layout: target.layout)
    spanCaches = [SpanCache](repeating: SpanCache(), count: target.layout.roles.count)
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
      target.dropped?[rowIndex] = false
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
  /// (or invalid, or has a missing cell), having written nothing that the general path will
  /// not overwrite.
  @inline(__always)
  private mutating func parseSimpleRow(
    at start: Int, into row: UnsafeMutablePointer<Float>, rowIndex: Int
  ) -> Int? {
    var position = start
    let delimiter = self.delimiter
    let lastColumn = columnCodes.count - 1
    let offsets = target.encodingValues
    let scales = offsets + target.matrix.featureCount
    // One test per row, not a branch per value: a value too large to store sends the row to
    // the general path, which gives the located error.
    var allFinite = true
    for column in 0...lastColumn {
      let code = columnCodes[column]
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
          if byte == delimiter || CSVChunkPlan.isLineBreak(byte) { break }
          if byte == UInt8(ascii: "\"") || byte == 0 { return nil }
          position += 1
        }
        if code == Self.labelCode {
          guard let label = textCode(fieldStart..<position, column: column) else { return nil }
          target.labels[rowIndex] = label
        } else if code == Self.categoricalCode {
          guard let level = textCode(fieldStart..<position, column: column) else { return nil }
          row[slotOfColumn[column]] = Float(level)
        }
      }
      if column < lastColumn {
        guard position < end && base[position] == delimiter else { return nil }
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

  /// The chunk-local code of the unquoted label or level at `span`, interning it on first
  /// sight; nil if the general path must read it (a missing cell, or an invalid one).
  private mutating func textCode(_ span: Range<Int>, column: Int) -> Int32? {
    if let code = spanCaches[column].code(of: span, in: base) { return code }
    let field = CSVField(
      start: span.lowerBound, end: span.upperBound, isQuoted: false, hasEscapedQuotes: false,
      line: 0)
    guard !target.loader.isMissing(field, trimmed: false) else { return nil }
    let layout = target.layout
    let code: Int32
    if columnCodes[column] == Self.labelCode {
      guard let name = try? target.loader.label(in: field, column: column, header: layout.header)
      else { return nil }
      code = codes.labels.index(of: name)
    } else {
      // The general rules (UTF-8, numbers in a text column, the level limit) on first sight.
      guard
        let level = try? target.loader.level(
          in: field, column: column, layout: layout, slot: slotOfColumn[column], codes: &codes)
      else { return nil }
      code = Int32(level)
    }
    spanCaches[column].remember(span, code: code, in: base)
    return code
  }

  // MARK: - The general path

  /// Parses one row with the serial reader's scanner and field rules; nil on any error.
  private mutating func parseGeneralRow(
    at start: Int, into row: UnsafeMutablePointer<Float>, rowIndex: Int
  ) -> Int? {
    var scanner = CSVScanner(bytes: target.bytes, startingAt: start, delimiter: delimiter)
    guard (try? scanner.nextRow(into: &fields)) != nil, fields.count == columnCodes.count,
      let cells = try? target.loader.readRow(fields, layout: target.layout, into: row, codes: &codes)
    else {
      return nil
    }
    if readsLabels { target.labels[rowIndex] = cells.label }
    if readsWeights { target.weights[rowIndex] = cells.weight }
    if cells.dropped {
      guard let dropped = target.dropped else { return nil }
      dropped[rowIndex] = true
    }
    return scanner.position
  }
}

/// Where each text's bytes first appeared, with its code: a label or level seen before is
/// recognised by hashing and comparing its bytes (the last match first), never by building a
/// string. Open addressing, grown to stay at most half full.
struct SpanCache {
  private var starts: [Int] = [Int](repeating: -1, count: 64)
  private var lengths: [Int] = [Int](repeating: 0, count: 64)
  private var codes: [Int32] = [Int32](repeating: 0, count: 64)
  private var count = 0
  private var last = -1

  mutating func code(of span: Range<Int>, in base: UnsafePointer<UInt8>) -> Int32? {
    if last >= 0 && matches(last, span, base) { return codes[last] }
    let mask = starts.count - 1
    var slot = Self.hash(span, base) & mask
    while starts[slot] >= 0 {
      if matches(slot, span, base) {
        last = slot
        return codes[slot]
      }
      slot = (slot + 1) & mask
    }
    return nil
  }

  mutating func remember(_ span: Range<Int>, code: Int32, in base: UnsafePointer<UInt8>) {
    if 2 * (count + 1) > starts.count { grow(base) }
    insert(start: span.lowerBound, length: span.count, code: code, base)
  }

  private mutating func insert(start: Int, length: Int, code: Int32, _ base: UnsafePointer<UInt8>) {
    let mask = starts.count - 1
    var slot = Self.hash(start..<start + length, base) & mask
    while starts[slot] >= 0 { slot = (slot + 1) & mask }
    (starts[slot], lengths[slot], codes[slot]) = (start, length, code)
    count += 1
    last = slot
  }

  private mutating func grow(_ base: UnsafePointer<UInt8>) {
    let old = (starts, lengths, codes)
    starts = [Int](repeating: -1, count: 2 * old.0.count)
    lengths = [Int](repeating: 0, count: starts.count)
    codes = [Int32](repeating: 0, count: starts.count)
    count = 0
    for slot in old.0.indices where old.0[slot] >= 0 {
      insert(start: old.0[slot], length: old.1[slot], code: old.2[slot], base)
    }
  }

  private func matches(_ slot: Int, _ span: Range<Int>, _ base: UnsafePointer<UInt8>) -> Bool {
    lengths[slot] == span.count && memcmp(base + starts[slot], base + span.lowerBound, span.count) == 0
  }

  /// FNV-1a over the bytes.
  private static func hash(_ span: Range<Int>, _ base: UnsafePointer<UInt8>) -> Int {
    var value: UInt64 = 0xcbf2_9ce4_8422_2325
    for position in span {
      value = (value ^ UInt64(base[position])) &* 0x100_0000_01b3
    }
    return Int(truncatingIfNeeded: value ^ (value >> 29))
  }
}
