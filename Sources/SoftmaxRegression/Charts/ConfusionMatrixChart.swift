/// The confusion matrix as an SVG heatmap: one cell per (true class, predicted class) with
/// its count, shaded by the fraction of that true class's rows (so rows of rare classes are
/// as readable as common ones). Title, axis labels with class names, and a colour legend.
public struct ConfusionMatrixChart: Sendable {
  /// The metrics to draw.
  public let metrics: ClassificationMetrics
  /// The chart's title.
  public let title: String

  /// A heatmap of `metrics.confusionMatrix`.
  public init(metrics: ClassificationMetrics, title: String) {
    self.metrics = metrics
    self.title = title
  }

  /// The SVG document. Cost: O(K²).
  public var svg: String {
    let names = metrics.classNames
    let count = Double(names.count)
    let longestName = Double(names.map(\.count).max() ?? 1)
    let cell = max(28, min(64, 560 / count))
    let labelSpace = min(160, 20 + 7 * longestName)
    let left = 40 + labelSpace, top = 70.0
    let width = left + cell * count + 130
    let height = top + cell * count + labelSpace + 40
    var document = SVGDocument(width: width, height: height)
    document.text(title, x: width / 2, y: 25, anchor: "middle", size: 16, weight: "bold")
    document.text(
      "accuracy \(tickLabel(metrics.accuracy)), \(metrics.rowCount) rows", x: width / 2, y: 47,
      anchor: "middle", size: 12, fill: "#555")
    for (row, counts) in metrics.confusionMatrix.enumerated() {
      let total = max(1, counts.reduce(0, +))
      for (column, value) in counts.enumerated() {
        let fraction = Double(value) / Double(total)
        let x = left + Double(column) * cell
        let y = top + Double(row) * cell
        document.rect(x: x, y: y, width: cell, height: cell, fill: Self.color(fraction), stroke: "white")
        document.text(
          String(value), x: x + cell / 2, y: y + cell / 2, anchor: "middle",
          size: min(14, cell / 2.6), fill: fraction > 0.55 ? "white" : "#222")
      }
      document.text(names[row], x: left - 8, y: top + (Double(row) + 0.5) * cell, anchor: "end", size: 12)
    }
    for (column, name) in names.enumerated() {
      let x = left + (Double(column) + 0.5) * cell
      document.text(name, x: x, y: top + cell * count + 10, anchor: "end", size: 12, rotate: -60)
    }
    document.text("predicted class", x: left + cell * count / 2, y: height - 15, anchor: "middle", size: 13)
    document.text("true class", x: 18, y: top + cell * count / 2, anchor: "middle", size: 13, rotate: -90)
    // Legend: the shade of 0%, 50% and 100% of a true class's rows.
    let legendX = left + cell * count + 30
    document.text("share of the", x: legendX, y: top, size: 11)
    document.text("true class", x: legendX, y: top + 14, size: 11)
    for (index, fraction) in [0.0, 0.25, 0.5, 0.75, 1.0].enumerated() {
      let y = top + 30 + Double(index) * 24
      document.rect(x: legendX, y: y, width: 20, height: 20, fill: Self.color(fraction), stroke: "#999")
      document.text("\(Int(fraction * 100))%", x: legendX + 28, y: y + 10, size: 11)
    }
    return document.text
  }

  /// White to dark blue.
  static func color(_ fraction: Double) -> String {
    let t = min(max(fraction, 0), 1)
    let start = (247.0, 251.0, 255.0), end = (8.0, 48.0, 107.0)
    func channel(_ a: Double, _ b: Double) -> Int { Int((a + (b - a) * t).rounded()) }
    let red = channel(start.0, end.0), green = channel(start.1, end.1), blue = channel(start.2, end.2)
    return "rgb(\(red),\(green),\(blue))"
  }
}
