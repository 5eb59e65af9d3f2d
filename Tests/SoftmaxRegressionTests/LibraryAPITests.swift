import Foundation
import Testing
@testable import SoftmaxRegression

@Suite("Library API")
struct LibraryAPITests {
  @Test("async fit streams every epoch in order and returns the same model as fit")
  func asyncEvents() async throws {
    let dataset = try Dataset(csvAt: dataFile("iris.csv"))
    var options = TrainingOptions()
    options.maxEpochs = 30
    let trainer = Trainer(options: options)
    let (events, continuation) = AsyncStream.makeStream(of: TrainingReport.Epoch.self)
    let training = Task { try await trainer.fit(dataset, events: continuation) }
    var seen: [Int] = []
    for await epoch in events { seen.append(epoch.epoch) }
    let result = try await training.value
    #expect(seen == Array(0...result.report.epochs))
    let synchronous = try trainer.fit(dataset, onEpoch: { _ in true })
    #expect(result.model == synchronous.model)
  }

  @Test("cancelling the task stops training and throws CancellationError")
  func cancellation() async throws {
    let dataset = try GaussianClusters(rowCount: 20_000, featureCount: 20, classCount: 5, seed: 1).makeDataset()
    var options = TrainingOptions()
    options.solver = .gd
    options.tolerance = 1e-12
    options.maxEpochs = 1_000_000
    let (events, continuation) = AsyncStream.makeStream(of: TrainingReport.Epoch.self)
    let training = Task { try await Trainer(options: options).fit(dataset, events: continuation) }
    var count = 0
    for await _ in events {
      count += 1
      if count == 3 { training.cancel() }
    }
    await #expect(throws: CancellationError.self) { try await training.value }
    #expect(count >= 3 && count < 100, "stopped soon after cancelling (\(count) epochs)")
  }

  @Test("errors describe themselves through LocalizedError")
  func localizedErrors() {
    let errors: [any Error] = [
      DatasetError(file: "d.csv", line: 3, column: 2, columnName: "x", value: "q", reason: .notANumber),
      ModelError.malformed(file: "m.json", "truncated"),
      TrainingError.invalidOption(name: "lambda", value: "-1", rule: "a finite number ≥ 0"),
    ]
    for error in errors {
      #expect((error as? LocalizedError)?.errorDescription == "\(error)")
      #expect(error.localizedDescription.contains(".csv") || error.localizedDescription.contains("m.json") || error.localizedDescription.contains("lambda"))
    }
  }

  @Test("every public declaration of the library has a doc comment")
  func publicDeclarationsAreDocumented() throws {
    let root = packageRoot + "/Sources/SoftmaxRegression"
    let files = try FileManager.default.subpathsOfDirectory(atPath: root).filter { $0.hasSuffix(".swift") }
    #expect(files.count > 20)
    let declaration = try Regex(#"^\s*public\s+((static|final|mutating|override)\s+)*(func|var|let|init|struct|enum|class|protocol|typealias|subscript)\b"#)
    var undocumented: [String] = []
    for file in files {
      let lines = try String(contentsOfFile: root + "/" + file, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
      for (index, line) in lines.enumerated() where line.contains(declaration) {
        var previous = index - 1
        while previous >= 0, lines[previous].trimmingCharacters(in: .whitespaces).hasPrefix("@")
          || (lines[previous].trimmingCharacters(in: .whitespaces).hasPrefix("//") && !lines[previous].trimmingCharacters(in: .whitespaces).hasPrefix("///")) {
          previous -= 1
        }
        if previous < 0 || !lines[previous].trimmingCharacters(in: .whitespaces).hasPrefix("///") {
          undocumented.append("\(file):\(index + 1): \(line.trimmingCharacters(in: .whitespaces))")
        }
      }
    }
    #expect(undocumented.isEmpty, "\(undocumented.joined(separator: "\n"))")
  }
}
