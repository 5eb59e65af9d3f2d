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
  print(result.model.predict([5.1, 3.5, 1.4, 0.2]))          // "setosa"
  let metrics = ClassificationMetrics(model: result.model, dataset: data)
  print(metrics.accuracy, metrics.logLoss)
  // README example ends
  return (result.model.predict([5.1, 3.5, 1.4, 0.2]), metrics.accuracy)
}

@Suite("README")
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

  @Test("the README shows exactly the compiled example")
  func readmeMatchesCompiledExample() throws {
    let source = try String(contentsOfFile: #filePath, encoding: .utf8)
    let begin = try #require(source.range(of: "  // README example begins\n"))
    let end = try #require(source.range(of: "  // README example ends\n"))
    let compiled = source[begin.upperBound..<end.lowerBound]
      .split(separator: "\n", omittingEmptySubsequences: false)
      .map { $0.hasPrefix("  ") ? String($0.dropFirst(2)) : String($0) }
      .joined(separator: "\n")
    let readme = try String(contentsOfFile: packageRoot + "/README.md", encoding: .utf8)
    #expect(readme.contains("```swift\nimport SoftmaxRegression\n\n" + compiled + "```"))
  }
}
