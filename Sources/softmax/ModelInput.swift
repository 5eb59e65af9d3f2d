import Foundation
import SoftmaxRegression

/// Loading a model and data that must match it, shared by `predict` and `evaluate`.
enum ModelInput {
  static func loadModel(_ path: String) throws(CLIError) -> SoftmaxModel {
    do {
      return try SoftmaxModel(contentsOf: path)
    } catch {
      throw .failure(error.description)
    }
  }

  /// Reads `path` with the model's feature columns (by name, any order); the label column
  /// is required when `requiresLabels`, otherwise skipped if present.
  static func loadData(_ path: String, for model: SoftmaxModel, requiresLabels: Bool, threadCount: Int)
    throws(CLIError) -> Dataset
  {
    Interruption.install()
    do {
      return try Dataset(
        contentsOf: dataPath(path),
        schema: .matching(
          featureNames: model.featureNames, classNames: model.classNames,
          labelColumn: model.labelName, requiresLabels: requiresLabels),
        threadCount: threadCount, shouldContinue: { Interruption.received == nil })
    } catch {
      throw loadFailure(error, path: path)
    }
  }

  /// A decompressed temporary copy of `path` when it is gzip-compressed (the caller removes
  /// it), else nil.
  static func decompressedCopy(_ path: String, displayName: String) throws(CLIError) -> String? {
    do {
      return try Dataset.decompressedCopy(ofGzip: path, shouldContinue: { Interruption.received == nil })
    } catch {
      throw loadFailure(error, path: displayName)
    }
  }

  /// The data files named by the arguments: each as given, except a directory, which stands
  /// for its files in name order (hidden ones left out).
  static func dataFiles(_ arguments: [String]) throws(CLIError) -> [String] {
    var files: [String] = []
    for argument in arguments {
      var isDirectory: ObjCBool = false
      guard FileManager.default.fileExists(atPath: argument, isDirectory: &isDirectory), isDirectory.boolValue
      else {
        files.append(argument)
        continue
      }
      let names = (try? FileManager.default.contentsOfDirectory(atPath: argument)) ?? []
      let inside = names.filter { !$0.hasPrefix(".") }.sorted().map { argument.hasSuffix("/") ? argument + $0 : argument + "/" + $0 }
      guard !inside.isEmpty else { throw .failure("\(argument): the directory holds no data files") }
      files += inside
    }
    return files
  }

  /// The data argument as a path: `-` is standard input, read as a stream.
  static func dataPath(_ argument: String) -> String {
    argument == "-" ? "/dev/stdin" : argument
  }

  /// A load error as the CLI reports it: a load stopped by a signal is an interruption.
  static func loadFailure(_ error: DatasetError, path: String) -> CLIError {
    if error.reason == .cancelled, let signal = Interruption.received {
      return .interrupted(
        signal: signal, "interrupted by \(Interruption.name(signal)) while reading \(path); nothing written")
    }
    return .failure(error.description)
  }

  /// Parses `--threads` for scoring commands.
  static func threadCount(_ arguments: ParsedArguments) throws(CLIError) -> Int {
    let range = 1...TrainingOptions.maximumThreads
    return try arguments.integer(
      "threads", default: ShardedExecutor.availableCoreCount,
      rule: "an integer from 1 to \(TrainingOptions.maximumThreads)", range.contains)!
  }
}
