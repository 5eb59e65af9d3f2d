import Foundation

/// The model file format, version 1 or 2: one JSON object.
///
///     {
///       "format": "softmax-regression-model",
///       "version": 1,
///       "label": "species",                      // the label column's name
///       "classes": ["setosa", ...],              // K class names, in class-index order
///       "features": ["sepal_length", ...],       // D feature names, in weight order
///       "weights": [[w_00, ..., w_0(D-1)], ...], // K rows of D numbers
///       "bias": [b_0, ...],                      // K numbers
///       "standardization": {"mean": [...], "scale": [...]}   // or absent
///       "inputs": {...}                          // version 2 only: a `TableEncoding`
///     }
///
/// Version 2 adds `inputs`, how raw columns become the features (categorical levels,
/// missing-value fills, ignored columns); a model of numeric columns read strictly is
/// still written as version 1, byte for byte as before. Both versions are read.
///
/// Numbers are written in Swift's shortest round-trip form, so a read model equals the
/// written one bit for bit, and keys are sorted, so equal models give identical bytes.
struct ModelFile: Codable {
  static let formatName = "softmax-regression-model"
  static let currentVersion = 2
  static let readableVersions = 1...2

  var format: String
  var version: Int
  var label: String
  var classes: [String]
  var features: [String]
  var weights: [[Float]]
  var bias: [Float]
  var standardization: Standardization?
  var inputs: TableEncoding?

  /// The weights and bias read as Double, to locate a value Float32 cannot hold.
  struct Parameters: Decodable {
    var weights: [[Double]]?
    var bias: [Double]?

    /// `weights[k][j] = v` or `bias[k] = v` for the first number beyond Float32's range, or
    /// nil (none, or the file does not decode even so).
    static func firstBeyondFloat(in data: Data, decoder: JSONDecoder) -> String? {
      guard let numbers = try? decoder.decode(Parameters.self, from: data) else { return nil }
      let limit = Double(Float.greatestFiniteMagnitude)
      for (row, values) in (numbers.weights ?? []).enumerated() {
        if let column = values.firstIndex(where: { abs($0) > limit }) {
          return "weights[\(row)][\(column)] = \(values[column])"
        }
      }
      if let bias = numbers.bias, let index = bias.firstIndex(where: { abs($0) > limit }) {
        return "bias[\(index)] = \(bias[index])"
      }
      return nil
    }
  }

  /// Just enough to check the version before decoding the rest.
  struct Header: Decodable {
    var format: String?
    var version: Int?
  }
}

extension SoftmaxModel {
  /// The model as the bytes of a model file (see `ModelFile`).
  public func fileBytes() throws(ModelError) -> [UInt8] {
    let file = fileRecord
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    do {
      return Array(try encoder.encode(file)) + [UInt8(ascii: "\n")]
    } catch {
      throw .writeFailed("cannot encode the model: \(error)")
    }
  }

  /// The model as the model file's object.
  var fileRecord: ModelFile {
    ModelFile(
      format: ModelFile.formatName, version: table.isPlain ? 1 : ModelFile.currentVersion, label: labelName,
      classes: classNames, features: featureNames,
      weights: (0..<classCount).map {
        Array(weights[($0 * featureCount)..<(($0 + 1) * featureCount)])
      },
      bias: bias, standardization: standardization, inputs: table.isPlain ? nil : table)
  }

  /// Writes the model to `path` atomically (temporary file, fsync, rename): the path then
  /// holds either its old content or the whole model, never part of it.
  public func save(to path: String) throws(ModelError) {
    let bytes = try fileBytes()
    do {
      try AtomicFile.write(bytes, to: path)
    } catch {
      throw .writeFailed(error.description)
    }
  }

  /// Reads a model file written by `save(to:)`.
  /// - Throws: `ModelError` for unreadable, malformed or truncated files, other formats
  ///   or versions, and content that is not a valid model.
  public init(contentsOf path: String) throws(ModelError) {
    var status = stat()
    if stat(path, &status) == 0 && (status.st_mode & S_IFMT) != S_IFREG {
      throw .unreadable(file: path, "not a regular file")
    }
    // open(2) first, for the system's own reason ("Too many levels of symbolic links", "No
    // such file or directory") rather than Foundation's generic error 256.
    let descriptor = open(path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else { throw .unreadable(file: path, String(cString: strerror(errno))) }
    close(descriptor)
    let data: Data
    do {
      data = try Data(contentsOf: URL(fileURLWithPath: path))
    } catch {
      throw .unreadable(file: path, (error as NSError).localizedDescription)
    }
    try self.init(fileData: data, name: path)
  }

  /// Decodes model-file bytes; `name` appears in errors.
  public init(fileData data: Data, name: String = "<memory>") throws(ModelError) {
    let decoder = JSONDecoder()
    let header: ModelFile.Header
    do {
      header = try decoder.decode(ModelFile.Header.self, from: data)
    } catch {
      throw .malformed(file: name, Self.describe(error))
    }
    guard header.format == ModelFile.formatName else {
      throw .malformed(
        file: name,
        "\"format\" is \(header.format.map { "\"\($0)\"" } ?? "missing"), expected \"\(ModelFile.formatName)\"")
    }
    if let key = JSONDuplicateKeys.first(in: data) {
      throw .malformed(file: name, "the key \"\(key)\" appears twice in one object")
    }
    guard let version = header.version else { throw .malformed(file: name, "\"version\" is missing") }
    guard ModelFile.readableVersions.contains(version) else {
      throw .unsupportedVersion(file: name, found: version, supported: ModelFile.currentVersion)
    }
    let record: ModelFile
    do {
      record = try decoder.decode(ModelFile.self, from: data)
    } catch {
      // Foundation reports a number too large for Float as invalid JSON, with no location.
      if let location = ModelFile.Parameters.firstBeyondFloat(in: data, decoder: decoder) {
        throw .invalid(file: name, "\(location) is beyond Float32's range (±3.4028235e38)")
      }
      throw .malformed(file: name, Self.describe(error))
    }
    try self.init(record: record, name: name)
  }

  /// The model a decoded model-file object describes, checked as a read file is.
  init(record file: ModelFile, name: String) throws(ModelError) {
    guard file.format == ModelFile.formatName else {
      throw .malformed(file: name, "\"format\" is \"\(file.format)\", expected \"\(ModelFile.formatName)\"")
    }
    let version = file.version
    guard ModelFile.readableVersions.contains(version) else {
      throw .unsupportedVersion(file: name, found: version, supported: ModelFile.currentVersion)
    }
    guard file.weights.allSatisfy({ $0.count == file.features.count }) else {
      throw .invalid(file: name, "every weight row must have \(file.features.count) values")
    }
    guard file.weights.count == file.classes.count else {
      throw .invalid(file: name, "\(file.weights.count) weight rows for \(file.classes.count) classes")
    }
    do {
      try self.init(
        classNames: file.classes, featureNames: file.features, labelName: file.label,
        weights: file.weights.flatMap { $0 }, bias: file.bias,
        standardization: file.standardization, table: version == 1 ? nil : file.inputs)
    } catch {
      guard case .invalid(_, let why) = error else { throw error }
      throw .invalid(file: name, why)
    }
  }

  private static func describe(_ error: any Error) -> String {
    guard let decodingError = error as? DecodingError else {
      return (error as NSError).localizedDescription
    }
    func path(_ context: DecodingError.Context) -> String {
      let keys = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }
      return keys.isEmpty ? "top level" : keys.joined()
    }
    switch decodingError {
    case .dataCorrupted(let context) where context.codingPath.isEmpty:
      let underlying = (context.underlyingError as NSError?)?.localizedDescription
      return "the JSON is corrupted or truncated" + (underlying.map { " (\($0))" } ?? "")
    case .dataCorrupted(let context):
      // A value the JSON holds but its type cannot, such as a weight beyond Float32's range.
      return "unusable value at \(path(context)): \(context.debugDescription)"
    case .keyNotFound(let key, let context):
      return "\"\(key.stringValue)\" is missing at \(path(context))"
    case .typeMismatch(_, let context), .valueNotFound(_, let context):
      return "wrong type at \(path(context)): \(context.debugDescription)"
    @unknown default:
      return "\(decodingError)"
    }
  }
}

extension SoftmaxModel: Codable {
  /// Encodes the model as the model file's JSON object (the bytes `fileBytes()` writes, with
  /// a `JSONEncoder` set to `.sortedKeys`).
  public func encode(to encoder: any Encoder) throws {
    try fileRecord.encode(to: encoder)
  }

  /// Decodes a model-file object and checks it as `init(fileData:)` does.
  /// - Throws: `DecodingError.dataCorrupted` naming what is wrong (shapes, values, names,
  ///   format or version), or the decoder's own errors.
  public init(from decoder: any Decoder) throws {
    let record = try ModelFile(from: decoder)
    do {
      try self.init(record: record, name: "<decoded>")
    } catch {
      throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.description))
    }
  }
}
