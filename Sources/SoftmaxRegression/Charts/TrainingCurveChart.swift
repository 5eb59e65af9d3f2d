/// The training curves as an SVG chart: the objective J per epoch on a log scale (left axis)
/// and the training accuracy per epoch (right axis, 0–1), with the validation loss and
/// accuracy when the run had a validation split. Title, labelled axes, legend.
public struct TrainingCurveChart: Sendable {
  /// The history to draw (one entry per epoch, from epoch 0).
  public let history: [TrainingReport.Epoch]
  /// The chart's title.
  public let title: String

  /// A chart of `report`'s history.
  public init(report: TrainingReport, title: String) {
    self.history = report.history
    self.title = title
  }

  /// The SVG document. Cost: O(epochs).
  public var svg: String {
    var document = SVGDocument(width: 860, height: 440)
    let left = 80.0, right = 290.0, top = 55.0, bottom = 60.0
    let plotWidth = document.width - left - right
    let plotHeight = document.height - top - bottom
    document.text(title, x: left + plotWidth / 2, y: 25, anchor: "middle", size: 16, weight: "bold")

    let epochs = history.map { Double($0.epoch) }
    let maxEpoch = max(1, epochs.max() ?? 1)
    let losses = history.map(\.objective) + history.compactMap(\.validationLoss)
    let positive = losses.filter { $0 > 0 && $0.isFinite }
    let lowExponent = (log10(positive.min() ?? 1e-3)).rounded(.down)
    let highExponent = max(lowExponent + 1, (log10(positive.max() ?? 1)).rounded(.up))
    func x(_ epoch: Double) -> Double { left + epoch / maxEpoch * plotWidth }
    func yLoss(_ value: Double) -> Double {
      let clamped = max(value, pow(10, lowExponent))
      return top + plotHeight - (log10(clamped) - lowExponent) / (highExponent - lowExponent) * plotHeight
    }
    func yAccuracy(_ value: Double) -> Double { top + plotHeight - value * plotHeight }

    // Grid and axes.
    var exponent = lowExponent
    while exponent <= highExponent {
      let y = yLoss(pow(10, exponent))
      document.line(left, y, left + plotWidth, y, stroke: "#e4e4e4")
      document.text("1e\(Int(exponent))", x: left - 8, y: y, anchor: "end", size: 11)
      exponent += 1
    }
    for tick in niceTicks(low: 0, high: maxEpoch, count: 6) {
      document.line(x(tick), top + plotHeight, x(tick), top + plotHeight + 5, stroke: "#222")
      document.text(tickLabel(tick), x: x(tick), y: top + plotHeight + 17, anchor: "middle", size: 11)
    }
    for tick in stride(from: 0.0, through: 1.0, by: 0.2) {
      let y = yAccuracy(tick)
      document.line(left + plotWidth, y, left + plotWidth + 5, y, stroke: "#222")
      document.text(tickLabel(tick), x: left + plotWidth + 8, y: y, size: 11)
    }
    document.line(left, top, left, top + plotHeight, stroke: "#222")
    document.line(left, top + plotHeight, left + plotWidth, top + plotHeight, stroke: "#222")
    document.line(left + plotWidth, top, left + plotWidth, top + plotHeight, stroke: "#222")
    document.text("epoch", x: left + plotWidth / 2, y: document.height - 18, anchor: "middle", size: 13)
    document.text("objective J (log scale)", x: 22, y: top + plotHeight / 2, anchor: "middle", size: 13, rotate: -90)
    document.text("accuracy (fraction)", x: left + plotWidth + 48, y: top + plotHeight / 2, anchor: "middle", size: 13, rotate: 90)

    // Curves.
    var legend: [(String, String, String?)] = []
    document.polyline(history.map { (x(Double($0.epoch)), yLoss($0.objective)) }, stroke: "#d95f02")
    legend.append(("training objective", "#d95f02", nil))
    document.polyline(history.map { (x(Double($0.epoch)), yAccuracy($0.accuracy)) }, stroke: "#1b9e77")
    legend.append(("training accuracy", "#1b9e77", nil))
    let validated = history.filter { $0.validationLoss != nil }
    if !validated.isEmpty {
      document.polyline(validated.map { (x(Double($0.epoch)), yLoss($0.validationLoss!)) }, stroke: "#d95f02", dash: "6 4")
      legend.append(("validation loss", "#d95f02", "6 4"))
      document.polyline(validated.map { (x(Double($0.epoch)), yAccuracy($0.validationAccuracy!)) }, stroke: "#1b9e77", dash: "6 4")
      legend.append(("validation accuracy", "#1b9e77", "6 4"))
    }
    for (index, entry) in legend.enumerated() {
      let y = top + 12 + Double(index) * 22
      let legendX = left + plotWidth + 75
      document.line(legendX, y, legendX + 28, y, stroke: entry.1, width: 2, dash: entry.2)
      document.text(entry.0, x: legendX + 34, y: y, size: 12)
    }
    return document.text
  }
}

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif
