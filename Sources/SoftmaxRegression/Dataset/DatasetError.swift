import Foundation

/// Why a data file or in-memory table was rejected, and where.
///
/// Locations are physical lines (the header is line 1; every line break counts, also those
/// inside quoted fields) and 1-based column numbers. `description` reads like
/// `iris.csv, line 7, column 3 (petal_length): not a number: "abc"`.
public struct DatasetError: Error, Equatable, Sendable, CustomStringConvertible, LocalizedError {
  /// What is wrong.
  public enum Reason: Equatable, Sendable {
    case unreadableFile(String)
    case emptyFile
    case noDataRows
    case raggedRow(expected: Int, found: Int)
    case emptyCell
    case notANumber
    case valueOutOfRange
    case invalidUTF8
    case nulByte
    case utf16
    case unterminatedQuote
    case textAfterClosingQuote
    case quoteInUnquotedField
    case emptyLabel
    case invalidWeight
    case weightColumnIsLabel
    case notARegularFile
    case unknownWeightColumn(available: [String])
    case tooFewClasses(Int)
    case unknownLabelColumn(available: [String])
    case duplicateColumnName(firstColumn: Int)
    case missingFeatureColumn
    case unexpectedColumn
    case missingLabelColumn
    case unknownClass(known: [String])
    case inconsistentShape(String)
    /// A binary cache that is not one, is truncated, damaged or of another version.
    case invalidCache(String)
    /// A valid binary cache that does not fit what was asked of it (label, weights, model).
    case cacheMismatch(String)
    /// The memory for the data could not be allocated: the size and the limits in force.
    case outOfMemory(String)
    /// The caller asked the load to stop (for example, on Ctrl-C).
    case cancelled
    /// Another process reading the same file with this one (rank `rank`) found it
    /// unusable; that process reports why.
    case failedInAnotherProcess(rank: Int)
    /// A missing-value token (`NA`, `?`, …) where the rule is `MissingValuePolicy.error`,
    /// or a missing label or weight where it is `.mean`.
    case missingValue
    /// A number in a column whose first rows held only text (so read as categorical).
    case numberInTextColumn
    /// A categorical column with more distinct values than allowed.
    case tooManyLevels(limit: Int)
    /// A schema option (ignored, selected or categorical columns) names a column the file
    /// lacks.
    case unknownColumn(option: Dataset.Schema.Option, available: [String])
    /// No feature column is left once the label, weight and ignored columns are set aside.
    case noFeatureColumns(columns: Int, delimiter: UInt8)
    /// `MissingValuePolicy.drop` left no row.
    case everyRowDropped(Int)
    /// A delimiter that cannot separate CSV fields (a quote, a line break, NUL, non-ASCII).
    case unusableDelimiter
    /// A column asked for by name (`columnName`) is not in the header.
    case noSuchColumn(available: [String])
  }

  /// The file (its path as given), or "<memory>" for in-memory data.
  public var file: String
  /// The physical line, 1-based, when the error belongs to one.
  public var line: Int?
  /// The column, 1-based, when the error belongs to one.
  public var column: Int?
  /// The header name of that column, when known.
  public var columnName: String?
  /// The offending text, when there is one.
  public var value: String?
  /// What is wrong.
  public var reason: Reason

  /// An error at the given place; only `file` and `reason` are required.
  public init(
    file: String, line: Int? = nil, column: Int? = nil, columnName: String? = nil,
    value: String? = nil, reason: Reason
  ) {
    self.file = file
    self.line = line
    self.column = column
    self.columnName = columnName
    self.value = value
    self.reason = reason
  }

  /// The message: `FILE, line L, column C (NAME): REASON: "VALUE"`; schema options are
  /// named as the library spells them (`Schema.missing`).
  public var description: String { description(naming: .library) }

  /// The message, with schema options named as `style` says: the library's properties, or
  /// the command-line flags that set them (`--missing`).
  public func description(naming style: Dataset.Schema.Option.Style) -> String {
    var location = file
    if let line { location += ", line \(line)" }
    if let column {
      location += ", column \(column)"
      if let columnName { location += " (\(columnName))" }
    } else if let columnName {
      location += ", column \(columnName)"
    }
    var message = "\(location): \(reasonText(style))"
    if let value { message += ": \(Self.quoted(value))" }
    return message
  }

  /// The same message as `description`, for `LocalizedError`.
  public var errorDescription: String? { description }

  private func reasonText(_ style: Dataset.Schema.Option.Style) -> String {
    func name(_ option: Dataset.Schema.Option) -> String { option.name(style) }
    switch reason {
    case .unreadableFile(let why): return "cannot read the file (\(why))"
    case .emptyFile: return "the file is empty"
    case .noDataRows: return "no data rows after the header"
    case .raggedRow(let expected, let found): return "expected \(expected) fields, found \(found)"
    case .emptyCell:
      return "empty cell (a missing value: \(name(.missing)) mean imputes it, drop drops its row)"
    case .notANumber:
      return "not a number (a column of text levels: \(name(.categorical)) or \(name(.ignore)); "
        + "a missing-value marker: \(name(.missingTokens)))"
    case .valueOutOfRange:
      return "value out of range: beyond Double's ±1.8e308, a weight beyond Float32's ±3.4e38, "
        + "or too far from the column's first \(ColumnEncoding.sampleRowCount) values to store in Float32"
    case .invalidUTF8: return "invalid UTF-8"
    case .nulByte: return "NUL byte in the data"
    case .utf16:
      return "the file is UTF-16 (it starts with a UTF-16 byte-order mark); only UTF-8 is read: "
        + "convert it, for example with 'iconv -f UTF-16 -t UTF-8'"
    case .unterminatedQuote: return "quoted field is never closed"
    case .textAfterClosingQuote: return "text after the closing quote"
    case .quoteInUnquotedField: return "quote inside an unquoted field"
    case .emptyLabel: return "empty label"
    case .invalidWeight: return "a row weight must be a finite number ≥ 0"
    case .weightColumnIsLabel: return "the weight column cannot also be the label column"
    case .notARegularFile:
      return "not a regular file (a directory, a device or a pipe); to read a pipe, save it to a file first"
    case .unknownWeightColumn(let available):
      return "no column named as the weight column; columns are \(DatasetError.Reason.list(available))"
    case .tooFewClasses(let count):
      return "found \(count) class\(count == 1 ? "" : "es"); training needs at least 2"
    case .unknownLabelColumn(let available):
      return "no column named as the label; columns are \(DatasetError.Reason.list(available))"
    case .duplicateColumnName(let first): return "column name repeats column \(first)"
    case .missingFeatureColumn: return "the model's feature column is missing"
    case .unexpectedColumn: return "column is not a feature of the model"
    case .missingLabelColumn: return "the label column is missing"
    case .unknownClass(let known):
      return "label is not a class of the model (classes: \(DatasetError.Reason.list(known)))"
    case .inconsistentShape(let what): return what
    case .invalidCache(let why): return "not a usable dataset cache: \(why)"
    case .cacheMismatch(let why): return why
    case .outOfMemory(let why): return why
    case .cancelled: return "reading stopped before the end, as asked"
    case .failedInAnotherProcess(let rank): return "process \(rank), reading the same file, found it unusable"
    case .missingValue:
      return "missing value (\(name(.missing)) mean imputes a feature, drop drops its row; "
        + "\(name(.missingTokens)) sets the markers)"
    case .numberInTextColumn:
      return "a number in a column of text (its first \(ColumnEncoding.sampleRowCount) rows hold mostly text, "
        + "so it is categorical); \(name(.categorical)) reads its numbers as levels too"
    case .tooManyLevels(let limit):
      return "more than \(limit) distinct values in a categorical column: an id or a name? "
        + "\(name(.ignore)) leaves it out (or raise \(name(.maxLevels)))"
    case .unknownColumn(let option, let available):
      let option = name(option).replacingOccurrences(of: " NAME", with: "")
      return "\(option) names no column of the file; columns are \(DatasetError.Reason.list(available))"
    case .noFeatureColumns(let columns, let delimiter):
      let separator = delimiter == 9 ? "tab" : "'\(UnicodeScalar(delimiter))'"
      return "no feature column: the \(columns) column\(columns == 1 ? " is" : "s are") the label, the weight "
        + "or ignored (fields split on \(separator); another delimiter? \(name(.delimiter)))"
    case .everyRowDropped(let rows):
      return "all \(rows) rows have a missing value, so \(name(.missing)) drop left none"
    case .unusableDelimiter: return "unusable delimiter (a quote, a line break, NUL or a non-ASCII byte)"
    case .noSuchColumn(let available): return "no such column; columns are \(DatasetError.Reason.list(available))"
    }
  }

  /// The value in double quotes, escaped and cut to 60 characters.
  static func quoted(_ text: String) -> String {
    var escaped = ""
    for scalar in text.unicodeScalars.prefix(60) {
      switch scalar {
      case "\"": escaped += "\\\""
      case "\n": escaped += "\\n"
      case "\r": escaped += "\\r"
      case "\t": escaped += "\\t"
      case "\0": escaped += "\\0"
      default: escaped.unicodeScalars.append(scalar)
      }
    }
    if text.unicodeScalars.count > 60 { escaped += "…" }
    return "\"\(escaped)\""
  }
}

extension DatasetError {
  /// This error, said of `file`: an allocation fails before its file is known, and a
  /// decompressed copy's errors belong to the compressed file.
  public func located(in file: String) -> DatasetError {
    var copy = self
    copy.file = file
    return copy
  }
}

extension DatasetError.Reason {
  /// At most 20 names, then how many more: a file with a million columns must not give a
  /// megabytes-long message.
  static func list(_ names: [String]) -> String {
    let shown = names.prefix(20).joined(separator: ", ")
    return names.count > 20 ? shown + ", … (\(names.count - 20) more)" : shown
  }
}

extension DatasetError.Reason {
  /// Whether this is `.unknownClass`, whatever the classes listed.
  var isUnknownClass: Bool {
    if case .unknownClass = self { return true }
    return false
  }
}
