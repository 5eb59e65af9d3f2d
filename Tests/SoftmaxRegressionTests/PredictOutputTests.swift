import Foundation
import Testing

@Suite("predict --keep and --output-format")
struct PredictOutputTests {
  let temporary = TemporaryDirectory()

  /// penguins.csv's rows as fields (the file has no quoted fields).
  func penguinRows() throws -> (header: [String], rows: [[String]]) {
    let lines = try String(contentsOfFile: dataFile("penguins.csv"), encoding: .utf8)
      .split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
    return (lines[0], Array(lines.dropFirst()))
  }

  func trainedModel() throws -> String {
    let model = temporary.path + "/m.json"
    let run = try SoftmaxTool.run([
      "train", dataFile("penguins.csv"), "--label", "species", "--missing", "drop", "--ignore", "year",
      "--quiet", "-o", model,
    ])
    try #require(run.status == 0, "\(run.stderr)")
    return model
  }

  @Test("CSV: kept columns copied from each input row, dropped rows keep them, a repeated name gets input_")
  func csvKeep() throws {
    let model = try trainedModel()
    let run = try SoftmaxTool.run(["predict", model, dataFile("penguins.csv"), "--keep", "year,species,island", "--probabilities"])
    #expect(run.status == 0, "\(run.stderr)")
    let (header, rows) = try penguinRows()
    let output = run.stdout.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
    #expect(output[0] == ["year", "input_species", "island", "species", "p_Adelie", "p_Chinstrap", "p_Gentoo"])
    #expect(output.count == rows.count + 1)
    let columns = ["year", "species", "island"].map { header.firstIndex(of: $0)! }
    var empty = 0
    for (row, line) in zip(rows, output.dropFirst()) {
      #expect(Array(line.prefix(3)) == columns.map { row[$0] })
      if line[3].isEmpty {
        empty += 1
        #expect(row.contains("NA"), "a row without a missing value got no prediction: \(row)")
      }
    }
    #expect(empty == rows.filter { $0.contains("NA") }.count)
  }

  @Test("JSON: one object per input row with the CSV's labels and probabilities")
  func jsonMatchesCSV() throws {
    let model = try trainedModel()
    let csv = try SoftmaxTool.run(["predict", model, dataFile("penguins.csv"), "--probabilities", "--keep", "island"])
    let json = try SoftmaxTool.run([
      "predict", model, dataFile("penguins.csv"), "--probabilities", "--keep", "island", "--output-format", "json",
    ])
    #expect(json.status == 0, "\(json.stderr)")
    let objects = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
    let lines = csv.stdout.split(separator: "\n").dropFirst().map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
    #expect(objects.count == lines.count)
    for (index, (object, line)) in zip(objects, lines).enumerated() {
      #expect(object["row"] as? Int == index + 1)
      #expect((object["keep"] as? [String: String])?["island"] == line[0])
      if line[1].isEmpty {
        #expect(object["label"] is NSNull)
        continue
      }
      #expect(object["label"] as? String == line[1])
      let probabilities = try #require(object["probabilities"] as? [String: Double])
      for (offset, name) in ["Adelie", "Chinstrap", "Gentoo"].enumerated() {
        #expect(Float(probabilities[name] ?? -1) == Float(line[2 + offset]))
      }
    }
  }

  @Test("--keep over part files equals --keep over their concatenation; an unknown column is a located error")
  func keepParts() throws {
    let model = temporary.path + "/iris.json"
    try #require(try SoftmaxTool.run(["train", dataFile("iris.csv"), "--quiet", "-o", model]).status == 0)
    let text = try String(contentsOfFile: dataFile("iris.csv"), encoding: .utf8)
    let lines = text.split(separator: "\n")
    let directory = temporary.path + "/parts"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    for (index, range) in [1..<70, 70..<lines.count].enumerated() {
      try ([lines[0]] + lines[range]).joined(separator: "\n").appending("\n")
        .write(toFile: directory + "/part-\(index).csv", atomically: true, encoding: .utf8)
    }
    let whole = try SoftmaxTool.run(["predict", model, dataFile("iris.csv"), "--keep", "species,petal_width"])
    let parts = try SoftmaxTool.run(["predict", model, directory, "--keep", "species,petal_width"])
    #expect(parts.status == 0 && parts.stdout == whole.stdout, "\(parts.stderr)")
    #expect(whole.stdout.split(separator: "\n").count == lines.count)
    let unknown = try SoftmaxTool.run(["predict", model, dataFile("iris.csv"), "--keep", "species,nosuch"])
    #expect(unknown.status == 1 && unknown.stderr.contains("iris.csv, line 1, column nosuch: no such column"), "\(unknown.stderr)")
    #expect(unknown.stdout.isEmpty)
  }
}
