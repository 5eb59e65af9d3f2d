import Foundation

extension Dataset {
  /// What a CSV loader expects of the columns.
  public struct CSVSchema: Sendable {
    /// The label column's name; nil means the last column.
    public var labelColumn: String?
    /// When set, exactly these feature columns (matched by name, in any order) plus the label
    /// column are expected; features are stored in this order. Used to read data for a model.
    public var featureNames: [String]?
    /// When set, labels must be among these classes (in this class order).
    public var classNames: [String]?
    /// Whether rows must have a label column (training, evaluation) or may lack one
    /// (prediction, where a label column present is skipped without validation).
    public var requiresLabels: Bool
    /// A column of per-row weights (finite, ≥ 0), read into `Dataset.rowWeights` and not
    /// used as a feature. Default nil.
    public var weightColumn: String? = nil

    /// The schema for training: label by name or the last column, every other column a feature.
    public static func training(labelColumn: String? = nil, weightColumn: String? = nil) -> CSVSchema {
      CSVSchema(
        labelColumn: labelColumn, featureNames: nil, classNames: nil, requiresLabels: true,
        weightColumn: weightColumn)
    }

    /// The schema for data scored by an existing model.
    public static func matching(
      featureNames: [String], classNames: [String], labelColumn: String, requiresLabels: Bool
    ) -> CSVSchema {
      CSVSchema(
        labelColumn: labelColumn, featureNames: featureNames, classNames: classNames,
        requiresLabels: requiresLabels)
    }
  }

  /// Loads a CSV file: a header row, numeric feature columns and one label column.
  ///
  /// Input rules (RFC 4180): `,` delimiter, `"` quoting with `""` escapes, LF/CRLF/CR line
  /// ends, one leading UTF-8 BOM ignored, empty lines skipped. Features are decimals
  /// (`DecimalParser`) with surrounding spaces trimmed; labels are kept exactly as written.
  /// Cost: two passes over the bytes; memory: the mapped file plus the Float32 matrix.
  /// - Parameters:
  ///   - path: the file to read.
  ///   - schema: which column is the label, and what a model expects.
  ///   - progress: called now and then while rows are parsed, with the bytes done and the
  ///     file's size, and once at the end.
  /// - Throws: `DatasetError` naming the file, physical line, column and value.
  public init(
    csvAt path: String, schema: CSVSchema = .training(),
    progress: ((_ bytesDone: Int, _ totalBytes: Int) -> Void)? = nil
  ) throws(DatasetError) {
    var status = stat()
    if stat(path, &status) == 0 && (status.st_mode & S_IFMT) != S_IFREG {
      throw DatasetError(file: path, reason: .notARegularFile)
    }
    let data: Data
    do {
      data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
    } catch {
      throw DatasetError(file: path, reason: .unreadableFile(Self.describe(error)))
    }
    let result = data.withUnsafeBytes { bytes in
      Result { () throws(DatasetError) -> Dataset in
        var loader = CSVLoader(bytes: bytes, file: path, schema: schema)
        loader.progress = progress
        return try loader.load()
      }
    }
    self = try result.get()
  }

  /// Parses CSV text held in memory, with the same rules and errors as `init(csvAt:schema:)`.
  public init(csvText: String, name: String = "<memory>", schema: CSVSchema = .training())
    throws(DatasetError)
  {
    var text = csvText
    let result = text.withUTF8 { buffer in
      Result { () throws(DatasetError) -> Dataset in
        var loader = CSVLoader(bytes: UnsafeRawBufferPointer(buffer), file: name, schema: schema)
        return try loader.load()
      }
    }
    self = try result.get()
  }

  private static func describe(_ error: any Error) -> String {
    let nsError = error as NSError
    if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError,
      underlying.domain == NSPOSIXErrorDomain, let code = Int32(exactly: underlying.code)
    {
      return String(cString: strerror(code))
    }
    return nsError.localizedDescription
  }
}
