import SoftmaxRegression

/// What the reader did with each column, for the train summary (lines and JSON).
enum ColumnSummary {
  /// The most column lines printed; the rest are counted.
  static let maxLines = 40

  /// One line per column, when something beyond plain numbers happened (a categorical or
  /// ignored column, a missing cell, a dropped row); nil otherwise.
  static func lines(_ report: IngestReport, featureCount: Int) -> String? {
    let eventful = report.columns.contains { $0.role != .numeric || $0.missingCount > 0 || $0.unseenCount > 0 }
    guard eventful || !report.droppedRows.isEmpty else { return nil }
    let width = min(24, report.columns.map { TerminalText.escaped($0.name).count }.max() ?? 0)
    var lines = ["columns: \(report.columns.count) read, \(featureCount) features (missing cells: \(report.missing.rawValue))"]
    for column in report.columns.prefix(maxLines) {
      lines.append("  \(TerminalText.escaped(column.name).padding(width))  \(describe(column, rule: report.missing))")
    }
    if report.columns.count > maxLines {
      lines.append("  … \(report.columns.count - maxLines) more columns (--json lists them all)")
    }
    if !report.droppedRows.isEmpty {
      lines.append("  dropped \(report.droppedRows.count) rows with a missing value")
    }
    return lines.joined(separator: "\n")
  }

  /// How one column was read, in words.
  static func describe(_ column: IngestReport.Column, rule: MissingValuePolicy) -> String {
    var text: String
    switch column.role {
    case .numeric: text = "numeric"
    case .categorical(let levels): text = "categorical, \(levels) level\(levels == 1 ? "" : "s")"
    case .label: text = "label"
    case .weight: text = "weight"
    case .ignored: return "ignored"
    }
    if column.missingCount > 0 {
      let applied: String
      switch (rule, column.role) {
      case (.drop, _): applied = "rows dropped"
      case (.mean, .categorical): applied = "a level of its own"
      case (.mean, _): applied = "filled with the training mean"
      case (.error, _): applied = "an error"
      }
      text += ", \(column.missingCount) missing (\(applied))"
    }
    if column.unseenCount > 0 { text += ", \(column.unseenCount) unseen levels (all-zero)" }
    return text
  }

  /// Every column as a JSON object: name, kind, levels, missing and unseen counts.
  static func json(_ report: IngestReport) -> JSON {
    .array(
      report.columns.map { column in
        var fields: [(String, JSON)] = [("name", .string(column.name))]
        switch column.role {
        case .numeric: fields.append(("kind", .string("numeric")))
        case .categorical(let levels): fields += [("kind", .string("categorical")), ("levels", .integer(levels))]
        case .label: fields.append(("kind", .string("label")))
        case .weight: fields.append(("kind", .string("weight")))
        case .ignored: fields.append(("kind", .string("ignored")))
        }
        fields += [("missing", .integer(column.missingCount)), ("unseen", .integer(column.unseenCount))]
        return .object(fields)
      })
  }
}
