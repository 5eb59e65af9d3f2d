import Foundation
import Testing
@testable import SoftmaxRegression

@Suite("Choosing λ: LambdaSearch and train --lambda auto")
struct LambdaSearchTests {
  @Test("picks the λ with the lowest held-out loss, stops past it, and refits to the optimum at that λ")
  func choosesMinimum() throws {
    let dataset = try Dataset(csvAt: dataFile("iris.csv"))
    var search = LambdaSearch()
    search.candidates = [1, 0.1, 0.01, 1e-3, 1e-4, 1e-5, 1e-6, 1e-7]
    var options = TrainingOptions()
    options.tolerance = 1e-7
    let result = try search.run(dataset, options: options)
    let best = try #require(result.steps.min { $0.validationLoss < $1.validationLoss })
    #expect(result.chosenLambda == best.lambda)
    #expect(result.steps.map(\.lambda) == Array(search.candidates.prefix(result.steps.count)))
    // It went on only `patience` values past the best, or to the end.
    let bestIndex = try #require(result.steps.firstIndex { $0.lambda == best.lambda })
    #expect(result.steps.count == min(search.candidates.count, bestIndex + 1 + search.patience))
    // The refit is a fit on all rows at the chosen λ: the same optimum as a cold fit.
    var direct = options
    direct.lambda = result.chosenLambda
    direct.initialModel = nil
    let reference = try Trainer(options: direct).fit(dataset).report
    #expect(result.fit.report.validationRowCount == 0)
    #expect(abs(result.fit.report.objective - reference.objective) <= 1e-6 * reference.objective)
    #expect(result.fit.report.gradientMax <= options.tolerance)
    // The held-out losses at large λ fall as λ falls (the penalty dominates there).
    #expect(result.steps[0].validationLoss > result.steps[1].validationLoss)
  }

  @Test("k folds: every row in one fold, each class spread within one row per fold; the path is scored on them")
  func folds() throws {
    let dataset = try Dataset(csvAt: dataFile("iris.csv"))
    let assignment = LambdaSearch.foldAssignment(labels: dataset.labels, classCount: dataset.classCount, folds: 4, seed: 3)
    #expect(assignment.count == dataset.rowCount && assignment.allSatisfy { (0..<4).contains($0) })
    for classIndex in 0..<Int32(dataset.classCount) {
      let counts = (0..<4).map { fold in zip(assignment, dataset.labels).filter { $0.0 == fold && $0.1 == classIndex }.count }
      #expect(counts.max()! - counts.min()! <= 1, "class \(classIndex): \(counts)")
    }
    #expect(LambdaSearch.foldAssignment(labels: dataset.labels, classCount: 3, folds: 4, seed: 4) != assignment)
    var search = LambdaSearch()
    search.candidates = [0.1, 1e-3]
    search.folds = 3
    let result = try search.run(dataset, options: TrainingOptions())
    #expect(result.steps.count == 2 && result.steps.allSatisfy { $0.validationLoss > 0 && $0.validationAccuracy > 0.8 })
    search.folds = 1
    #expect(throws: TrainingError.self) { try search.run(dataset, options: TrainingOptions()) }
  }

  @Test("train --lambda auto: the table on stderr, lambda and lambda_path in --json, the chart with --plot")
  func command() throws {
    let temporary = TemporaryDirectory()
    defer { temporary.remove() }
    let chart = temporary.path + "/lambda.svg"
    let run = try SoftmaxTool.run([
      "train", dataFile("iris.csv"), "--lambda", "auto", "--json", "--plot", chart, "-o", temporary.path + "/m.json",
    ])
    #expect(run.status == 0, "\(run.stderr)")
    let object = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
    let path = try #require(object["lambda_path"] as? [[String: Any]])
    let losses = path.compactMap { $0["validation_loss"] as? Double }
    let best = try #require(losses.indices.min { losses[$0] < losses[$1] })
    #expect(object["lambda"] as? Double == path[best]["lambda"] as? Double)
    #expect(run.stderr.contains("chosen of \(path.count) tried"))
    #expect(try String(contentsOfFile: chart, encoding: .utf8).contains("chosen λ"))
    let misuse = try SoftmaxTool.run(["train", dataFile("iris.csv"), "--folds", "3"])
    #expect(misuse.status == 2 && misuse.stderr.contains("--lambda auto"))
    let oneFitFlag = try SoftmaxTool.run(["train", dataFile("iris.csv"), "--lambda", "auto", "--validation", "0.2", "--early-stopping", "3"])
    #expect(oneFitFlag.status == 2 && oneFitFlag.stderr.contains("--early-stopping belongs to one fit"), "\(oneFitFlag.stderr)")
  }
}
