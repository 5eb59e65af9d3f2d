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
      .init(name: "keep", valueName: "NAME[,NAME…]", help: "Copy these input columns (ids, names) into each output row, before the prediction."),
      .init(name: "output-format", valueName: "FORMAT", help: "csv (a header, then one line per input row) or json (an array of one object per input row) (default: csv)."),
      .init(name: "output", short: "o", valueName: "OUT", help: "Write to a file; - is standard output (default: stdout)."),
      .init(name: "threads", valueName: "N", help: "Worker threads, ≥ 1 (default: all cores)."),
    ] + TableFlags.dialect,
    repeated: 1)

  static func run(_ arguments: ParsedArguments) throws(CLIError) {
    let outputPath = arguments.string("output")
    let format = arguments.string("output-format") ?? "csv"
    guard format == "csv" || format == "json" else {
      throw .usage("--output-format \(format): must be csv or json", usage: nil)
    }
    try OutputFiles.check(
      outputs: outputPath.map { [$0] } ?? [], inputs: arguments.positionals)
    FileChangeGuard.install(command: "predict", inputs: arguments.positionals)
    let model = try ModelInput.loadModel(arguments.positionals[0])
    let threads = try ModelInput.threadCount(arguments)
    let dataArguments = Array(arguments.positionals.dropFirst())
    let dataset = try ModelInput.loadData(
      dataArguments, for: model, requiresLabels: false, threadCount: threads,
      arguments: arguments, command: "predict")
    let scores: SoftmaxModel.Scores
    do {
      scores = try model.scores(for: dataset, threadCount: threads)
    } catch {
      throw .failure(error.description)
    }
    let kept = try keptColumns(arguments, dataArguments: dataArguments, rowCount: dataset.rowCount + dataset.ingest.droppedRows.count)
    let predictions = Predictions(
      model: model, scores: scores, droppedRows: dataset.ingest.droppedRows,
      withProbabilities: arguments.flag("probabilities"), kept: kept)
    let text = format == "json" ? predictions.json() : predictions.csv()
    try OutputFiles.write(Array(text.utf8), to: outputPath ?? OutputFiles.standardOutput)
  }

  /// The `--keep` columns' names and their text in every input row (parts concatenated).
  private static func keptColumns(
    _ arguments: ParsedArguments, dataArguments: [String], rowCount: Int
  ) throws(CLIError) -> (names: [String], rows: [[String]]) {
    guard let list = arguments.string("keep") else { return ([], []) }
    let names = TableFlags.names(list)
    guard !names.isEmpty else { throw .usage("--keep needs at least one column name", usage: nil) }
    let parts = try ModelInput.dataFiles(dataArguments)
    var rows: [[String]] = []
    for part in parts {
      guard part != "-" else { throw .usage("--keep reads the data twice, so it needs a file, not standard input", usage: nil) }
      guard !part.hasSuffix(".smx") else {
        throw .usage("--keep needs the CSV file: a .smx cache holds only the model's features", usage: nil)
      }
      var schema = Dataset.Schema.training()
      try TableFlags.applyDialect(arguments, path: part, to: &schema)
      let copy = try ModelInput.decompressedCopy(part, displayName: part)
      defer { if let copy { unlink(copy) } }
      do throws(DatasetError) {
        rows += try Dataset.columnText(names, csvAt: copy ?? part, delimiter: schema.delimiter, hasHeader: schema.hasHeader)
      } catch {
        let located = copy == nil ? error : error.located(in: part)
        throw .failure("--keep: " + located.description(naming: .flags))
      }
    }
    guard rows.count == rowCount else {
      throw .failure("--keep read \(rows.count) rows but the data has \(rowCount); did the file change?")
    }
    return (names, rows)
  }
}

/// The rows `predict` writes: for each input row, the kept columns, the predicted class and
/// (optionally) each class's probability; a row left out for a missing value (a model trained
/// with --missing drop) gets its kept columns and empty predictions, so output row i still
/// answers input row i.
struct Predictions {
  let model: SoftmaxModel
  let scores: SoftmaxModel.Scores
  let droppedRows: [Int]
  let withProbabilities: Bool
  let kept: (names: [String], rows: [[String]])

  /// For each input row, its row in `scores`, or nil when it was dropped.
  private var scoredRows: [Int?] {
    var result: [Int?] = []
    var dropped = droppedRows[...]
    var row = 0
    while row < scores.predictedClasses.count || !dropped.isEmpty {
      if let next = dropped.first, next == result.count {
        result.append(nil)
        dropped.removeFirst()
      } else {
        result.append(row)
        row += 1
      }
    }
    return result
  }

  /// The CSV columns: kept columns (prefixed `input_` where a name would repeat a prediction
  /// column), the label column's name, then `p_CLASS` per class.
  var csvHeader: [String] {
    var predicted = [model.labelName]
    if withProbabilities { predicted += model.classNames.map { "p_\($0)" } }
    let keptNames = kept.names.map { predicted.contains($0) ? "input_" + $0 : $0 }
    return keptNames + predicted
  }

  func csv() -> String {
    var lines = [csvHeader.map(CSVText.field).joined(separator: ",")]
    let classFields = model.classNames.map(CSVText.field)
    for (index, scored) in scoredRows.enumerated() {
      var fields = kept.rows.isEmpty ? [] : kept.rows[index].map(CSVText.field)
      if let row = scored {
        fields.append(classFields[Int(scores.predictedClasses[row])])
        if withProbabilities {
          for classIndex in 0..<model.classCount {
            fields.append("\(scores.probabilities[row * model.classCount + classIndex])")
          }
        }
      } else {
        fields += Array(repeating: "", count: 1 + (withProbabilities ? model.classCount : 0))
      }
      lines.append(fields.joined(separator: ","))
    }
    return lines.joined(separator: "\n") + "\n"
  }

  /// One object per input row: `row` (1-based), `label` (null for a dropped row),
  /// `probabilities` (class → probability, with --probabilities), `keep` (name → text).
  func json() -> String {
    var objects: [String] = []
    for (index, scored) in scoredRows.enumerated() {
      var pairs: [(String, JSON)] = [("row", .integer(index + 1))]
      pairs.append(("label", scored.map { .string(model.classNames[Int(scores.predictedClasses[$0])]) } ?? .null))
      if withProbabilities {
        pairs.append((
          "probabilities",
          scored.map { row in
            .object(model.classNames.indices.map { (model.classNames[$0], .float(scores.probabilities[row * model.classCount + $0])) })
          } ?? .null
        ))
      }
      if !kept.names.isEmpty {
        pairs.append(("keep", .object(zip(kept.names, kept.rows[index]).map { ($0, .string($1)) })))
      }
      objects.append(JSON.object(pairs).text)
    }
    return objects.isEmpty ? "[]\n" : "[\n" + objects.joined(separator: ",\n") + "\n]\n"
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
