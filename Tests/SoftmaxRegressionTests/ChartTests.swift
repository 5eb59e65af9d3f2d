import Foundation
#if canImport(FoundationXML)
  import FoundationXML
#endif
import Testing
@testable import SoftmaxRegression

/// Parses SVG text as XML and collects its elements and texts.
final class SVGInspector: NSObject, XMLParserDelegate {
  private(set) var elements: [(name: String, attributes: [String: String])] = []
  private(set) var texts: [String] = []
  private var currentText = ""
  private var inText = false

  init(_ svg: String) throws {
    super.init()
    let parser = XMLParser(data: Data(svg.utf8))
    parser.delegate = self
    guard parser.parse() else { throw parser.parserError ?? CocoaError(.fileReadCorruptFile) }
  }

  func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
    elements.append((name, attributes))
    if name == "text" { inText = true; currentText = "" }
  }

  func parser(_ parser: XMLParser, foundCharacters string: String) {
    if inText { currentText += string }
  }

  func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
    if name == "text" { texts.append(currentText); inText = false }
  }

  func count(_ name: String) -> Int { elements.filter { $0.name == name }.count }
}

@Suite("Charts")
struct ChartTests {
  @Test("the training curve is valid SVG with title, axis labels, legend and one point per epoch")
  func trainingCurve() throws {
    let dataset = try Dataset(csvAt: dataFile("iris.csv"))
    var options = TrainingOptions()
    options.validationFraction = 0.3
    options.maxEpochs = 25
    let report = try Trainer(options: options).fit(dataset).report
    let svg = try SVGInspector(TrainingCurveChart(report: report, title: "Iris <lbfgs> & co").svg)
    #expect(svg.elements.first?.name == "svg")
    #expect(svg.texts.contains("Iris <lbfgs> & co"), "the title is escaped and kept")
    for label in ["epoch", "objective J (log scale)", "accuracy (fraction)", "training objective",
                  "training accuracy", "validation loss", "validation accuracy"] {
      #expect(svg.texts.contains(label), "missing \(label)")
    }
    let lines = svg.elements.filter { $0.name == "polyline" }
    #expect(lines.count == 4)
    for line in lines {
      let points = line.attributes["points"]?.split(separator: " ") ?? []
      #expect(points.count == report.history.count)
    }
  }

  @Test("without validation the curve has two lines and no validation legend")
  func curveWithoutValidation() throws {
    var options = TrainingOptions()
    options.maxEpochs = 5
    let report = try Trainer(options: options).fit(randomDataset(rows: 30, features: 2, classes: 3, seed: 1)).report
    let svg = try SVGInspector(TrainingCurveChart(report: report, title: "t").svg)
    #expect(svg.count("polyline") == 2 && !svg.texts.contains("validation loss"))
  }

  @Test("the confusion heatmap has one cell and one count per pair of classes")
  func confusionHeatmap() throws {
    let metrics = try ClassificationMetrics(
      classNames: ["cat", "dog", "a \"bird\""], trueClasses: [0, 0, 1, 1, 2, 2, 2], predictedClasses: [0, 1, 1, 1, 2, 0, 2],
      trueClassLogProbabilities: [Double](repeating: -0.1, count: 7))
    let svg = try SVGInspector(ConfusionMatrixChart(metrics: metrics, title: "Confusion").svg)
    let cells = svg.elements.filter { $0.name == "rect" && $0.attributes["stroke"] == "white" }
    #expect(cells.count == 9)
    let counts = metrics.confusionMatrix.flatMap { $0 }.map(String.init)
    #expect(svg.texts.filter { counts.contains($0) }.count >= 9)
    for label in ["Confusion", "predicted class", "true class", "cat", "dog", "a \"bird\""] {
      #expect(svg.texts.contains(label), "missing \(label)")
    }
  }
}
