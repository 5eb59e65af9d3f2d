import SoftmaxRegression

/// `softmax train DATA.csv`: fit a model and write it atomically.
enum TrainCommand {
  static let spec = CommandSpec(
    name: "train",
    summary: "Train a softmax regression model on a CSV file and save it as JSON.",
    positionals: [.init(name: "DATA.csv", help: "Training data: a header row, numeric features, one label column.")],
    options: [
      .init(name: "label", valueName: "NAME", help: "Label column (default: the last column)."),
      .init(name: "output", short: "o", valueName: "MODEL.json", help: "Where to write the model (default: model.json)."),
      .init(name: "solver", valueName: "NAME", help: "Optimizer: gd (default: gd)."),
      .init(name: "lambda", valueName: "X", help: "L2 penalty λ on the weights, ≥ 0 (default: 1e-4)."),
      .init(name: "tolerance", valueName: "X", help: "Stop when max|∇J| ≤ X, > 0 (default: 1e-5)."),
      .init(name: "max-epochs", valueName: "N", help: "Stop after N epochs, ≥ 0 (default: 1000)."),
      .init(name: "learning-rate", valueName: "X", help: "Fixed step size, > 0 (default: line search)."),
      .init(name: "threads", valueName: "N", help: "Worker threads, ≥ 1 (default: all cores)."),
      .init(name: "no-standardize", help: "Do not standardise features (default: standardise)."),
      .init(name: "seed", valueName: "N", help: "Random seed, ≥ 0 (default: 0; gd uses no randomness)."),
      .init(name: "quiet", short: "q", help: "Print no progress."),
      .init(name: "json", help: "Print a JSON summary on stdout at the end."),
    ])

  static func run(_ arguments: ParsedArguments) throws(CLIError) {
    let options = try trainingOptions(arguments)
    let dataPath = arguments.positionals[0]
    let modelPath = arguments.string("output") ?? "model.json"
    let quiet = arguments.flag("quiet")

    do {
      try AtomicFile.checkWritable(modelPath)
    } catch {
      throw .failure(error.description)
    }

    let clock = ContinuousClock()
    let loadStart = clock.now
    let dataset: Dataset
    do {
      dataset = try Dataset(csvAt: dataPath, schema: .training(labelColumn: arguments.string("label")))
    } catch {
      throw .failure(error.description)
    }
    let loadSeconds = (clock.now - loadStart).seconds
    let shape = (rows: dataset.rowCount, features: dataset.featureCount, classes: dataset.classCount)
    if !quiet {
      Console.error(
        "loaded \(dataPath): \(shape.rows) rows × \(shape.features) features, "
          + "\(shape.classes) classes in \(Format.fixed(loadSeconds, 2)) s")
    }

    let result: Trainer.Result
    do {
      result = try Trainer(options: options).fit(dataset) { epoch in
        if !quiet { Console.error(progressLine(epoch)) }
        return true
      }
    } catch {
      throw .failure(error.description)
    }

    do {
      try result.model.save(to: modelPath)
    } catch {
      throw .failure(error.description)
    }

    let report = result.report
    if !quiet {
      Console.error(
        "stopped: \(report.stopReason.rawValue) after \(report.epochs) epochs (\(report.passes) passes) "
          + "in \(Format.fixed(report.trainSeconds, 2)) s; objective \(Format.fixed(report.objective, 6)), "
          + "train accuracy \(Format.fixed(report.trainAccuracy, 4)); model written to \(modelPath)")
    }
    if arguments.flag("json") {
      Console.output(
        summaryJSON(report: report, shape: shape, loadSeconds: loadSeconds, modelPath: modelPath).text)
    }
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
    options.lambda = try arguments.double(
      "lambda", default: options.lambda, rule: "a finite number ≥ 0", isValid: { $0 >= 0 })!
    options.tolerance = try arguments.double(
      "tolerance", default: options.tolerance, rule: "a finite number > 0", isValid: { $0 > 0 })!
    options.maxEpochs = try arguments.integer(
      "max-epochs", default: options.maxEpochs, rule: "an integer ≥ 0", isValid: { $0 >= 0 })!
    options.learningRate = try arguments.double(
      "learning-rate", rule: "a finite number > 0", isValid: { $0 > 0 })
    options.threadCount = try arguments.integer(
      "threads", rule: "an integer ≥ 1", isValid: { $0 >= 1 })
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
    return options
  }

  static func progressLine(_ epoch: TrainingReport.Epoch) -> String {
    "epoch \(String(epoch.epoch).padding(5)) objective \(Format.fixed(epoch.objective, 6))  "
      + "max|∇J| \(Format.scientific(epoch.gradientMax))  accuracy \(Format.fixed(epoch.accuracy, 4))  "
      + "\(Format.rate(epoch.rowsPerSecond))rows/s"
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
      ("load_seconds", .number(loadSeconds)),
      ("train_seconds", .number(report.trainSeconds)),
      ("model", .string(modelPath)),
    ])
  }
}

extension Duration {
  var seconds: Double {
    let (seconds, attoseconds) = components
    return Double(seconds) + Double(attoseconds) * 1e-18
  }
}
