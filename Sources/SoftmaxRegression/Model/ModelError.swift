import Foundation

/// Why a model could not be built, read or written.
public enum ModelError: Error, Equatable, Sendable, CustomStringConvertible, LocalizedError {
  /// The parts do not make a valid model (shapes, non-finite values, repeated names).
  case invalid(file: String?, String)
  /// The file could not be read.
  case unreadable(file: String, String)
  /// The file is not a model file of a version this program reads.
  case unsupportedVersion(file: String, found: Int, supported: Int)
  /// The file is not well-formed model JSON (corrupted or truncated).
  case malformed(file: String, String)
  /// Writing failed; no partial file was left.
  case writeFailed(String)
  /// Input given to a model does not fit it: the wrong number of features, a value that is
  /// not finite, other feature names, classes the model lacks, rows without labels.
  case mismatchedInput(String)

  /// A one-line message naming the file and what is wrong.
  public var description: String {
    switch self {
    case .invalid(let file, let why): return (file.map { "\($0): " } ?? "") + "invalid model: \(why)"
    case .unreadable(let file, let why): return "\(file): cannot read the model (\(why))"
    case .unsupportedVersion(let file, let found, let supported):
      return "\(file): model format version \(found) is not supported (this program reads version \(supported))"
    case .malformed(let file, let why): return "\(file): not a valid model file: \(why)"
    case .writeFailed(let why): return why
    case .mismatchedInput(let why): return "the input does not fit the model: \(why)"
    }
  }

  /// The same message as `description`, for `LocalizedError`.
  public var errorDescription: String? { description }
}
