import Foundation
import Testing
import SoftmaxRegression

/// The README's library example, compiled here; the test below checks that the README shows
/// exactly these lines, so the example cannot rot.
func readmeExample() throws -> (prediction: String, accuracy: Double) {
  // README example begins
  let data = try Dataset(csvAt: "data/iris.csv")            // label: last column
  var options = TrainingOptions()
  options.lambda = 1e-3
  let result = try Trainer(options: options).fit(data) { epoch in
    if epoch.epoch % 100 == 0 { print(epoch.epoch, epoch.objective) }
    return true                                              // false stops early
  }
  try result.model.save(to: "iris-model.json")
  print(try result.model.predict([5.1, 3.5, 1.4, 0.2]))      // "setosa"
  let metrics = try ClassificationMetrics(model: result.model, dataset: data)
  print(metrics.accuracy, metrics.logLoss)
  // README example ends
  return (try result.model.predict([5.1, 3.5, 1.4, 0.2]), metrics.accuracy)
}

/// The README's real-table example, compiled here the same way.
func readmeTableExample() throws -> (model: SoftmaxModel, raw: Dataset, predicted: [Int32]) {
  // README table example begins
  var schema = Dataset.Schema.training(labelColumn: "species")
  schema.missing = .mean                           // or .drop; default .error
  schema.ignoredColumns = ["year"]                 // also selectedFeatures, categoricalColumns
  schema.delimiter = UInt8(ascii: ";")             // hasHeader, missingTokens, maxLevels
  let penguins = try Dataset(csvAt: "data/penguins.csv", schema: schema)
  let model = try Trainer().fit(penguins).model    // model.table: columns, levels, fills
  let raw = try Dataset(csvAt: "new.csv", schema: .scoring(model, requiresLabels: false))
  let predicted = try model.scores(for: raw).predictedClasses   // raw.ingest: unseen levels, drops
  // README table example ends
  return (model, raw, predicted)
}

#if MPI
/// The README's example across MPI ranks, compiled with the trait (not run: it would start
/// MPI in the test process).
func readmeMPIExample(options: TrainingOptions) throws {
  // README MPI example begins
  let processes = try MPIProcesses.start()
  let data = try Dataset(csvAt: "/shared/data.csv", processes: processes)  // its share of the rows
  let result = try Trainer(options: options, processes: processes).fit(data)
  if processes.rank == 0 { try result.model.save(to: "model.json") }
  MPIProcesses.finish()
  // README MPI example ends
}
#endif

/// The lines between `// NAME begins` and `// NAME ends` in this file, unindented.
private func compiledLines(_ name: String) throws -> String {
  let source = try String(contentsOfFile: #filePath, encoding: .utf8)
  let begin = try #require(source.range(of: "  // \(name) begins\n"))
  let end = try #require(source.range(of: "  // \(name) ends\n"))
  return source[begin.upperBound..<end.lowerBound]
    .split(separator: "\n", omittingEmptySubsequences: false)
    .map { $0.hasPrefix("  ") ? String($0.dropFirst(2)) : String($0) }
    .joined(separator: "\n")
}

@Suite("README", .serialized)  // both examples change the current directory
struct ReadmeExampleTests {
  @Test("the library example runs and does what its comments say")
  func exampleRuns() throws {
    let temporary = TemporaryDirectory()
    defer { temporary.remove() }
    let directory = temporary.path
    try FileManager.default.createDirectory(atPath: directory + "/data", withIntermediateDirectories: true)
    try FileManager.default.copyItem(atPath: dataFile("iris.csv"), toPath: directory + "/data/iris.csv")
    let previous = FileManager.default.currentDirectoryPath
    #expect(FileManager.default.changeCurrentDirectoryPath(directory))
    defer { _ = FileManager.default.changeCurrentDirectoryPath(previous) }
    let (prediction, accuracy) = try readmeExample()
    #expect(prediction == "setosa")
    #expect(accuracy > 0.95)
    #expect(FileManager.default.fileExists(atPath: directory + "/iris-model.json"))
  }

  @Test("the README shows exactly the compiled examples")
  func readmeMatchesCompiledExample() throws {
    let readme = try String(contentsOfFile: packageRoot + "/README.md", encoding: .utf8)
    #expect(readme.contains("```swift\nimport SoftmaxRegression\n\n" + (try compiledLines("README example")) + "```"))
    #expect(readme.contains("```swift\n" + (try compiledLines("README table example")) + "```"))
    #expect(readme.contains("```swift\n" + (try compiledLines("README MPI example")) + "```"))
  }

  @Test("the table example reads a ';' file with text columns and NA, and scores raw rows")
  func tableExampleRuns() throws {
    let temporary = TemporaryDirectory()
    defer { temporary.remove() }
    let directory = temporary.path
    try FileManager.default.createDirectory(atPath: directory + "/data", withIntermediateDirectories: true)
    let text = try String(contentsOfFile: dataFile("penguins.csv"), encoding: .utf8)
    try text.replacingOccurrences(of: ",", with: ";").write(
      toFile: directory + "/data/penguins.csv", atomically: true, encoding: .utf8)
    try "island,bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g,sex,year\nBiscoe,50,15,220,5400,male,2009\n"
      .write(toFile: directory + "/new.csv", atomically: true, encoding: .utf8)
    let previous = FileManager.default.currentDirectoryPath
    #expect(FileManager.default.changeCurrentDirectoryPath(directory))
    defer { _ = FileManager.default.changeCurrentDirectoryPath(previous) }
    let (model, raw, predicted) = try readmeTableExample()
    #expect(model.table.ignored == ["year"] && model.table.missing == .mean)
    #expect(raw.rowCount == 1 && model.classNames[Int(predicted[0])] == "Gentoo")
  }
}
