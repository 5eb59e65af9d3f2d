/// One field of a CSV row, as byte offsets into the scanned buffer.
struct CSVField {
  /// The first byte of the content (after an opening quote).
  var start: Int
  /// One past the last byte of the content (before a closing quote).
  var end: Int
  /// Whether the field was quoted; if so `""` inside it stands for one `"`.
  var isQuoted: Bool
  /// Whether the content holds `""` escapes that must be collapsed.
  var hasEscapedQuotes: Bool
  /// The physical line (1-based) on which the field starts.
  var line: Int
}

/// A syntax error found while cutting the bytes into rows and fields.
struct CSVSyntaxError: Error {
  enum Reason {
    case unterminatedQuote
    case textAfterClosingQuote
    case quoteInUnquotedField
    case nulByte
  }
  var reason: Reason
  var line: Int
  /// The 1-based index of the field within its row.
  var fieldIndex: Int
  /// The offending bytes (the field so far), for the message.
  var start: Int
  var end: Int
}

extension CSVSyntaxError {
  /// The error as a `DatasetError` of `file`, naming the column from `header` when known.
  func located(in bytes: UnsafeRawBufferPointer, file: String, header: [String]) -> DatasetError {
    let datasetReason: DatasetError.Reason
    switch reason {
    case .unterminatedQuote: datasetReason = .unterminatedQuote
    case .textAfterClosingQuote: datasetReason = .textAfterClosingQuote
    case .quoteInUnquotedField: datasetReason = .quoteInUnquotedField
    case .nulByte: datasetReason = .nulByte
    }
    let raw = UnsafeRawBufferPointer(rebasing: bytes[start..<end])
    return DatasetError(
      file: file, line: line, column: fieldIndex,
      columnName: header.indices.contains(fieldIndex - 1) ? header[fieldIndex - 1] : nil,
      value: String(decoding: raw, as: UTF8.self), reason: datasetReason)
  }
}

/// Cuts RFC 4180 CSV bytes into rows of fields, counting physical lines.
///
/// Rules: `delimiter` (`,` unless told: tab, `;`, …) separates fields; a field starting with `"` is quoted and may contain `,`,
/// line breaks and `""` (one quote); after a closing quote only `,`, a line break or the
/// end may follow. LF, CRLF and a lone CR each end a line. Empty lines are skipped (a line
/// of spaces is not empty). A NUL byte anywhere is an error. Cost: O(bytes) per full pass,
/// no allocation beyond the caller's field array.
struct CSVScanner {
  private let bytes: UnsafeRawBufferPointer
  private(set) var position: Int
  /// The physical line number of the next unread byte.
  private(set) var line: Int
  /// The byte between fields.
  private let comma: UInt8

  init(
    bytes: UnsafeRawBufferPointer, startingAt position: Int = 0, line: Int = 1,
    delimiter: UInt8 = UInt8(ascii: ",")
  ) {
    self.bytes = bytes
    self.position = position
    self.line = line
    self.comma = delimiter
  }

  private static let quote = UInt8(ascii: "\"")
  private static let newline = UInt8(ascii: "\n")
  private static let carriageReturn = UInt8(ascii: "\r")

  /// Reads the next non-empty row into `fields` (cleared first); returns its first line, or
  /// nil at the end of the input.
  mutating func nextRow(into fields: inout [CSVField]) throws(CSVSyntaxError) -> Int? {
    fields.removeAll(keepingCapacity: true)
    skipEmptyLines()
    guard position < bytes.count else { return nil }
    let rowLine = line
    while true {
      let field = try scanField(index: fields.count + 1)
      fields.append(field)
      if position < bytes.count && bytes[position] == comma {
        position += 1
        continue
      }
      consumeLineBreak()
      return rowLine
    }
  }

  private mutating func skipEmptyLines() {
    while position < bytes.count {
      let byte = bytes[position]
      guard byte == Self.newline || byte == Self.carriageReturn else { return }
      consumeLineBreak()
    }
  }

  /// Consumes one LF, CRLF or CR at `position`, if there is one.
  private mutating func consumeLineBreak() {
    guard position < bytes.count else { return }
    if bytes[position] == Self.carriageReturn {
      position += 1
      if position < bytes.count && bytes[position] == Self.newline { position += 1 }
      line += 1
    } else if bytes[position] == Self.newline {
      position += 1
      line += 1
    }
  }

  private mutating func scanField(index: Int) throws(CSVSyntaxError) -> CSVField {
    let fieldLine = line
    if position < bytes.count && bytes[position] == Self.quote {
      return try scanQuotedField(index: index, line: fieldLine)
    }
    let start = position
    while position < bytes.count {
      let byte = bytes[position]
      if byte == comma || byte == Self.newline || byte == Self.carriageReturn { break }
      if byte == Self.quote || byte == 0 {
        throw CSVSyntaxError(
          reason: byte == 0 ? .nulByte : .quoteInUnquotedField, line: fieldLine,
          fieldIndex: index, start: start, end: position + 1)
      }
      position += 1
    }
    return CSVField(
      start: start, end: position, isQuoted: false, hasEscapedQuotes: false, line: fieldLine)
  }

  private mutating func scanQuotedField(index: Int, line fieldLine: Int) throws(CSVSyntaxError)
    -> CSVField
  {
    position += 1
    let start = position
    var hasEscapes = false
    while true {
      guard position < bytes.count else {
        throw CSVSyntaxError(
          reason: .unterminatedQuote, line: fieldLine, fieldIndex: index,
          start: start, end: min(bytes.count, start + 40))
      }
      let byte = bytes[position]
      if byte == Self.quote {
        if position + 1 < bytes.count && bytes[position + 1] == Self.quote {
          hasEscapes = true
          position += 2
          continue
        }
        break
      }
      if byte == 0 {
        throw CSVSyntaxError(
          reason: .nulByte, line: line, fieldIndex: index, start: start, end: position + 1)
      }
      if byte == Self.carriageReturn {
        line += 1
        if position + 1 < bytes.count && bytes[position + 1] == Self.newline { position += 1 }
      } else if byte == Self.newline {
        line += 1
      }
      position += 1
    }
    let end = position
    position += 1
    if position < bytes.count {
      let next = bytes[position]
      if next != comma && next != Self.newline && next != Self.carriageReturn {
        throw CSVSyntaxError(
          reason: next == 0 ? .nulByte : .textAfterClosingQuote, line: line, fieldIndex: index,
          start: start - 1, end: min(bytes.count, position + 1))
      }
    }
    return CSVField(
      start: start, end: end, isQuoted: true, hasEscapedQuotes: hasEscapes, line: fieldLine)
  }
}
