/// Reads a CSV file's records one at a time, each with its raw bytes and its fields, without
/// parsing values: for tools that pass rows through unchanged (`StratifiedSplit`) or pick a
/// few columns as text (`Dataset.columnText`).
///
/// Same syntax rules and errors as the loader (`CSVScanner`; byte-order marks skipped, UTF-16
/// refused, a row with another field count than the header is an error naming its line).
/// Cost: one sequential pass over the mapped bytes, O(fields) memory.
struct CSVRecordReader {
  let bytes: UnsafeRawBufferPointer
  let file: String
  /// The header's names, or `c1…cN` when the file has none.
  let header: [String]
  /// The header row's raw bytes with its line break (empty when the file has no header).
  let headerBytes: Range<Int>
  /// The fields of the last record `next()` returned.
  private(set) var fields: [CSVField] = []
  private var scanner: CSVScanner

  /// One record: its first physical line and its raw bytes, line break included (the last
  /// record of a file without a final line break has none).
  struct Record {
    var line: Int
    var bytes: Range<Int>
  }

  init(bytes: UnsafeRawBufferPointer, file: String, delimiter: UInt8, hasHeader: Bool) throws(DatasetError) {
    self.bytes = bytes
    self.file = file
    let start = try CSVLoader.textStart(bytes, file: file, delimiter: delimiter)
    scanner = CSVScanner(bytes: bytes, startingAt: start, delimiter: delimiter)
    var first: [CSVField] = []
    guard try Self.scan(&scanner, into: &first, bytes: bytes, file: file, header: []) != nil else {
      throw DatasetError(file: file, reason: .emptyFile)
    }
    if hasHeader {
      var names: [String] = []
      for (index, field) in first.enumerated() {
        guard let name = Self.text(of: field, in: bytes) else {
          throw DatasetError(file: file, line: field.line, column: index + 1, reason: .invalidUTF8)
        }
        names.append(name)
      }
      header = names
      headerBytes = Self.rowStart(first)..<scanner.position
    } else {
      header = first.indices.map { "c\($0 + 1)" }
      headerBytes = start..<start
      scanner = CSVScanner(bytes: bytes, startingAt: start, delimiter: delimiter)
    }
  }

  /// The next record, or nil at the end of the file.
  mutating func next() throws(DatasetError) -> Record? {
    guard let line = try Self.scan(&scanner, into: &fields, bytes: bytes, file: file, header: header) else {
      return nil
    }
    guard fields.count == header.count else {
      throw DatasetError(file: file, line: line, reason: .raggedRow(expected: header.count, found: fields.count))
    }
    return Record(line: line, bytes: Self.rowStart(fields)..<scanner.position)
  }

  /// The text of field `index` (0-based) of the last record, `""` collapsed.
  func text(ofField index: Int) throws(DatasetError) -> String {
    let field = fields[index]
    guard let text = Self.text(of: field, in: bytes) else {
      throw DatasetError(
        file: file, line: field.line, column: index + 1, columnName: header[index], reason: .invalidUTF8)
    }
    return text
  }

  /// The raw bytes of field `index` (0-based) of the last record, as they are in the file.
  func rawBytes(ofField index: Int) -> UnsafeRawBufferPointer {
    UnsafeRawBufferPointer(rebasing: bytes[fields[index].start..<fields[index].end])
  }

  /// The column index of each name in `names`, or an error naming the first missing one and
  /// the header's columns.
  func columnIndices(of names: [String]) throws(DatasetError) -> [Int] {
    var indices: [Int] = []
    for name in names {
      guard let index = header.firstIndex(of: name) else {
        throw DatasetError(file: file, line: 1, columnName: name, reason: .noSuchColumn(available: header))
      }
      indices.append(index)
    }
    return indices
  }

  private static func rowStart(_ fields: [CSVField]) -> Int {
    fields[0].start - (fields[0].isQuoted ? 1 : 0)
  }

  private static func text(of field: CSVField, in bytes: UnsafeRawBufferPointer) -> String? {
    let raw = UnsafeRawBufferPointer(rebasing: bytes[field.start..<field.end])
    guard let text = String(validating: raw, as: UTF8.self) else { return nil }
    return field.hasEscapedQuotes ? text.replacingOccurrences(of: "\"\"", with: "\"") : text
  }

  private static func scan(
    _ scanner: inout CSVScanner, into fields: inout [CSVField], bytes: UnsafeRawBufferPointer, file: String,
    header: [String]
  ) throws(DatasetError) -> Int? {
    do {
      return try scanner.nextRow(into: &fields)
    } catch {
      throw error.located(in: bytes, file: file, header: header)
    }
  }
}
