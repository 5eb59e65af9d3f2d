import Foundation

/// The λ path of a `LambdaSearch` as an SVG chart: held-out log loss against λ (log scale,
/// large λ on the left, as the path runs), the chosen λ marked. Title, labelled axes.
public struct LambdaPathChart: Sendable {
  /// The path's steps, in the order tried.
  public let steps: [LambdaSearch.Step]
  /// The chosen λ.
  public let chosenLambda: Double
  /// The chart's title.
  public let title: String

  /// A chart of `result`'s path.
  public init(result: LambdaSearch.Result, title: String) {
    steps = result.steps
    chosenLambda = result.chosenLambda
    self.title = title
  }

  /// The SVG document. Cost: O(steps).
  public var svg: String {
    var document = SVGDocument(width: 720, height: 420)
    let left = 80.0, right = 30.0, top = 55.0, bottom = 60.0
    let plotWidth = document.width - left - right
    let plotHeight = document.height - top - bottom
    document.text(title, x: left + plotWidth / 2, y: 25, anchor: "middle", size: 16, weight: "bold")
    // λ = 0 cannot sit on a log axis: drawn at a decade below the smallest positive λ.
    let positive = steps.map(\.lambda).filter { $0 > 0 }
    let floor = (positive.min() ?? 1e-6) / 10
    func logLambda(_ lambda: Double) -> Double { log10(max(lambda, floor)) }
    let high = (steps.map { logLambda($0.lambda) }.max() ?? 0).rounded(.up)
    let low = min(high - 1, (steps.map { logLambda($0.lambda) }.min() ?? -1).rounded(.down))
    let losses = steps.map(\.validationLoss).filter(\.isFinite)
    let lossLow = (losses.min() ?? 0) * 0.95, lossHigh = max((losses.max() ?? 1) * 1.05, lossLow + 1e-9)
    func x(_ lambda: Double) -> Double { left + (high - logLambda(lambda)) / (high - low) * plotWidth }
    func y(_ loss: Double) -> Double { top + plotHeight - (loss - lossLow) / (lossHigh - lossLow) * plotHeight }

    var exponent = high
    while exponent >= low {
      let position = x(pow(10, exponent))
      document.line(position, top, position, top + plotHeight, stroke: "#e4e4e4")
      document.text("1e\(Int(exponent))", x: position, y: top + plotHeight + 17, anchor: "middle", size: 11)
      exponent -= 1
    }
    for tick in niceTicks(low: lossLow, high: lossHigh, count: 5) {
      document.line(left - 5, y(tick), left, y(tick), stroke: "#222")
      document.text(tickLabel(tick), x: left - 8, y: y(tick), anchor: "end", size: 11)
    }
    document.line(left, top, left, top + plotHeight, stroke: "#222")
    document.line(left, top + plotHeight, left + plotWidth, top + plotHeight, stroke: "#222")
    document.text("λ (log scale)", x: left + plotWidth / 2, y: document.height - 18, anchor: "middle", size: 13)
    document.text("held-out log loss", x: 22, y: top + plotHeight / 2, anchor: "middle", size: 13, rotate: -90)
    let points = steps.filter { $0.validationLoss.isFinite }.map { (x($0.lambda), y($0.validationLoss)) }
    document.polyline(points, stroke: "#d95f02")
    for point in points { document.rect(x: point.0 - 3, y: point.1 - 3, width: 6, height: 6, fill: "#d95f02") }
    if let chosen = steps.first(where: { $0.lambda == chosenLambda }) {
      document.line(x(chosen.lambda), top, x(chosen.lambda), top + plotHeight, stroke: "#1b9e77", dash: "6 4")
      document.text(
        "chosen λ = \(chosenLambda)", x: x(chosen.lambda) + 6, y: top + 14, size: 12)
    }
    return document.text
  }
}
