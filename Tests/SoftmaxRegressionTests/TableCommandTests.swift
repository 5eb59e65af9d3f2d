import Foundation
import Testing

@testable import SoftmaxRegression

/// The commands on a real CSV with text columns and NA cells: data/penguins.csv (Palmer
/// penguins, from the `palmerpenguins` package, CC0).
@Suite("Commands on real tables (penguins.csv)")
struct TableCommandTests {
  let temporary = TemporaryDirectory()
  var directory: String { temporary.path }
  let penguins = dataFile("penguins.csv")

  private func write(_ name: String, _ text: String) -> String {
    let path = directory + "/" + name
    FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
    return path
  }

  private func train(_ extra: [String], model: String = "model.json", data: String? = nil) throws -> SoftmaxTool.Output {
    let output = try SoftmaxTool.run(
      ["train", data ?? penguins, "--label", "species", "-o", directory + "/" + model] + extra)
    #expect(output.status == 0, "\(output.stderr)")
    return output
  }

  @Test("train takes the file as it comes; predict and evaluate take the raw rows, and agree")
  func trainPredictEvaluate() throws {
    let trained = try train(["--missing", "mean", "--json"])
    let summary = try JSONSerialization.jsonObject(with: Data(trained.stdout.utf8)) as! [String: Any]
    let columns = summary["columns"] as! [[String: Any]]
    let byName = Dictionary(uniqueKeysWithValues: columns.map { ($0["name"] as! String, $0) })
    #expect(byName["island"]?["kind"] as? String == "categorical" && byName["island"]?["levels"] as? Int == 3)
    #expect(byName["sex"]?["missing"] as? Int == 11 && byName["bill_length_mm"]?["missing"] as? Int == 2)
    #expect(summary["features"] as? Int == 11)  // 3 islands, 4 measurements, 2 sexes + missing, year
    #expect(trained.stderr.contains("sex") && trained.stderr.contains("categorical, 2 levels, 11 missing (a level of its own)"))

    let modelPath = directory + "/model.json"
    let model = try SoftmaxModel(contentsOf: modelPath)
    #expect(model.table.columns.map(\.name) == ["island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "sex", "year"])
    #expect(try String(contentsOfFile: modelPath, encoding: .utf8).contains("\"version\":2"))
    #expect(try SoftmaxModel(fileData: Data(model.fileBytes())) == model)

    let predicted = try SoftmaxTool.run(["predict", modelPath, penguins])
    #expect(predicted.status == 0, "\(predicted.stderr)")
    let predictions = predicted.stdout.split(separator: "\n").dropFirst().map(String.init)
    let truth = try String(contentsOfFile: penguins, encoding: .utf8).split(separator: "\n").dropFirst()
      .map { String($0.split(separator: ",", omittingEmptySubsequences: false)[0]) }
    #expect(predictions.count == 344 && truth.count == 344)
    let correct = zip(predictions, truth).filter { $0 == $1 }.count

    let evaluated = try SoftmaxTool.run(["evaluate", modelPath, penguins, "--json"])
    let metrics = try JSONSerialization.jsonObject(with: Data(evaluated.stdout.utf8)) as! [String: Any]
    #expect(metrics["rows"] as? Int == 344)
    #expect(metrics["accuracy"] as? Double == Double(correct) / 344)
  }

  @Test("a level the model never saw encodes as zeros, with a warning; probabilities match the library's")
  func unseenLevel() throws {
    _ = try train(["--missing", "mean", "-q"])
    let model = try SoftmaxModel(contentsOf: directory + "/model.json")
    let rows = write(
      "new.csv",
      "species,island,bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g,sex,year\n"
        + "Chinstrap,Atlantis,46,17.5,192,3500,female,2008\nGentoo,Biscoe,NA,15,220,5000,,2009\n")
    let output = try SoftmaxTool.run(["predict", directory + "/model.json", rows, "--probabilities"])
    #expect(output.status == 0)
    #expect(output.stderr.contains("column island: 1 cells hold a level the model never saw"), "\(output.stderr)")
    let lines = output.stdout.split(separator: "\n").map { $0.split(separator: ",").map(String.init) }
    // Feature rows by hand: islands (Biscoe, Dream, Torgersen), measurements, sex (female,
    // male, missing), year; NA takes the training mean kept in the model.
    let fill = try #require(model.table.columns[1].fill)
    let byHand: [[Float]] = [
      [0, 0, 0, 46, 17.5, 192, 3500, 1, 0, 0, 2008],
      [1, 0, 0, Float(fill), 15, 220, 5000, 0, 0, 1, 2009],
    ]
    // The row is one where the island matters: any level in place of zeros would show.
    for island in 0..<3 {
      var withIsland = byHand[0]
      withIsland[island] = 1
      #expect(try zip(model.probabilities(for: withIsland), model.probabilities(for: byHand[0])).contains { abs($0 - $1) > 1e-3 })
    }
    for (row, features) in byHand.enumerated() {
      let expected = try model.probabilities(for: features)
      let written = lines[row + 1].dropFirst().map { Float($0)! }
      #expect(zip(expected, written).allSatisfy { abs($0 - $1) < 1e-5 }, "row \(row): \(expected) \(written)")
      #expect(try lines[row + 1][0] == model.predict(features))
    }
  }

  @Test("--missing drop: training leaves the rows out; predict keeps one line per row, empty for a dropped one")
  func dropRows() throws {
    let trained = try train(["--missing", "drop", "-q", "--json"])
    let summary = try JSONSerialization.jsonObject(with: Data(trained.stdout.utf8)) as! [String: Any]
    #expect(summary["rows"] as? Int == 333 && summary["dropped_rows"] as? Int == 11)
    let output = try SoftmaxTool.run(["predict", directory + "/model.json", penguins])
    let lines = output.stdout.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
    #expect(lines.count == 345)
    #expect(lines[4] == "" && lines[1] == "Adelie")  // line 5 of the file is all NA
    #expect(output.stderr.contains("11 rows have a missing value and get empty predictions"))
  }

  @Test("a .tsv file is read with tabs, ';' with --delimiter, and both give the CSV's model")
  func delimiters() throws {
    let text = try String(contentsOfFile: penguins, encoding: .utf8)
    let tsv = write("penguins.tsv", text.replacingOccurrences(of: ",", with: "\t"))
    let semicolons = write("penguins.txt", text.replacingOccurrences(of: ",", with: ";"))
    _ = try train(["--missing", "mean", "-q"], model: "csv.json")
    _ = try train(["--missing", "mean", "-q"], model: "tsv.json", data: tsv)
    _ = try train(["--missing", "mean", "-q", "--delimiter", ";"], model: "semicolon.json", data: semicolons)
    let csvModel = try Data(contentsOf: URL(fileURLWithPath: directory + "/csv.json"))
    #expect(try Data(contentsOf: URL(fileURLWithPath: directory + "/tsv.json")) == csvModel)
    #expect(try Data(contentsOf: URL(fileURLWithPath: directory + "/semicolon.json")) == csvModel)
    let evaluated = try SoftmaxTool.run(["evaluate", directory + "/csv.json", tsv])
    #expect(evaluated.status == 0, "\(evaluated.stderr)")
    let wrong = try SoftmaxTool.run(["train", semicolons, "-q", "-o", directory + "/x.json"])
    #expect(wrong.status == 1 && wrong.stderr.contains("no feature column") && wrong.stderr.contains("--delimiter"))
  }

  @Test("convert keeps the table: a cache trains the CSV's model and scores like it")
  func cache() throws {
    let cachePath = directory + "/penguins.smx"
    let converted = try SoftmaxTool.run(
      ["convert", penguins, cachePath, "--label", "species", "--missing", "mean", "--ignore", "year", "-q"])
    #expect(converted.status == 0, "\(converted.stderr)")
    _ = try train(["--missing", "mean", "--ignore", "year", "-q"], model: "csv.json")
    _ = try train(["-q"], model: "smx.json", data: cachePath)
    let csvModel = try Data(contentsOf: URL(fileURLWithPath: directory + "/csv.json"))
    #expect(try Data(contentsOf: URL(fileURLWithPath: directory + "/smx.json")) == csvModel)
    #expect(try SoftmaxModel(contentsOf: directory + "/csv.json").table.ignored == ["year"])
  }

  @Test("predict, evaluate and convert take part files or a directory as their concatenation")
  func partFiles() throws {
    let lines = try String(contentsOfFile: dataFile("iris.csv"), encoding: .utf8).split(separator: "\n")
    try FileManager.default.createDirectory(atPath: directory + "/parts", withIntermediateDirectories: true)
    for (index, start) in stride(from: 1, to: lines.count, by: 40).enumerated() {
      let body = lines[start..<min(lines.count, start + 40)].joined(separator: "\n")
      _ = write("parts/part-\(index).csv", String(lines[0]) + "\n" + body + "\n")
    }
    let model = directory + "/iris.json"
    #expect(try SoftmaxTool.run(["train", dataFile("iris.csv"), "-q", "-o", model]).status == 0)
    let whole = try SoftmaxTool.run(["predict", model, dataFile("iris.csv"), "--probabilities"])
    let fromDirectory = try SoftmaxTool.run(["predict", model, directory + "/parts", "--probabilities"])
    #expect(fromDirectory.status == 0 && fromDirectory.stdout == whole.stdout, "\(fromDirectory.stderr)")
    let partPaths = (0..<4).map { directory + "/parts/part-\($0).csv" }
    let evaluated = try SoftmaxTool.run(["evaluate", model] + partPaths + ["--json"])
    #expect(evaluated.stdout == (try SoftmaxTool.run(["evaluate", model, dataFile("iris.csv"), "--json"])).stdout)
    #expect(try SoftmaxTool.run(["convert", directory + "/parts", directory + "/p.smx", "-q"]).status == 0)
    #expect(try SoftmaxTool.run(["convert", dataFile("iris.csv"), directory + "/w.smx", "-q"]).status == 0)
    #expect(FileManager.default.contentsEqual(atPath: directory + "/p.smx", andPath: directory + "/w.smx"))
  }
}

@Suite("JSON outputs")
struct JSONOutputTests {
  /// The backquoted keys of the README line that starts with `prefix`.
  private func readmeKeys(_ prefix: String) throws -> [String] {
    let readme = try String(contentsOfFile: packageRoot + "/README.md", encoding: .utf8)
    let line = try #require(readme.split(separator: "\n").first { $0.hasPrefix(prefix) })
    return line.dropFirst(prefix.count).split(separator: "`").enumerated().filter { $0.offset % 2 == 1 }.map { String($0.element) }
  }

  @Test("train --json and evaluate --json have exactly the keys the README lists, and json_version 1")
  func keysMatchReadme() throws {
    let temporary = TemporaryDirectory()
    defer { temporary.remove() }
    let model = temporary.path + "/m.json"
    let trained = try SoftmaxTool.run(["train", dataFile("iris.csv"), "-q", "--json", "-o", model])
    let evaluated = try SoftmaxTool.run(["evaluate", model, dataFile("iris.csv"), "--json"])
    for (output, prefix) in [(trained, "- Keys of `train --json`:"), (evaluated, "- Keys of `evaluate --json`:")] {
      let object = try #require(try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [String: Any])
      let listed = try readmeKeys(prefix)
      #expect(Set(listed) == Set(object.keys), "\(prefix) README \(Set(listed).symmetricDifference(object.keys))")
      #expect(object["json_version"] as? Int == 1)
      #expect(object["class_names"] as? [String] == ["setosa", "versicolor", "virginica"] && object["class_count"] as? Int == 3)
    }
  }
}
