import SoftmaxRegression

/// `softmax predict MODEL.json DATA.csv`: one predicted label (and probabilities) per row.
enum PredictCommand {
  static let spec = CommandSpec(
    name: "predict",
    summary: "Predict the class of every row of a CSV file with a saved model.",
    positionals: [
      .init(name: "MODEL.json", help: "A model written by 'softmax train'."),
      .init(name: "DATA.csv", help: "Rows with the model's feature columns (a label column is ignored); or a .smx cache; or several part files with the same header, or a directory of them (read in name order)."),
    ],
    options: [
      .init(name: "probabilities", help: "Also write each class's probability."),
      .init(name: "output", short: "o", valueName: "OUT.csv", help: "Write to a file; - is standard output (default: stdout)."),
      .init(name: "threads", valueName: "N", help: "Worker threads, ≥ 1 (default: all cores)."),
    ] + TableFlags.dialect,
    lastIsRepeated: true)

  static func run(_ arguments: ParsedArguments) throws(CLIError) {
    let outputPath = arguments.string("output")
    try OutputFiles.check(
      outputs: outputPath.map { [$0] } ?? [], inputs: arguments.positionals)
    FileChangeGuard.install(command: "predict", inputs: arguments.positionals)
    let model = try ModelInput.loadModel(arguments.positionals[0])
    let threads = try ModelInput.threadCount(arguments)
    let dataset = try ModelInput.loadData(
      Array(arguments.positionals.dropFirst()), for: model, requiresLabels: false, threadCount: threads,
      arguments: arguments, command: "predict")
    let scores: SoftmaxModel.Scores
    do {
      scores = try model.scores(for: dataset, threadCount: threads)
    } catch {
      throw .failure(error.description)
    }
    let withProbabilities = arguments.flag("probabilities")

    var header = [CSVText.field(model.labelName)]
    if withProbabilities { header += model.classNames.map { CSVText.field("p_\($0)") } }
    var lines = [header.joined(separator: ",")]
    lines.reserveCapacity(dataset.rowCount + 1)
    let classFields = model.classNames.map(CSVText.field)
    // A row left out for a missing value (a model trained with --missing drop) gets empty
    // fields, so output line i still answers input row i.
    let emptyLine = String(repeating: ",", count: header.count - 1)
    var dropped = dataset.ingest.droppedRows[...]
    var row = 0
    while row < dataset.rowCount || !dropped.isEmpty {
      if let next = dropped.first, next == lines.count - 1 {
        lines.append(emptyLine)
        dropped.removeFirst()
        continue
      }
      var line = classFields[Int(scores.predictedClasses[row])]
      if withProbabilities {
        for classIndex in 0..<model.classCount {
          line += "," + "\(scores.probabilities[row * model.classCount + classIndex])"
        }
      }
      lines.append(line)
      row += 1
    }
    let text = lines.joined(separator: "\n") + "\n"
    try OutputFiles.write(Array(text.utf8), to: outputPath ?? OutputFiles.standardOutput)
  }
}

/// Writing CSV fields.
enum CSVText {
  /// `text`, quoted (with `""` escapes) when it holds `,`, `"`, CR or LF or starts/ends with
  /// a space.
  static func field(_ text: String) -> String {
    let needsQuotes =
      text.contains { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }
      || text.first == " " || text.last == " "
    guard needsQuotes else { return text }
    return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
  }
}

import Foundation
