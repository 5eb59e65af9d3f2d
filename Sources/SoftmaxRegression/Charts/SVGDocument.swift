/// A tiny SVG writer: elements are appended as text, attributes escaped. No dependencies.
/// Used by the training-curve and confusion-matrix charts.
struct SVGDocument {
  let width: Double
  let height: Double
  private var elements: [String] = []

  init(width: Double, height: Double) {
    self.width = width
    self.height = height
  }

  mutating func add(_ name: String, _ attributes: [(String, String)], text: String? = nil) {
    let attributeText = attributes.map { " \($0.0)=\"\(Self.escape($0.1))\"" }.joined()
    if let text {
      elements.append("<\(name)\(attributeText)>\(Self.escape(text))</\(name)>")
    } else {
      elements.append("<\(name)\(attributeText)/>")
    }
  }

  mutating func text(
    _ value: String, x: Double, y: Double, anchor: String = "start", size: Double = 12,
    weight: String = "normal", rotate: Double? = nil, fill: String = "#222"
  ) {
    var attributes = [
      ("x", Self.number(x)), ("y", Self.number(y)), ("text-anchor", anchor),
      ("font-size", Self.number(size)), ("font-weight", weight), ("fill", fill),
      ("dominant-baseline", "middle"),
    ]
    if let rotate {
      attributes.append(("transform", "rotate(\(Self.number(rotate)) \(Self.number(x)) \(Self.number(y)))"))
    }
    add("text", attributes, text: value)
  }

  mutating func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, stroke: String, width: Double = 1, dash: String? = nil) {
    var attributes = [
      ("x1", Self.number(x1)), ("y1", Self.number(y1)), ("x2", Self.number(x2)), ("y2", Self.number(y2)),
      ("stroke", stroke), ("stroke-width", Self.number(width)),
    ]
    if let dash { attributes.append(("stroke-dasharray", dash)) }
    add("line", attributes)
  }

  mutating func polyline(_ points: [(Double, Double)], stroke: String, width: Double = 2, dash: String? = nil) {
    guard !points.isEmpty else { return }
    var attributes = [
      ("points", points.map { "\(Self.number($0.0)),\(Self.number($0.1))" }.joined(separator: " ")),
      ("fill", "none"), ("stroke", stroke), ("stroke-width", Self.number(width)),
    ]
    if let dash { attributes.append(("stroke-dasharray", dash)) }
    add("polyline", attributes)
  }

  mutating func rect(x: Double, y: Double, width: Double, height: Double, fill: String, stroke: String? = nil) {
    var attributes = [
      ("x", Self.number(x)), ("y", Self.number(y)), ("width", Self.number(width)),
      ("height", Self.number(height)), ("fill", fill),
    ]
    if let stroke { attributes.append(("stroke", stroke)) }
    add("rect", attributes)
  }

  /// The document's text.
  var text: String {
    let header =
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Self.number(width))\" "
      + "height=\"\(Self.number(height))\" viewBox=\"0 0 \(Self.number(width)) \(Self.number(height))\" "
      + "font-family=\"Helvetica, Arial, sans-serif\">"
    return ([header, "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>"] + elements + ["</svg>"])
      .joined(separator: "\n") + "\n"
  }

  /// `value` as XML text or attribute: markup characters as entities, and the characters
  /// XML 1.0 does not allow (C0 controls other than tab, line feed and carriage return,
  /// U+FFFE, U+FFFF) written visibly as `\u{XX}`, so a label cannot make the file invalid.
  static func escape(_ value: String) -> String {
    var result = ""
    for scalar in value.unicodeScalars {
      switch scalar {
      case "&": result += "&amp;"
      case "<": result += "&lt;"
      case ">": result += "&gt;"
      case "\"": result += "&quot;"
      case "\t", "\n", "\r": result.unicodeScalars.append(scalar)
      case _ where scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF:
        result += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
      default: result.unicodeScalars.append(scalar)
      }
    }
    return result
  }

  /// A coordinate with at most two decimals.
  static func number(_ value: Double) -> String {
    guard value.isFinite else { return "0" }
    let rounded = (value * 100).rounded() / 100
    return rounded == rounded.rounded() ? String(Int(rounded)) : String(rounded)
  }
}

/// Tick values for an axis: about `count` round numbers spanning [low, high].
func niceTicks(low: Double, high: Double, count: Int = 5) -> [Double] {
  guard high > low, low.isFinite, high.isFinite else { return [low] }
  let rawStep = (high - low) / Double(count)
  let magnitude = pow(10, (log10(rawStep)).rounded(.down))
  let step = [1.0, 2, 2.5, 5, 10].map { $0 * magnitude }.first { $0 >= rawStep } ?? 10 * magnitude
  var ticks: [Double] = []
  var value = (low / step).rounded(.up) * step
  while value <= high + step * 1e-9 {
    ticks.append(abs(value) < step * 1e-9 ? 0 : value)
    value += step
  }
  return ticks
}

/// A short label for a tick value.
func tickLabel(_ value: Double) -> String {
  if value == 0 { return "0" }
  let magnitude = abs(value)
  if magnitude >= 1e4 || magnitude < 1e-3 {
    let exponent = Int(log10(magnitude).rounded(.down))
    let mantissa = value / pow(10, Double(exponent))
    let mantissaText = abs(mantissa - mantissa.rounded()) < 1e-9 ? String(Int(mantissa.rounded())) : String((mantissa * 10).rounded() / 10)
    return mantissaText == "1" ? "1e\(exponent)" : "\(mantissaText)e\(exponent)"
  }
  let text = String((value * 1000).rounded() / 1000)
  return text.hasSuffix(".0") ? String(text.dropLast(2)) : text
}

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif
