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

  /// Reads `path` with the model's feature columns (by name, any order), or its raw input
  /// columns (categories, missing values) as the model read them in training; the label
  /// column is required when `requiresLabels`, otherwise skipped if present. Warns on
  /// standard error of levels the model never saw and of dropped rows.
  /// Several paths (or a directory) are the parts of one dataset, read in order.
  static func loadData(
    _ paths: [String], for model: SoftmaxModel, requiresLabels: Bool, threadCount: Int,
    arguments: ParsedArguments, command: String
  ) throws(CLIError) -> Dataset {
    Interruption.install()
    let parts = try dataFiles(paths)
    let path = parts.count == 1 ? parts[0] : "\(parts.count) parts"
    var schema = Dataset.Schema.scoring(model, requiresLabels: requiresLabels)
    try TableFlags.applyDialect(arguments, path: parts[0], to: &schema)
    let dataset: Dataset
    do {
      dataset =
        parts.count == 1
        ? try Dataset(
          contentsOf: dataPath(parts[0]), schema: schema, threadCount: threadCount,
          shouldContinue: { Interruption.received == nil })
        : try Dataset(
          csvParts: parts, schema: schema, threadCount: threadCount,
          shouldContinue: { Interruption.received == nil })
    } catch {
      throw loadFailure(error, path: path)
    }
    for column in dataset.ingest.columns where column.unseenCount > 0 {
      Console.error(
        "softmax \(command): warning: \(path): column \(column.name): \(column.unseenCount) cells hold a level "
          + "the model never saw (encoded as all zeros)")
    }
    if !dataset.ingest.droppedRows.isEmpty {
      let treatment = command == "predict" ? "get empty predictions" : "are left out"
      Console.error(
        "softmax \(command): warning: \(path): \(dataset.ingest.droppedRows.count) rows have a missing value "
          + "and \(treatment), as the model was trained with --missing drop")
    }
    return dataset
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

  /// Data files as text to map: each gzip-compressed one replaced by a decompressed
  /// temporary copy, which the caller removes.
  struct TextFiles {
    /// The files to read, in order.
    var paths: [String]
    /// The decompressed copies among them.
    var temporaries: [String] = []
    /// Each copy's original name, for errors.
    var originals: [String: String] = [:]

    /// The error naming the file the user gave rather than a temporary copy.
    func naming(_ error: DatasetError) -> DatasetError {
      originals[error.file].map { error.located(in: $0) } ?? error
    }
  }

  /// `files` with each `.csv.gz` decompressed (in $TMPDIR, with progress on a terminal).
  /// - Throws: a damaged stream, no room or an interruption, naming the compressed file;
  ///   copies already made are removed.
  static func textFiles(_ files: [String], display: inout ProgressDisplay) throws(CLIError) -> TextFiles {
    var text = TextFiles(paths: files)
    let clock = ContinuousClock()
    for (index, file) in files.enumerated() {
      let start = clock.now
      var shown = display  // the progress closure may not capture an inout parameter
      defer { display = shown }
      let copy: String?
      do {
        copy = try Dataset.decompressedCopy(
          ofGzip: file, shouldContinue: { Interruption.received == nil },
          progress: { done, total in
            shown.loading(
              file, bytesDone: done, totalBytes: total, seconds: (clock.now - start).seconds,
              activity: "decompressing")
          })
      } catch {
        for temporary in text.temporaries { unlink(temporary) }
        throw loadFailure(error, path: file)
      }
      guard let copy else { continue }
      text.temporaries.append(copy)
      text.originals[copy] = file
      text.paths[index] = copy
    }
    return text
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
  /// Whether `path` names a regular file (one that can be mapped and shared out by rows).
  static func isRegularFile(_ path: String) -> Bool {
    var status = stat()
    return stat(path, &status) == 0 && status.st_mode & S_IFMT == S_IFREG
  }

  static func dataPath(_ argument: String) -> String {
    argument == "-" ? "/dev/stdin" : argument
  }

  /// A load error as the CLI reports it: a load stopped by a signal is an interruption.
  static func loadFailure(_ error: DatasetError, path: String) -> CLIError {
    if error.reason == .cancelled, let signal = Interruption.received {
      return .interrupted(
        signal: signal, "interrupted by \(Interruption.name(signal)) while reading \(path); nothing written")
    }
    return .failure(error.description(naming: .flags))
  }

  /// Parses `--threads` for scoring commands.
  static func threadCount(_ arguments: ParsedArguments) throws(CLIError) -> Int {
    let range = 1...TrainingOptions.maximumThreads
    return try arguments.integer(
      "threads", default: ShardedExecutor.availableCoreCount,
      rule: "an integer from 1 to \(TrainingOptions.maximumThreads)", range.contains)!
  }
}
