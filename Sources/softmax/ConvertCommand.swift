#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif
import SoftmaxRegression

/// `softmax convert DATA.csv DATA.smx`: parse a CSV once and keep it as a binary cache that
/// `train`, `predict` and `evaluate` memory-map without parsing.
enum ConvertCommand {
  static let spec = CommandSpec(
    name: "convert",
    summary: "Parse a CSV file once into a binary dataset cache (.smx) that loads without parsing.",
    positionals: [
      .init(name: "DATA.csv", help: "The CSV to read (same rules as 'softmax train'; a .csv.gz is read through a temporary file); or several part files with the same header, or a directory of them (read in name order), as one dataset."),
      .init(name: "DATA.smx", help: "The cache to write (atomically)."),
    ],
    options: [
      .init(name: "label", valueName: "NAME", help: "Label column (default: the last column)."),
      .init(name: "weight", valueName: "NAME", help: "Column of per-row weights ≥ 0 to keep (default: none)."),
      .init(name: "threads", valueName: "N", help: "Threads that parse, ≥ 1 (default: all cores)."),
      .init(name: "quiet", short: "q", help: "Print no progress."),
    ] + TableFlags.columns + TableFlags.dialect,
    repeated: 0)

  static func run(_ arguments: ParsedArguments) throws(CLIError) {
    let inputs = Array(arguments.positionals.dropLast())
    let csvPath = inputs.count == 1 ? inputs[0] : "\(inputs.count) inputs"
    let cachePath = arguments.positionals[arguments.positionals.count - 1]
    let threads = try ModelInput.threadCount(arguments)
    let parts = try ModelInput.dataFiles(inputs)
    if let cache = parts.first(where: DatasetCache.isCache(path:)) {
      throw .failure("\(cache) is already a dataset cache")
    }
    try OutputFiles.check(outputs: [cachePath], inputs: parts)
    Interruption.install()
    FileChangeGuard.install(command: "convert", inputs: parts)
    var display = ProgressDisplay(quiet: arguments.flag("quiet"), maxEpochs: 0)
    let clock = ContinuousClock()
    let start = clock.now
    let weightName = arguments.string("weight")
    var schema = Dataset.Schema.training(labelColumn: arguments.string("label"), weightColumn: weightName)
    try TableFlags.applyDialect(arguments, path: parts[0], to: &schema)
    try TableFlags.applyColumns(arguments, to: &schema)
    let path = ModelInput.dataPath(parts[0])
    let progress = { (bytesDone: Int, totalBytes: Int) in
      display.loading(csvPath, bytesDone: bytesDone, totalBytes: totalBytes, seconds: (clock.now - start).seconds)
    }
    let shape: (rows: Int, features: Int, classes: Int)
    if parts.count == 1 && AtomicFile.isDeviceOrPipe(path) {
      // A stream: read into memory, then written.
      shape = try convertInMemory(csvPath, to: cachePath, schema: schema) { () throws(DatasetError) -> Dataset in
        try Dataset(
          contentsOf: path, schema: schema, threadCount: threads, progress: progress,
          shouldContinue: { Interruption.received == nil })
      }
    } else {
      // Files (a .csv.gz decompressed to a temporary one first): parsed straight into the
      // cache file, part after part, with memory bounded whatever their size.
      let text = try ModelInput.textFiles(parts, display: &display)
      defer { for temporary in text.temporaries { unlink(temporary) } }
      do {
        let conversion = try DatasetCache.convert(
          csvParts: text.paths, to: cachePath, schema: schema, threadCount: threads, progress: progress,
          shouldContinue: { Interruption.received == nil })
        shape = (conversion.rowCount, conversion.featureCount, conversion.classCount)
      } catch {
        display.finish()
        switch error {
        case .data(let failure): throw ModelInput.loadFailure(text.naming(failure), path: csvPath)
        case .output(let failure):
          try Interruption.check("no cache written, \(cachePath) left as it was")
          throw .failure(failure.description)
        }
      }
    }
    display.finish()
    if display.mode != .silent {
      Console.error(
        "wrote \(cachePath): \(shape.rows) rows × \(shape.features) features, "
          + "\(shape.classes) classes in \(Format.duration((clock.now - start).seconds))")
    }
  }

  /// Loads data into memory (a stream, or part files) and writes its cache.
  private static func convertInMemory(
    _ displayName: String, to cachePath: String, schema: Dataset.Schema,
    load: () throws(DatasetError) -> Dataset
  ) throws(CLIError) -> (rows: Int, features: Int, classes: Int) {
    let dataset: Dataset
    do {
      dataset = try load()
    } catch {
      throw ModelInput.loadFailure(error, path: displayName)
    }
    do {
      try Interruption.check("\(cachePath) left as it was")
      try dataset.writeCache(to: cachePath, weightName: schema.weightColumn) { Interruption.received == nil }
    } catch let error as CLIError {
      throw error
    } catch {
      try Interruption.check("no cache written, \(cachePath) left as it was")
      throw .failure("\(error)")
    }
    return (dataset.rowCount, dataset.featureCount, dataset.classCount)
  }
}
