import Foundation
import Testing
@testable import SoftmaxRegression

@Suite("Training")
struct TrainerTests {
  func heldOutAccuracy(_ file: String, seed: UInt64) throws -> (accuracy: Double, report: TrainingReport) {
    let dataset = try Dataset(csvAt: dataFile(file))
    let (train, test) = stratifiedSplit(dataset, testFraction: 0.3, seed: seed)
    let result = try Trainer().fit(dataset.subset(train))
    let metrics = try ClassificationMetrics(model: result.model, dataset: try dataset.subset(test))
    return (metrics.accuracy, result.report)
  }

  @Test("iris: held-out accuracy at least 0.93")
  func iris() throws {
    let (accuracy, report) = try heldOutAccuracy("iris.csv", seed: 1)
    #expect(accuracy >= 0.93, "held-out accuracy \(accuracy)")
    #expect(report.objective < log(3.0) / 4, "the objective fell well below its start, log K")
  }

  @Test("digits: held-out accuracy at least 0.95, and the default solver converges")
  func digits() throws {
    let (accuracy, report) = try heldOutAccuracy("digits.csv", seed: 2)
    #expect(accuracy >= 0.95, "held-out accuracy \(accuracy)")
    #expect(report.stopReason == .converged || report.stopReason == .objectiveConverged)
    #expect(report.gradientMax <= 1e-4)
  }

  @Test("the line searches never increase the objective", arguments: [TrainingOptions.Solver.lbfgs, .gd])
  func monotone(solver: TrainingOptions.Solver) throws {
    let dataset = randomDataset(rows: 120, features: 7, classes: 4, seed: 3)
    var options = TrainingOptions()
    options.solver = solver
    options.maxEpochs = 60
    let report = try Trainer(options: options).fit(dataset).report
    #expect(report.history.count == report.epochs + 1)
    for (previous, next) in zip(report.history, report.history.dropFirst()) {
      #expect(next.objective <= previous.objective)
    }
    #expect(report.history[0].objective == log(4.0) || abs(report.history[0].objective - log(4.0)) < 1e-6, "zero weights give log K")
  }

  @Test("reaches the optimum: the final gradient is tiny and the reference objective agrees")
  func reachesOptimum() throws {
    let dataset = randomDataset(rows: 60, features: 3, classes: 3, seed: 12)
    var options = TrainingOptions()
    options.standardize = false
    options.lambda = 0.05
    options.tolerance = 1e-5
    options.maxEpochs = 5000
    let result = try Trainer(options: options).fit(dataset)
    #expect(result.report.stopReason == .converged)
    let model = result.model
    let reference = ScalarReference(dataset: dataset, lambda: 0.05).evaluate(
      weights: (0..<3).map { k in (0..<3).map { Double(model.weights[k * 3 + $0]) } },
      bias: model.bias.map(Double.init))
    #expect(abs(reference.value - result.report.objective) < 1e-5)
    let gradientMax = (reference.weightGradient.flatMap { $0 } + reference.biasGradient).map(abs).max()!
    #expect(gradientMax < 1e-4)
  }

  @Test("the model file is byte-identical for 1, 2, 3 and 8 threads")
  func deterministicAcrossThreads() throws {
    // 3,000 rows: three shards of 1,024, so threads really split the work.
    let dataset = try GaussianClusters(rowCount: 3000, featureCount: 13, classCount: 5, seed: 4).makeDataset()
    #expect(Shards(rowCount: dataset.rowCount).count == 3)
    let files = try [1, 2, 3, 8].map { threads in
      var options = TrainingOptions()
      options.threadCount = threads
      options.maxEpochs = 25
      return try Trainer(options: options).fit(dataset).model.fileBytes()
    }
    for file in files.dropFirst() { #expect(file == files[0]) }
  }

  @Test("a fixed learning rate takes exactly one pass per epoch")
  func fixedLearningRate() throws {
    var options = TrainingOptions()
    options.solver = .gd
    options.learningRate = 0.5
    options.maxEpochs = 15
    let report = try Trainer(options: options).fit(randomDataset(rows: 40, features: 4, classes: 3, seed: 1)).report
    #expect(report.epochs == 15 && report.passes == 16)
  }

  @Test("invalid options are rejected before training",
    arguments: [
      { (o: inout TrainingOptions) in o.lambda = -1 }, { $0.lambda = .nan }, { $0.tolerance = 0 },
      { $0.maxEpochs = -1 }, { $0.learningRate = 0 }, { $0.learningRate = .infinity }, { $0.threadCount = 0 },
    ] as [@Sendable (inout TrainingOptions) -> Void])
  func invalidOptions(change: @Sendable (inout TrainingOptions) -> Void) {
    var options = TrainingOptions()
    change(&options)
    #expect(throws: TrainingError.self) { try Trainer(options: options).fit(randomDataset(rows: 4, features: 1, classes: 2, seed: 0)) }
  }

  @Test("checkpoints arrive every N epochs with that epoch's model")
  func checkpoints() throws {
    var options = TrainingOptions()
    options.solver = .gd
    options.maxEpochs = 12
    var received: [(Int, SoftmaxModel)] = []
    let result = try Trainer(options: options).fit(
      randomDataset(rows: 50, features: 3, classes: 3, seed: 2), checkpointEvery: 5,
      onCheckpoint: { model, epoch in received.append((epoch, model)) })
    #expect(received.map(\.0) == [5, 10])
    #expect(received[0].1 != received[1].1 && received[1].1 != result.model)
    options.maxEpochs = 10
    let tenEpochs = try Trainer(options: options).fit(randomDataset(rows: 50, features: 3, classes: 3, seed: 2))
    #expect(received[1].1 == tenEpochs.model, "the epoch-10 checkpoint is the model of a 10-epoch run")
  }

  @Test("the observer can stop training, and the model is the last completed epoch's")
  func observerStops() throws {
    let result = try Trainer().fit(randomDataset(rows: 30, features: 2, classes: 2, seed: 6)) { $0.epoch < 3 }
    #expect(result.report.stopReason == .stoppedByObserver && result.report.epochs == 3)
  }
}
