import SoftmaxRegression

/// `softmax train DATA.csv`: fit a model and write it atomically.
enum TrainCommand {
  static let spec = CommandSpec(
    name: "train",
    summary: "Train a softmax regression model on a CSV file (or a .smx cache) and save it as JSON.",
    positionals: [.init(name: "DATA.csv", help: "Training data: a header row, numeric features, one label column; or a cache from 'softmax convert'.")],
    options: [
      .init(name: "label", valueName: "NAME", help: "Label column (default: the last column)."),
      .init(name: "weight", valueName: "NAME", help: "Column of per-row weights ≥ 0 (default: none)."),
      .init(name: "output", short: "o", valueName: "MODEL.json", help: "Where to write the model; - is standard output (default: model.json)."),
      .init(name: "solver", valueName: "NAME", help: "Optimizer: lbfgs, gd or sgd (default: lbfgs)."),
      .init(name: "lambda", valueName: "X", help: "L2 penalty λ on the weights, ≥ 0 (default: 1e-4)."),
      .init(name: "tolerance", valueName: "X", help: "Stop when max|∇J| ≤ X, > 0 (default: 1e-5)."),
      .init(name: "objective-tolerance", valueName: "X", help: "lbfgs: stop when an epoch lowers J by less than X·max(|J|,1) (default: 1.4e-14)."),
      .init(name: "max-epochs", valueName: "N", help: "Stop after N epochs, ≥ 0 (default: 1000)."),
      .init(name: "epochs", valueName: "N", help: "Same as --max-epochs (the usual name for sgd)."),
      .init(name: "memory", valueName: "N", help: "lbfgs: history length, 1 to 1000 (default: 10)."),
      .init(name: "learning-rate", valueName: "X", help: "gd: fixed step (default: line search); sgd: initial step (default: 0.1)."),
      .init(name: "batch-size", valueName: "N", help: "sgd: rows per mini-batch, ≥ 1 (default: 256)."),
      .init(name: "decay", valueName: "X", help: "sgd: step = learning-rate / (1 + X·epoch), ≥ 0 (default: 0.01)."),
      .init(name: "momentum", valueName: "X", help: "sgd: momentum in [0, 1) (default: 0.9)."),
      .init(name: "validation", valueName: "FRACTION", help: "Hold out this fraction of rows, stratified and seeded, in (0, 1) (default: none)."),
      .init(name: "early-stopping", valueName: "N", help: "Stop when the validation loss has not improved for N epochs; keep the best weights."),
      .init(name: "class-weight", valueName: "MODE", help: "none or balanced: weight n/(K·n_k) per row of class k (default: none)."),
      .init(name: "init", valueName: "MODEL.json", help: "Continue from a saved model with the same classes and features."),
      .init(name: "checkpoint", valueName: "N", help: "Write the model (atomically) every N epochs, ≥ 1 (default: only at the end)."),
      .init(name: "threads", valueName: "N", help: "Worker threads, ≥ 1 (default: all cores)."),
      .init(name: "no-standardize", help: "Do not standardise features (default: standardise)."),
      .init(name: "seed", valueName: "N", help: "Seed for the validation split and sgd shuffles, ≥ 0 (default: 0)."),
      .init(name: "quiet", short: "q", help: "Print no progress."),
      .init(name: "json", help: "Print a JSON summary on stdout at the end."),
      .init(name: "plot", valueName: "CURVE.svg", help: "Write the objective and accuracy per epoch as an SVG chart."),
    ])

  static func run(_ arguments: ParsedArguments) throws(CLIError) {
    let options = try trainingOptions(arguments)
    let dataPath = arguments.positionals[0]
    let modelPath = arguments.string("output") ?? "model.json"
    var display = ProgressDisplay(quiet: arguments.flag("quiet"), maxEpochs: options.maxEpochs)

    let plotPath = arguments.string("plot")
    try checkOutputs(arguments, modelPath: modelPath, plotPath: plotPath, dataPath: dataPath)

    Interruption.install()
    let clock = ContinuousClock()
    let loadStart = clock.now
    let dataset: Dataset
    do {
      dataset = try Dataset(
        contentsOf: dataPath,
        schema: .training(labelColumn: arguments.string("label"), weightColumn: arguments.string("weight")),
        threadCount: options.effectiveThreadCount
      ) { bytesDone, totalBytes in
        display.loading(
          dataPath, bytesDone: bytesDone, totalBytes: totalBytes, seconds: (clock.now - loadStart).seconds)
      }
    } catch {
      display.finish()
      throw .failure(error.description)
    }
    display.finish()
    let loadSeconds = (clock.now - loadStart).seconds
    let shape = (rows: dataset.rowCount, features: dataset.featureCount, classes: dataset.classCount)
    if display.mode != .silent {
      Console.error(
        "loaded \(dataPath): \(shape.rows) rows × \(shape.features) features, "
          + "\(shape.classes) classes in \(Format.duration(loadSeconds))")
    }

    do {
      // A model file is about 25 bytes per parameter; a disk without room for it is known now,
      // not after training.
      let modelBytes = 25 * shape.classes * (shape.features + 1) + 4096
      if modelPath != OutputFiles.standardOutput {
        try AtomicFile.checkSpace(modelPath, byteCount: modelBytes)
      }
    } catch {
      throw .failure(error.description)
    }
    let checkpointInterval = try arguments.integer("checkpoint", rule: "an integer ≥ 1") { $0 >= 1 }
    var lastCheckpoint: Int? = nil
    let result: Trainer.Result
    do {
      // Consumed, so that standardising in place finds the matrix uniquely referenced
      // instead of copying it.
      result = try Trainer(options: options).fit(
        consume dataset, checkpointEvery: checkpointInterval,
        onCheckpoint: { model, epoch in
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
    // Interrupted: leave the model path as it was (no model, or the previous complete one).
    if let signal = Interruption.received {
      let kept =
        lastCheckpoint.map { "\(modelPath) holds the checkpoint of epoch \($0)" }
        ?? "no model written, \(modelPath) left as it was"
      throw .interrupted(
        signal: signal,
        "interrupted by \(Interruption.name(signal)) after epoch \(result.report.epochs); \(kept)")
    }

    do {
      try OutputFiles.write(try result.model.fileBytes(), to: modelPath)
    } catch let error as CLIError {
      throw error
    } catch {
      throw .failure("\(error)")
    }
    if let plotPath {
      let name = dataPath.split(separator: "/").last.map(String.init) ?? dataPath
      let chart = TrainingCurveChart(
        report: result.report, title: "Training \(result.report.solver.rawValue) on \(name)")
      try OutputFiles.write(Array(chart.svg.utf8), to: plotPath)
    }

    if display.mode != .silent {
      Console.error(summary(result.report, loadSeconds: loadSeconds, modelPath: modelPath, plotPath: arguments.string("plot")))
    }
    if arguments.flag("json") {
      Console.output(
        summaryJSON(report: result.report, shape: shape, loadSeconds: loadSeconds, modelPath: modelPath).text)
    }
  }

  /// Refuses outputs that are inputs, two outputs that are one file, and standard output
  /// for the model together with anything else that writes there; checks each output can
  /// be written, all before loading.
  static func checkOutputs(
    _ arguments: ParsedArguments, modelPath: String, plotPath: String?, dataPath: String
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
    try OutputFiles.check(outputs: [modelPath] + (plotPath.map { [$0] } ?? []), inputs: [dataPath])
    if let plotPath {
      // The chart must not replace the model (nor the model the chart).
      guard plotPath != modelPath else {
        throw .usage("--plot and -o name the same file '\(plotPath)'", usage: nil)
      }
      try OutputFiles.check(outputs: [plotPath], inputs: [modelPath])
    }
  }

  /// The end-of-run summary for people.
  static func summary(_ report: TrainingReport, loadSeconds: Double, modelPath: String, plotPath: String?) -> String {
    var lines = [
      "done: \(report.stopReason.rawValue.replacingOccurrences(of: "_", with: " ")) after "
        + "\(report.epochs) epochs (\(report.passes) passes over \(report.rowCount) rows, "
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
    lines.append("  model      \(modelPath)")
    if let plotPath { lines.append("  chart      \(plotPath)") }
    return lines.joined(separator: "\n")
  }

  static func trainingOptions(_ arguments: ParsedArguments) throws(CLIError) -> TrainingOptions {
    var options = TrainingOptions()
    if let solver = arguments.string("solver") {
      guard let parsed = TrainingOptions.Solver(rawValue: solver) else {
        let known = TrainingOptions.Solver.allCases.map(\.rawValue).joined(separator: ", ")
        throw .usage("--solver \(solver): must be one of \(known)", usage: nil)
      }
      options.solver = parsed
    }
    if let mode = arguments.string("class-weight") {
      guard let parsed = TrainingOptions.ClassWeight(rawValue: mode) else {
        throw .usage("--class-weight \(mode): must be none or balanced", usage: nil)
      }
      options.classWeight = parsed
    }
    let finiteAtLeastZero = "a finite number ≥ 0"
    options.lambda = try arguments.double("lambda", default: options.lambda, rule: finiteAtLeastZero) { $0 >= 0 }!
    options.tolerance = try arguments.double("tolerance", default: options.tolerance, rule: "a finite number > 0") { $0 > 0 }!
    options.objectiveTolerance = try arguments.double(
      "objective-tolerance", default: options.objectiveTolerance, rule: finiteAtLeastZero) { $0 >= 0 }!
    if arguments.string("max-epochs") != nil && arguments.string("epochs") != nil {
      throw .usage("give --max-epochs or --epochs, not both", usage: nil)
    }
    let epochsOption = arguments.string("epochs") != nil ? "epochs" : "max-epochs"
    options.maxEpochs = try arguments.integer(epochsOption, default: options.maxEpochs, rule: "an integer ≥ 0") { $0 >= 0 }!
    options.memory = try arguments.integer("memory", default: options.memory, rule: "an integer from 1 to 1000") { (1...1000).contains($0) }!
    options.learningRate = try arguments.double("learning-rate", rule: "a finite number > 0") { $0 > 0 }
    options.batchSize = try arguments.integer("batch-size", default: options.batchSize, rule: "an integer ≥ 1") { $0 >= 1 }!
    options.decay = try arguments.double("decay", default: options.decay, rule: finiteAtLeastZero) { $0 >= 0 }!
    options.momentum = try arguments.double("momentum", default: options.momentum, rule: "a number in [0, 1)") { $0 >= 0 && $0 < 1 }!
    options.validationFraction = try arguments.double("validation", rule: "a fraction in (0, 1)") { $0 > 0 && $0 < 1 }
    options.earlyStoppingPatience = try arguments.integer("early-stopping", rule: "an integer ≥ 1") { $0 >= 1 }
    options.threadCount = try arguments.integer("threads", rule: "an integer ≥ 1") { $0 >= 1 }
    options.standardize = !arguments.flag("no-standardize")
    if let seed = arguments.string("seed") {
      guard let parsed = UInt64(seed) else {
        throw .usage("--seed \(seed): must be an integer from 0 to \(UInt64.max)", usage: nil)
      }
      options.seed = parsed
    }
    do {
      try options.validate()
    } catch {
      throw .usage(error.description, usage: nil)
    }
    if let initPath = arguments.string("init") {
      options.initialModel = try ModelInput.loadModel(initPath)
    }
    return options
  }

  static func summaryJSON(
    report: TrainingReport, shape: (rows: Int, features: Int, classes: Int), loadSeconds: Double,
    modelPath: String
  ) -> JSON {
    .object([
      ("rows", .integer(shape.rows)),
      ("features", .integer(shape.features)),
      ("classes", .integer(shape.classes)),
      ("threads", .integer(report.threadCount)),
      ("solver", .string(report.solver.rawValue)),
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
