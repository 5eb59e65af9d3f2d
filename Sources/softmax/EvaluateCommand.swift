import SoftmaxRegression

/// `softmax evaluate MODEL.json DATA.csv`: accuracy, log loss, confusion matrix, per-class
/// precision, recall and F1.
enum EvaluateCommand {
  static let spec = CommandSpec(
    name: "evaluate",
    summary: "Measure a saved model on labelled data.",
    positionals: [
      .init(name: "MODEL.json", help: "A model written by 'softmax train'."),
      .init(name: "DATA.csv", help: "Rows with the model's feature columns and its label column; or a .smx cache; or several part files with the same header, or a directory of them (read in name order)."),
    ],
    options: [
      .init(name: "json", help: "Print the results as one JSON object on stdout."),
      .init(name: "threads", valueName: "N", help: "Worker threads, ≥ 1 (default: all cores)."),
      .init(name: "plot", valueName: "CONFUSION.svg", help: "Write the confusion matrix as an SVG heatmap."),
    ] + TableFlags.dialect,
    repeated: 1)

  static func run(_ arguments: ParsedArguments) throws(CLIError) {
    let plotPath = arguments.string("plot")
    try OutputFiles.check(outputs: plotPath.map { [$0] } ?? [], inputs: arguments.positionals)
    FileChangeGuard.install(command: "evaluate", inputs: arguments.positionals)
    let model = try ModelInput.loadModel(arguments.positionals[0])
    let threads = try ModelInput.threadCount(arguments)
    let dataset = try ModelInput.loadData(
      Array(arguments.positionals.dropFirst()), for: model, requiresLabels: true, threadCount: threads,
      arguments: arguments, command: "evaluate")
    let metrics: ClassificationMetrics
    do {
      metrics = try ClassificationMetrics(model: model, dataset: dataset, threadCount: threads)
    } catch {
      throw .failure(error.description)
    }
    if let plotPath {
      let name = arguments.positionals[1].split(separator: "/").last.map(String.init) ?? ""
      let chart = ConfusionMatrixChart(metrics: metrics, title: "Confusion matrix on \(name)")
      try OutputFiles.write(Array(chart.svg.utf8), to: plotPath)
    }
    if arguments.flag("json") {
      Console.output(json(metrics).text)
    } else {
      Console.output(report(metrics))
    }
  }

  static func json(_ metrics: ClassificationMetrics) -> JSON {
    let perClass = zip(metrics.classNames, metrics.perClass).map { name, scores in
      JSON.object([
        ("class", .string(name)), ("precision", .number(scores.precision)),
        ("recall", .number(scores.recall)), ("f1", .number(scores.f1)),
        ("support", .integer(scores.support)),
      ])
    }
    return .object([
      ("json_version", .integer(JSON.outputVersion)),
      ("rows", .integer(metrics.rowCount)),
      ("accuracy", .number(metrics.accuracy)),
      ("log_loss", .number(metrics.logLoss)),
      ("classes", .array(metrics.classNames.map(JSON.string))),
      ("class_count", .integer(metrics.classNames.count)),
      ("class_names", .array(metrics.classNames.map(JSON.string))),
      ("confusion_matrix", .array(metrics.confusionMatrix.map { .array($0.map(JSON.integer)) })),
      ("per_class", .array(perClass)),
      ("macro_average", scoresJSON(metrics.macroAverage)),
      ("weighted_average", scoresJSON(metrics.weightedAverage)),
    ])
  }

  private static func scoresJSON(_ scores: ClassificationMetrics.ClassScores) -> JSON {
    .object([
      ("precision", .number(scores.precision)), ("recall", .number(scores.recall)),
      ("f1", .number(scores.f1)), ("support", .integer(scores.support)),
    ])
  }

  static func report(_ metrics: ClassificationMetrics) -> String {
    var lines = [
      "rows      \(metrics.rowCount)",
      "accuracy  \(Format.fixed(metrics.accuracy, 4))",
      "log loss  \(Format.fixed(metrics.logLoss, 4))",
      "",
      "confusion matrix (rows: true class, columns: predicted class)",
    ]
    let names = metrics.classNames.map { TerminalText.escaped($0) }
    let counts = metrics.confusionMatrix.flatMap { $0 }.map(String.init)
    let width = max(names.map(\.count).max() ?? 0, counts.map(\.count).max() ?? 0)
    func right(_ text: String) -> String { text.leftPadded(width) }
    lines.append(([String(repeating: " ", count: width)] + names.map(right)).joined(separator: "  "))
    for (name, row) in zip(names, metrics.confusionMatrix) {
      lines.append(([right(name)] + row.map { right(String($0)) }).joined(separator: "  "))
    }
    let classWidth = max("weighted avg".count, names.map(\.count).max() ?? 0)
    lines += ["", "\("class".padding(classWidth))  precision  recall     f1  support"]
    let rows = zip(names, metrics.perClass).map { ($0, $1) }
      + [("macro avg", metrics.macroAverage), ("weighted avg", metrics.weightedAverage)]
    for (name, scores) in rows {
      lines.append(
        "\(name.padding(classWidth))  \(Format.fixed(scores.precision, 4).leftPadded(9))"
          + "  \(Format.fixed(scores.recall, 4).leftPadded(6))"
          + "  \(Format.fixed(scores.f1, 4).leftPadded(6))  \(String(scores.support).leftPadded(7))")
    }
    return lines.joined(separator: "\n")
  }
}

extension String {
  func leftPadded(_ width: Int) -> String {
    count >= width ? self : String(repeating: " ", count: width - count) + self
  }
}
