import SoftmaxRegression

/// `softmax convert DATA.csv DATA.smx`: parse a CSV once and keep it as a binary cache that
/// `train`, `predict` and `evaluate` memory-map without parsing.
enum ConvertCommand {
  static let spec = CommandSpec(
    name: "convert",
    summary: "Parse a CSV file once into a binary dataset cache (.smx) that loads without parsing.",
    positionals: [
      .init(name: "DATA.csv", help: "The CSV to read (same rules as 'softmax train')."),
      .init(name: "DATA.smx", help: "The cache to write (atomically)."),
    ],
    options: [
      .init(name: "label", valueName: "NAME", help: "Label column (default: the last column)."),
      .init(name: "weight", valueName: "NAME", help: "Column of per-row weights ≥ 0 to keep (default: none)."),
      .init(name: "threads", valueName: "N", help: "Threads that parse, ≥ 1 (default: all cores)."),
      .init(name: "quiet", short: "q", help: "Print no progress."),
    ])

  static func run(_ arguments: ParsedArguments) throws(CLIError) {
    let csvPath = arguments.positionals[0]
    let cachePath = arguments.positionals[1]
    let threads = try ModelInput.threadCount(arguments)
    guard !DatasetCache.isCache(path: csvPath) else {
      throw .failure("\(csvPath) is already a dataset cache")
    }
    try OutputFiles.check(outputs: [cachePath], inputs: [csvPath])
    Interruption.install()
    FileChangeGuard.install(command: "convert", inputs: [csvPath])
    var display = ProgressDisplay(quiet: arguments.flag("quiet"), maxEpochs: 0)
    let clock = ContinuousClock()
    let start = clock.now
    let weightName = arguments.string("weight")
    let dataset: Dataset
    do {
      let schema = Dataset.Schema.training(labelColumn: arguments.string("label"), weightColumn: weightName)
      let path = ModelInput.dataPath(csvPath)
      let progress = { (bytesDone: Int, totalBytes: Int) in
        display.loading(csvPath, bytesDone: bytesDone, totalBytes: totalBytes, seconds: (clock.now - start).seconds)
      }
      // Not a cache (checked above): CSV from a file or a stream.
      dataset = try Dataset(
        contentsOf: path, schema: schema, threadCount: threads, progress: progress,
        shouldContinue: { Interruption.received == nil })
    } catch {
      display.finish()
      throw ModelInput.loadFailure(error, path: csvPath)
    }
    display.finish()
    do {
      try Interruption.check("\(cachePath) left as it was")
      try dataset.writeCache(to: cachePath, weightName: weightName) { Interruption.received == nil }
    } catch let error as CLIError {
      throw error
    } catch {
      try Interruption.check("no cache written, \(cachePath) left as it was")
      throw .failure("\(error)")
    }
    if display.mode != .silent {
      Console.error(
        "wrote \(cachePath): \(dataset.rowCount) rows × \(dataset.featureCount) features, "
          + "\(dataset.classCount) classes in \(Format.duration((clock.now - start).seconds))")
    }
  }
}
