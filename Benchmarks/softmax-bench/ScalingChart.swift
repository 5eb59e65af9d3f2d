/// The scaling chart as SVG: speedup against threads for the kernel, the machine's FMA
/// ceiling, and ideal linear scaling. Self-contained; no dependencies.
struct ScalingChart {
  let rows: [ScalingBenchmark.Row]
  let ceilings: [MachineCeiling]
  let title: String

  var svg: String {
    let width = 720.0, height = 420.0
    let left = 70.0, right = 230.0, top = 50.0, bottom = 60.0
    let plotWidth = width - left - right, plotHeight = height - top - bottom
    let maxThreads = Double(rows.map(\.threads).max() ?? 1)
    let kernel = rows.map { (Double($0.threads), $0.speedup) }
    let ceiling = ceilings.map { (Double($0.threads), $0.fmaGflops / ceilings[0].fmaGflops) }
    let ideal = rows.map { (Double($0.threads), Double($0.threads)) }
    let largest = max(1, (kernel + ceiling + ideal).map(\.1).max() ?? 1)
    let tickStep = [0.5, 1, 2, 4, 8, 16, 32, 64].first { largest / $0 <= 8 } ?? 128
    let maxSpeedup = (largest / tickStep).rounded(.up) * tickStep
    func x(_ threads: Double) -> Double {
      maxThreads <= 1 ? left + plotWidth / 2 : left + (threads - 1) / (maxThreads - 1) * plotWidth
    }
    func y(_ speedup: Double) -> Double { top + plotHeight - speedup / maxSpeedup * plotHeight }
    func polyline(_ points: [(Double, Double)], color: String, dash: String? = nil) -> String {
      let coordinates = points.map { "\(fixed(x($0.0), 1)),\(fixed(y($0.1), 1))" }.joined(separator: " ")
      let dashAttribute = dash.map { " stroke-dasharray=\"\($0)\"" } ?? ""
      let markers = points.map {
        "<circle cx=\"\(fixed(x($0.0), 1))\" cy=\"\(fixed(y($0.1), 1))\" r=\"3.5\" fill=\"\(color)\"/>"
      }.joined()
      return "<polyline points=\"\(coordinates)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\"\(dashAttribute)/>" + markers
    }
    var parts: [String] = []
    parts.append("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" font-family=\"sans-serif\" font-size=\"12\">")
    parts.append("<rect width=\"100%\" height=\"100%\" fill=\"white\"/>")
    parts.append("<text x=\"\(Int(width / 2))\" y=\"28\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">\(escape(title))</text>")
    // Axes, ticks and grid.
    parts.append("<line x1=\"\(left)\" y1=\"\(top + plotHeight)\" x2=\"\(left + plotWidth)\" y2=\"\(top + plotHeight)\" stroke=\"black\"/>")
    parts.append("<line x1=\"\(left)\" y1=\"\(top)\" x2=\"\(left)\" y2=\"\(top + plotHeight)\" stroke=\"black\"/>")
    for threads in rows.map(\.threads) {
      let position = fixed(x(Double(threads)), 1)
      parts.append("<line x1=\"\(position)\" y1=\"\(top + plotHeight)\" x2=\"\(position)\" y2=\"\(top + plotHeight + 5)\" stroke=\"black\"/>")
      parts.append("<text x=\"\(position)\" y=\"\(top + plotHeight + 18)\" text-anchor=\"middle\">\(threads)</text>")
    }
    for value in stride(from: 0.0, through: maxSpeedup + 1e-9, by: tickStep) {
      let position = fixed(y(value), 1)
      parts.append("<line x1=\"\(left - 5)\" y1=\"\(position)\" x2=\"\(left + plotWidth)\" y2=\"\(position)\" stroke=\"#ddd\"/>")
      parts.append("<text x=\"\(left - 8)\" y=\"\(position)\" text-anchor=\"end\" dominant-baseline=\"middle\">\(fixed(value, 1))×</text>")
    }
    parts.append("<text x=\"\(left + plotWidth / 2)\" y=\"\(height - 15)\" text-anchor=\"middle\">threads</text>")
    parts.append("<text transform=\"translate(20 \(top + plotHeight / 2)) rotate(-90)\" text-anchor=\"middle\">speedup over 1 thread (×)</text>")
    parts.append(polyline(ideal, color: "#999999", dash: "6 4"))
    parts.append(polyline(ceiling, color: "#2c7fb8", dash: "3 3"))
    parts.append(polyline(kernel, color: "#d95f02"))
    // Legend.
    let legend: [(String, String, String?)] = [
      ("epoch (fused kernel)", "#d95f02", nil), ("machine FMA ceiling", "#2c7fb8", "3 3"), ("ideal (N×)", "#999999", "6 4"),
    ]
    for (index, entry) in legend.enumerated() {
      let entryY = top + 10 + Double(index) * 22
      let dash = entry.2.map { " stroke-dasharray=\"\($0)\"" } ?? ""
      parts.append("<line x1=\"\(left + plotWidth + 15)\" y1=\"\(entryY)\" x2=\"\(left + plotWidth + 45)\" y2=\"\(entryY)\" stroke=\"\(entry.1)\" stroke-width=\"2\"\(dash)/>")
      parts.append("<text x=\"\(left + plotWidth + 52)\" y=\"\(entryY)\" dominant-baseline=\"middle\">\(escape(entry.0))</text>")
    }
    parts.append("</svg>")
    return parts.joined(separator: "\n") + "\n"
  }

  private func escape(_ text: String) -> String {
    text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
      .replacingOccurrences(of: ">", with: "&gt;")
  }
}

import Foundation
