#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif
import SoftmaxRegression

/// `softmax train DATA.csv`: fit a model and write it atomically.
enum TrainCommand {
  static let spec = CommandSpec(
    name: "train",
    summary: "Train a softmax regression model on a CSV file (or a .smx cache) and save it as JSON.",
    positionals: [.init(name: "DATA.csv", help: "Training data: a header row, feature columns (numbers, or text categories) and one label column; a .csv.gz or .tsv; a cache from 'softmax convert'; - for standard input; or several part files with the same header, or a directory of them (read in name order).")],
    options: [
      .init(name: "label", valueName: "NAME", help: "Label column (default: the last column)."),
      .init(name: "weight", valueName: "NAME", help: "Column of per-row weights ≥ 0 (default: none)."),
      .init(name: "cache", valueName: "FILE.smx", help: "Convert the CSV to this cache first and train from it, mapped (kept for later runs). Without it, a CSV whose matrix would not fit in memory is converted to a temporary cache in $TMPDIR."),
      .init(name: "output", short: "o", valueName: "MODEL.json", help: "Where to write the model; - is standard output (default: model.json)."),
    ] + TableFlags.columns + TableFlags.dialect + TrainingOptions.declared.map(flag) + [
      .init(name: "epochs", valueName: "N", help: "Same as --max-epochs (the usual name for sgd)."),
      .init(name: "init", valueName: "MODEL.json", help: "Continue from a saved model with the same classes and features."),
      .init(name: "checkpoint", valueName: "N", help: "Write the model (atomically) every N epochs, ≥ 1 (default: only at the end)."),
      .init(name: "no-standardize", help: "Do not standardise features (default: standardise)."),
      .init(name: "quiet", short: "q", help: "Print no progress."),
      .init(name: "json", help: "Print a JSON summary on stdout at the end."),
      .init(name: "plot", valueName: "CURVE.svg", help: "Write the objective and accuracy per epoch as an SVG chart (with --lambda auto: the held-out loss against λ)."),
      .init(name: "folds", valueName: "K", help: "With --lambda auto: score each λ by K-fold cross-validation (stratified, seeded), 2 to 100, instead of a validation split."),
    ],
    repeated: 0)

  /// The flag of a library training option: its help line carries the option's own rule and
  /// default.
  static func flag(_ option: TrainingOption) -> CommandSpec.Option {
    .init(
      name: option.name, valueName: option.valueName,
      help: "\(option.summary); \(flagText(option.rule)) (default: \(option.defaultText)).")
  }

  /// A library message with option names in backquotes, spelled as flags.
  static func flagText(_ text: String) -> String {
    var result = ""
    var inName = false
    for character in text {
      if character == "`" {
        if !inName { result += "--" }
        inName.toggle()
      } else {
        result.append(character)
      }
    }
    return result
  }

  /// What the first stage of a run settles: the options and the files.
  private struct Plan {
    var options: TrainingOptions
    var lambdaAuto: (Bool, folds: Int?)
    var parts: [String]
    var schema: Dataset.Schema
    var modelPath: String
    var plotPath: String?
    var checkpointInterval: Int?
    var display: ProgressDisplay
  }

  /// Runs in stages: the plan, the data, the training, the outputs. Over several processes
  /// each stage ends in a vote (`ProcessLaunch.agree`): every process goes on, or all stop,
  /// the lowest failing rank saying why.
  static func run(_ arguments: ParsedArguments) throws(CLIError) {
    let processes = try ProcessLaunch.trainingProcesses()
    defer { ProcessLaunch.finish(processes) }
    var failure: CLIError? = nil
    var planned: Plan? = nil
    do { planned = try plan(arguments, processes) } catch { failure = error }
    try ProcessLaunch.agree(processes, failure)
    guard var plan = planned else { return }

    var loaded: (dataset: Dataset, seconds: Double)? = nil
    do { loaded = try load(&plan, arguments, processes) } catch { failure = error }
    try ProcessLaunch.agree(processes, failure)
    guard let (dataset, loadSeconds) = loaded else { return }

    let shape = (rows: dataset.rowCount, features: dataset.featureCount, classes: dataset.classCount)
    var searched: (result: LambdaSearch.Result, seconds: Double)? = nil
    var trained: Trainer.Result? = nil
    do {
      if plan.lambdaAuto.0 {
        searched = try LambdaAuto.train(dataset, plan.options, folds: plan.lambdaAuto.folds, &plan.display)
        trained = searched?.result.fit
      } else {
        trained = try train(
          dataset, plan.options, processes, modelPath: plan.modelPath,
          checkpointInterval: plan.checkpointInterval, &plan.display)
      }
    } catch {
      failure = error
    }
    try ProcessLaunch.agree(processes, failure)
    guard let result = trained else { return }

    if processes.rank == 0 {
      do {
        try writeOutputs(
          result, search: searched?.result, modelPath: plan.modelPath, plotPath: plan.plotPath, dataPath: plan.parts[0])
      } catch {
        failure = error
      }
    }
    try ProcessLaunch.agree(processes, failure)
    guard processes.rank == 0 else { return }
    report(
      result, searched: searched, plan: plan, shape: shape, columns: dataset.ingest, loadSeconds: loadSeconds,
      processCount: processes.count, json: arguments.flag("json"))
  }

  /// The summary on stderr and, with `--json`, the JSON summary on stdout.
  private static func report(
    _ result: Trainer.Result, searched: (result: LambdaSearch.Result, seconds: Double)?, plan: Plan,
    shape: (rows: Int, features: Int, classes: Int), columns: IngestReport, loadSeconds: Double,
    processCount: Int, json: Bool
  ) {
    let search = searched?.result
    if plan.display.mode != .silent {
      var text = summary(
        result.report, requestedSolver: plan.options.solver, l1Ratio: plan.options.l1Ratio,
        featureCount: result.model.featureNames.count,
        loadSeconds: loadSeconds, modelPath: plan.modelPath, plotPath: plan.plotPath)
      if processCount > 1 { text += "\n  processes  \(processCount) (MPI ranks), each with \(result.report.threadCount) threads" }
      if let searched { text += "\n" + LambdaAuto.summaryLine(searched.result, seconds: searched.seconds) }
      Console.error(text)
    }
    guard json else { return }
    var summary = summaryJSON(
      report: result.report, requestedSolver: plan.options.solver, l1Ratio: plan.options.l1Ratio, shape: shape,
      loadSeconds: loadSeconds, modelPath: plan.modelPath, columns: columns, classNames: result.model.classNames,
      lambda: search?.chosenLambda ?? plan.options.lambda)
    if let search, case .object(let pairs) = summary { summary = .object(pairs + [("lambda_path", LambdaAuto.json(search))]) }
    if case .object(let pairs) = summary { summary = .object(pairs + [("processes", .integer(processCount))]) }
    Console.output(summary.text)
  }

  /// The first stage: reads the flags and checks the outputs (on rank 0, the one that
  /// writes). Only rank 0 prints progress.
  private static func plan(_ arguments: ParsedArguments, _ processes: any ProcessGroup) throws(CLIError) -> Plan {
    var options = try trainingOptions(arguments)
    if processes.count > 1 && options.threadCount == nil { options.threadCount = ProcessLaunch.defaultThreadCount() }
    let lambdaAuto = try LambdaAuto.requested(arguments)
    if lambdaAuto.0 {
      // Each of these belongs to one fit; the search runs many and would drop them silently.
      for flag in ["checkpoint", "init", "early-stopping"] where arguments.string(flag) != nil {
        throw .usage("--\(flag) belongs to one fit; --lambda auto runs many (give λ to use it)", usage: nil)
      }
    }
    let parts = try ModelInput.dataFiles(arguments.positionals)
    let schema = try trainingSchema(arguments, path: parts[0])
    let modelPath = arguments.string("output") ?? "model.json"
    let plotPath = arguments.string("plot")
    let checkpointInterval = try arguments.integer("checkpoint", rule: "an integer ≥ 1") { $0 >= 1 }
    if processes.rank == 0 { try checkOutputs(arguments, modelPath: modelPath, plotPath: plotPath, inputs: parts) }
    let display = ProgressDisplay(
      quiet: arguments.flag("quiet") || processes.rank != 0, maxEpochs: options.maxEpochs)
    Interruption.install()
    FileChangeGuard.install(command: "train", inputs: parts)
    return Plan(
      options: options, lambdaAuto: lambdaAuto, parts: parts, schema: schema, modelPath: modelPath,
      plotPath: plotPath, checkpointInterval: checkpointInterval, display: display)
  }

  /// The second stage: the data (`load(_:_:_:_:_:_:)`), its column summary, and room for
  /// the model (on rank 0).
  private static func load(
    _ plan: inout Plan, _ arguments: ParsedArguments, _ processes: any ProcessGroup
  ) throws(CLIError) -> (dataset: Dataset, seconds: Double) {
    // The search's folds read every row, so each process then loads the whole file.
    let (dataset, loadSeconds) = try load(
      plan.parts, arguments, plan.schema, plan.options, plan.lambdaAuto.0 ? SingleProcess() : processes, &plan.display)
    if plan.display.mode != .silent, let lines = ColumnSummary.lines(dataset.ingest, featureCount: dataset.featureCount) {
      Console.error(lines)
    }
    if processes.rank == 0 {
      try checkModelSpace(plan.modelPath, classes: dataset.classCount, features: dataset.featureCount)
    }
    return (dataset, loadSeconds)
  }

  /// The training schema the flags describe.
  private static func trainingSchema(_ arguments: ParsedArguments, path: String) throws(CLIError) -> Dataset.Schema {
    var schema = Dataset.Schema.training(labelColumn: arguments.string("label"), weightColumn: arguments.string("weight"))
    try TableFlags.applyDialect(arguments, path: path, to: &schema)
    try TableFlags.applyColumns(arguments, to: &schema)
    return schema
  }

  /// Loads the training data (a CSV, its parts, or a cache) with progress; returns it and
  /// the seconds taken. Across several processes, each reads only its share of the rows of
  /// a cache or of CSV files (not of a stream, which each reads whole).
  private static func load(
    _ parts: [String], _ arguments: ParsedArguments, _ schema: Dataset.Schema, _ options: TrainingOptions,
    _ processes: any ProcessGroup, _ display: inout ProgressDisplay
  ) throws(CLIError) -> (Dataset, Double) {
    let clock = ContinuousClock()
    let start = clock.now
    let dataset: Dataset
    let source = try sharedSource(parts, arguments, schema, options, processes, &display)
    let name = parts.count == 1 ? parts[0] : "\(parts.count) parts"
    var progress = display  // the progress closure may escape; an inout parameter may not
    defer {
      display = progress
      for temporary in source.temporaries { unlink(temporary) }  // mapped already, if used
    }
    do {
      let report = { (bytesDone: Int, totalBytes: Int) in
        progress.loading(name, bytesDone: bytesDone, totalBytes: totalBytes, seconds: (clock.now - start).seconds)
      }
      dataset =
        processes.count > 1 && source.paths.count == 1 && DatasetCache.isCache(path: source.paths[0])
        ? try Dataset(cacheAt: source.paths[0], schema: schema, processes: processes)
        : source.paths.count == 1 && !(processes.count > 1 && ModelInput.isRegularFile(source.paths[0]))
        ? try Dataset(
          contentsOf: source.paths[0], schema: schema, threadCount: options.effectiveThreadCount,
          progress: report, shouldContinue: { Interruption.received == nil })
        : try Dataset(
          csvParts: source.paths, schema: schema, threadCount: options.effectiveThreadCount,
          progress: report, shouldContinue: { Interruption.received == nil }, processes: processes)
    } catch {
      progress.finish()
      if case .failedInAnotherProcess(let rank) = error.reason { throw .reportedElsewhere(rank: rank) }
      throw ModelInput.loadFailure(source.naming(error), path: name)
    }
    progress.finish()
    let seconds = (clock.now - start).seconds
    if progress.mode != .silent {
      let shown = parts.count == 1 ? parts[0] : "\(parts.count) parts (\(parts[0]) …)"
      Console.error(
        "loaded \(shown): \(dataset.rowCount) rows × \(dataset.featureCount) features, "
          + "\(dataset.classCount) classes in \(Format.duration(seconds))")
    }
    return (dataset, seconds)
  }

  /// Where the data is read from (`cacheFirst`); over several processes with `--cache`,
  /// rank 0 converts alone and the others wait (a vote), then all read the cache in shares.
  /// The cache's path must be one every host sees.
  private static func sharedSource(
    _ parts: [String], _ arguments: ParsedArguments, _ schema: Dataset.Schema,
    _ options: TrainingOptions, _ processes: any ProcessGroup, _ display: inout ProgressDisplay
  ) throws(CLIError) -> ModelInput.TextFiles {
    guard processes.count > 1, let cache = arguments.string("cache") else {
      return try cacheFirst(parts, arguments, schema, options, shares: processes.count, &display)
    }
    var failure: CLIError? = nil
    var source = ModelInput.TextFiles(paths: [cache])
    if processes.rank == 0 {
      do { source = try cacheFirst(parts, arguments, schema, options, shares: 1, &display) } catch { failure = error }
    }
    try ProcessLaunch.agree(processes, failure)
    return source
  }

  /// Where the data is read from: the data itself, or a cache it is converted to first
  /// (streamed, part after part), when `--cache` asks, or when its matrix would not fit in
  /// memory (then a temporary cache in $TMPDIR, removed once mapped): the process's share
  /// of it, when `shares` processes each hold theirs.
  private static func cacheFirst(
    _ parts: [String], _ arguments: ParsedArguments, _ schema: Dataset.Schema,
    _ options: TrainingOptions, shares: Int, _ display: inout ProgressDisplay
  ) throws(CLIError) -> ModelInput.TextFiles {
    let paths = parts.map(ModelInput.dataPath)
    let requested = arguments.string("cache")
    if let cache = paths.first(where: { AtomicFile.isDeviceOrPipe($0) || DatasetCache.isCache(path: $0) }) {
      if requested != nil { throw .usage("--cache needs CSV data in files; \(cache) is not one", usage: nil) }
      guard parts.count == 1 else { throw .usage("\(cache) cannot be one of several parts: give CSV files", usage: nil) }
      return ModelInput.TextFiles(paths: paths)
    }
    let source = try ModelInput.textFiles(paths, display: &display)
    let cachePath: String
    if let requested {
      try OutputFiles.check(outputs: [requested], inputs: source.paths)
      cachePath = requested
    } else {
      let estimates = source.paths.map { DatasetCache.estimatedMatrixBytes(csvAt: $0, schema: schema) }
      let estimate = estimates.reduce(0) { $0 + ($1 ?? 0) }
      guard !estimates.contains(nil), DatasetCache.exceedsMemory(byteCount: estimate / shares) else { return source }
      let directory = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
      let name = parts[0].split(separator: "/").last.map(String.init) ?? "data"
      cachePath = "\(directory)/softmax-\(getpid())-\(name).smx"
      if display.mode != .silent {
        let data = parts.count == 1 ? parts[0] : "\(parts.count) parts"
        Console.error(
          "\(data): the matrix (about \(Format.fixed(Double(estimate) / 1e6, 0)) MB) would not fit in memory; "
            + "converting to a temporary cache, \(cachePath), and training from disk")
      }
    }
    do {
      let conversion = try DatasetCache.convert(
        csvParts: source.paths, to: cachePath, schema: schema, threadCount: options.effectiveThreadCount,
        shouldContinue: { Interruption.received == nil })
      if display.mode != .silent {
        Console.error("wrote \(cachePath): \(conversion.rowCount) rows × \(conversion.featureCount) features")
      }
    } catch {
      for temporary in source.temporaries { unlink(temporary) }
      switch error {
      case .data(let failure):
        throw ModelInput.loadFailure(source.naming(failure), path: parts.count == 1 ? parts[0] : "\(parts.count) parts")
      case .output(let failure):
        try Interruption.check("no cache written")
        throw .failure(failure.description)
      }
    }
    return ModelInput.TextFiles(
      paths: [cachePath], temporaries: source.temporaries + (requested == nil ? [cachePath] : []))
  }

  /// A model file is about 25 bytes per parameter (plus names): a disk without room for it
  /// is known before training, not after. The margin is small, so a disk with a few
  /// kilobytes free still takes a small model.
  private static func checkModelSpace(_ modelPath: String, classes: Int, features: Int) throws(CLIError) {
    guard modelPath != OutputFiles.standardOutput else { return }
    let (parameters, overflow) = classes.multipliedReportingOverflow(by: features + 1)
    let modelBytes = overflow || parameters > (Int.max - 512) / 25 ? Int.max : 25 * parameters + 512
    do {
      try AtomicFile.checkSpace(modelPath, byteCount: modelBytes)
    } catch {
      throw .failure(error.description)
    }
  }

  /// Trains with progress and checkpoints. An interrupted run, and one whose objective
  /// became non-finite (diverged), throw: the model path is left as it was (or holds the
  /// last checkpoint).
  private static func train(
    _ dataset: Dataset, _ options: TrainingOptions, _ processes: any ProcessGroup, modelPath: String,
    checkpointInterval: Int?, _ display: inout ProgressDisplay
  ) throws(CLIError) -> Trainer.Result {
    var lastCheckpoint: Int? = nil
    let result: Trainer.Result
    do {
      result = try Trainer(options: options, processes: processes).fit(
        dataset, checkpointEvery: checkpointInterval,
        onCheckpoint: { model, epoch in
          guard processes.rank == 0 else { return }
          do {
            try model.save(to: modelPath)
            lastCheckpoint = epoch
          } catch {
            display.finish()
            Console.error("softmax train: warning: checkpoint at epoch \(epoch) not written: \(error)")
          }
        }
      ) { epoch in
        display.epoch(epoch)
        return Interruption.received == nil
      }
    } catch {
      display.finish()
      throw .failure(error.description)
    }
    display.finish()
    let kept =
      lastCheckpoint.map { "\(modelPath) holds the checkpoint of epoch \($0)" }
      ?? "no model written, \(modelPath) left as it was"
    if let signal = ProcessLaunch.agreedSignal(processes) {
      throw .interrupted(
        signal: signal,
        "interrupted by \(Interruption.name(signal)) after epoch \(result.report.epochs); \(kept)")
    }
    if result.report.stopReason == .nonFinite {
      throw .failure(
        "training diverged: the objective became non-finite after epoch \(result.report.epochs) "
          + "(lower --learning-rate, or standardise the features); \(kept)")
    }
    return result
  }

  /// Writes the model, then the training-curve chart.
  private static func writeOutputs(
    _ result: Trainer.Result, search: LambdaSearch.Result?, modelPath: String, plotPath: String?, dataPath: String
  ) throws(CLIError) {
    let bytes = try Interruption.waiting("while saving the model; \(modelPath) left as it was") {
      () throws(CLIError) -> [UInt8] in
      // A test stands in for the seconds a large model takes to encode.
      if let text = getenv("SOFTMAX_TEST_SAVE_DELAY_MS"), let delay = UInt32(String(cString: text)) {
        usleep(delay * 1000)
      }
      do {
        return try result.model.fileBytes()
      } catch let error as ModelError {
        throw .failure(error.description)
      } catch {
        throw .failure("\(error)")
      }
    }
    try OutputFiles.write(bytes, to: modelPath)
    if let plotPath {
      let name = dataPath.split(separator: "/").last.map(String.init) ?? dataPath
      let svg =
        search.map { LambdaPathChart(result: $0, title: "Choosing λ on \(name)").svg }
        ?? TrainingCurveChart(report: result.report, title: "Training \(result.report.solver.rawValue) on \(name)").svg
      try OutputFiles.write(Array(svg.utf8), to: plotPath)
    }
  }

  /// Refuses outputs that are inputs, two outputs that are one file, and standard output
  /// for the model together with anything else that writes there; checks each output can
  /// be written, all before loading.
  static func checkOutputs(
    _ arguments: ParsedArguments, modelPath: String, plotPath: String?, inputs: [String]
  ) throws(CLIError) {
    if modelPath == OutputFiles.standardOutput {
      if arguments.flag("json") {
        throw .usage("-o - writes the model to standard output, where --json also writes", usage: nil)
      }
      if arguments.string("checkpoint") != nil {
        throw .usage("--checkpoint needs a model file, not standard output (-o -)", usage: nil)
      }
    }
    // `--init` may name the output: the model is read whole before training and replaced
    // atomically after it (continuing a model in place).
    try OutputFiles.check(outputs: [modelPath] + (plotPath.map { [$0] } ?? []), inputs: inputs)
    if let plotPath {
      // The chart must not replace the model (nor the model the chart).
      guard plotPath != modelPath else {
        throw .usage("--plot and -o name the same file '\(plotPath)'", usage: nil)
      }
      try OutputFiles.check(outputs: [plotPath], inputs: [modelPath])
    }
  }

  /// The end-of-run summary for people.
  static func summary(
    _ report: TrainingReport, requestedSolver: TrainingOptions.Solver, l1Ratio: Double, featureCount: Int,
    loadSeconds: Double, modelPath: String, plotPath: String?
  ) -> String {
    var solver = report.solver.rawValue
    if requestedSolver == .auto {
      let first = l1Ratio > 0 ? "owlqn" : "lbfgs"
      solver += report.handoverEpoch.map { ", picked by auto after \($0) \(first) epochs" } ?? ", picked by auto"
    }
    var lines = [
      "done: \(report.stopReason.rawValue.replacingOccurrences(of: "_", with: " ")) after "
        + "\(report.epochs) epochs of \(solver) (\(report.passes) passes over \(report.rowCount) rows, "
        + "\(report.threadCount) threads)",
      "  time       load \(Format.duration(loadSeconds)), train \(Format.duration(report.trainSeconds))",
      "  objective  \(Format.fixed(report.objective, 6))  (max|∇J| \(Format.scientific(report.gradientMax)))",
    ]
    var accuracy = "  accuracy   \(Format.fixed(report.trainAccuracy, 4)) on the training rows"
    if let validation = report.history.first(where: { $0.epoch == report.returnedEpoch })?.validationAccuracy {
      accuracy += ", \(Format.fixed(validation, 4)) on \(report.validationRowCount) validation rows"
    }
    lines.append(accuracy)
    if report.returnedEpoch != report.epochs {
      lines.append("  weights    from epoch \(report.returnedEpoch) (best validation loss)")
    }
    let weightCount = report.nonzeroWeights.count * featureCount
    let nonzero = report.nonzeroWeights.reduce(0, +)
    // Only for an elastic net: under L2 alone a zero weight is a constant column's.
    if l1Ratio > 0 {
      lines.append(
        "  nonzero    \(nonzero) of \(weightCount) weights (per class: "
          + report.nonzeroWeights.map(String.init).joined(separator: " ") + ")")
    }
    lines.append("  model      \(modelPath)")
    if let plotPath { lines.append("  chart      \(plotPath)") }
    return lines.joined(separator: "\n")
  }

  /// The library's options from the flags: each declared option reads its own flag
  /// (`--epochs` is another spelling of `--max-epochs`), then the options are validated
  /// together. Errors name the flag as the user wrote it.
  static func trainingOptions(_ arguments: ParsedArguments) throws(CLIError) -> TrainingOptions {
    if arguments.string("max-epochs") != nil && arguments.string("epochs") != nil {
      throw .usage("give --max-epochs or --epochs, not both", usage: nil)
    }
    var options = TrainingOptions()
    do {
      for option in TrainingOptions.declared {
        let text =
          arguments.string(option.name)
          ?? (option.name == "max-epochs" ? arguments.string("epochs") : nil)
        if option.name == "lambda" && text == "auto" { continue }  // LambdaAuto chooses it
        if let text { try option.read(text, into: &options) }
      }
      options.standardize = !arguments.flag("no-standardize")
      try options.validate()
    } catch {
      throw usageError(error, arguments)
    }
    if let initPath = arguments.string("init") {
      options.initialModel = try ModelInput.loadModel(initPath)
    }
    return options
  }

  /// A library option error as a usage error naming the flag given.
  private static func usageError(_ error: TrainingError, _ arguments: ParsedArguments) -> CLIError {
    guard case .invalidOption(var name, let value, let rule) = error else {
      return .usage(error.description, usage: nil)
    }
    if name == "max-epochs" && arguments.string("epochs") != nil { name = "epochs" }
    return .usage("--\(name) \(value): must be \(flagText(rule))", usage: nil)
  }

  static func summaryJSON(
    report: TrainingReport, requestedSolver: TrainingOptions.Solver, l1Ratio: Double, shape: (rows: Int, features: Int, classes: Int), loadSeconds: Double,
    modelPath: String, columns: IngestReport, classNames: [String], lambda: Double
  ) -> JSON {
    .object([
      ("json_version", .integer(JSON.outputVersion)),
      ("rows", .integer(shape.rows)),
      ("features", .integer(shape.features)),
      ("classes", .integer(shape.classes)),
      ("class_count", .integer(shape.classes)),
      ("class_names", .array(classNames.map(JSON.string))),
      ("threads", .integer(report.threadCount)),
      ("solver", .string(report.solver.rawValue)),
      ("solver_requested", .string(requestedSolver.rawValue)),
      ("handover_epoch", report.handoverEpoch.map { .integer($0) } ?? .null),
      ("l1_ratio", .number(l1Ratio)),
      ("nonzero_weights", .array(report.nonzeroWeights.map { .integer($0) })),
      ("lambda", .number(lambda)),
      ("epochs", .integer(report.epochs)),
      ("passes", .integer(report.passes)),
      ("objective", .number(report.objective)),
      ("gradient_max", .number(report.gradientMax)),
      ("train_accuracy", .number(report.trainAccuracy)),
      ("stop_reason", .string(report.stopReason.rawValue)),
      ("returned_epoch", .integer(report.returnedEpoch)),
      ("validation_rows", .integer(report.validationRowCount)),
      ("load_seconds", .number(loadSeconds)),
      ("train_seconds", .number(report.trainSeconds)),
      ("model", .string(modelPath)),
      ("objective_history", .array(report.history.map { .number($0.objective) })),
      ("passes_history", .array(report.history.map { .integer($0.passes) })),
      ("missing", .string(columns.missing.rawValue)),
      ("dropped_rows", .integer(columns.droppedRows.count)),
      ("columns", ColumnSummary.json(columns)),
    ] + validationHistory(report))
  }

  static func validationHistory(_ report: TrainingReport) -> [(String, JSON)] {
    guard report.validationRowCount > 0 else { return [] }
    return [
      ("validation_loss_history", .array(report.history.map { .number($0.validationLoss ?? .nan) })),
      ("validation_accuracy_history", .array(report.history.map { .number($0.validationAccuracy ?? .nan) })),
    ]
  }
}

extension Duration {
  var seconds: Double {
    let (seconds, attoseconds) = components
    return Double(seconds) + Double(attoseconds) * 1e-18
  }
}
