import Foundation
import Testing
@testable import SoftmaxRegression

@Suite("Numerical stress")
struct NumericalStressTests {
  /// Training rows and labels from a seeded problem, transformed column-wise.
  func problem(_ transform: (Float) -> Float) throws -> Dataset {
    let base = try GaussianClusters(rowCount: 400, featureCount: 4, classCount: 3, seed: 21).makeDataset()
    let rows = (0..<base.rowCount).map { row in (0..<4).map { transform(Float(base.value(row: row, column: $0))) } }
    return try Dataset(rows: rows, labels: base.labels.map { String($0) })
  }

  @Test("with standardisation the optimum is unchanged by scaling features by 1e30 or 1e-25 or offsetting them by 1e5",
    arguments: [("×1e30", 1e30, 0), ("×1e-25", 1e-25, 0), ("+1e5", 1, 1e5)] as [(String, Float, Float)])
  func scaleInvariance(name: String, scale: Float, offset: Float) throws {
    // x + 1e5 rounds x to steps of 2^-7 in Float32, so the offset case is compared with the
    // same rounded data shifted back (exact: Sterbenz), not with the original rows.
    let reference = try Trainer().fit(try problem { offset == 0 ? $0 : ($0 + offset) - offset })
    let transformed = try Trainer().fit(try problem { $0 * scale + offset })
    let relative = abs(transformed.report.objective - reference.report.objective) / reference.report.objective
    #expect(relative < 1e-4, "\(name): objective \(transformed.report.objective) vs \(reference.report.objective)")
    #expect(transformed.model.weights.allSatisfy { $0.isFinite } && transformed.model.bias.allSatisfy { $0.isFinite })
    #expect(transformed.report.trainAccuracy == reference.report.trainAccuracy)
  }

  @Test("logits near 1e4 without standardisation neither overflow nor produce NaN")
  func hugeLogits() throws {
    let dataset = try problem { $0 * 1000 }
    var options = TrainingOptions()
    options.standardize = false
    options.maxEpochs = 50
    let result = try Trainer(options: options).fit(dataset)
    #expect(result.report.history.allSatisfy { $0.objective.isFinite && $0.gradientMax.isFinite })
    #expect(result.report.objective < result.report.history[0].objective)
    let scores = try result.model.scores(for: dataset)
    #expect(scores.probabilities.allSatisfy { $0.isFinite && $0 >= 0 && $0 <= 1 })
  }

  @Test("perfectly separable data with λ = 0: weights grow but stay finite, and training stops")
  func separableWithoutPenalty() throws {
    let rows: [[Float]] = (0..<60).map { [Float($0 % 2 == 0 ? 1 : -1) * (1 + Float($0) / 60), Float($0 % 7)] }
    let dataset = try Dataset(rows: rows, labels: (0..<60).map { $0 % 2 == 0 ? "pos" : "neg" })
    var options = TrainingOptions()
    options.lambda = 0
    options.maxEpochs = 300
    let result = try Trainer(options: options).fit(dataset)
    #expect(result.model.weights.allSatisfy { $0.isFinite })
    #expect(result.report.objective.isFinite && result.report.objective < 1e-3)
    #expect(result.report.trainAccuracy == 1)
    let file = try result.model.fileBytes()
    #expect(!String(decoding: file, as: UTF8.self).contains("nan"))
  }

  @Test("constant features and a class with a single row train without trouble")
  func degenerateColumnsAndClasses() throws {
    var random = SplitMix64(seed: 4)
    var rows = (0..<50).map { _ in [5, random.nextGaussian(), -2, random.nextGaussian()] as [Float] }
    var labels = rows.map { $0[1] > 0 ? "a" : "b" }
    rows.append([5, 9, -2, 9])
    labels.append("lonely")
    let dataset = try Dataset(rows: rows, labels: labels)
    let result = try Trainer().fit(dataset)
    #expect(result.model.standardization?.scale[0] == 1 && result.model.standardization?.scale[2] == 1)
    #expect(result.report.objective.isFinite)
    #expect(result.model.classNames == ["a", "b", "lonely"])
    #expect(try result.model.predict([5, 9, -2, 9]) == "lonely")
    for solver in TrainingOptions.Solver.allCases {
      var options = TrainingOptions()
      options.solver = solver
      options.maxEpochs = 30
      let other = try Trainer(options: options).fit(dataset)
      #expect(other.model.weights.allSatisfy { $0.isFinite }, "\(solver)")
    }
  }

  @Test("offset features (1e5 + noise, timestamps) read from text train to the optimum of the values as written, within 1e-6")
  func exactIngestOfOffsetFeatures() throws {
    var random = SplitMix64(seed: 15)
    var text = "price,stamp,small,label\n"
    var rows: [[Double]] = []
    var labels: [Int] = []
    for _ in 0..<300 {
      let label = Int(random.next() % 3)
      let noise = (0..<3).map { _ in Double(random.nextGaussian()) }
      let cells = [
        String(format: "%.6f", 100_000 + 0.01 * (noise[0] + Double(label))),
        String(format: "%.0f", 1_700_000_000 + 50 * (noise[1] - Double(label))),
        String(format: "%.4f", noise[2]),
      ]
      text += cells.joined(separator: ",") + ",c\(label)\n"
      rows.append(cells.map { strtod($0, nil) })
      labels.append(label)
    }
    let dataset = try Dataset(csvText: text, name: "offset.csv")
    var options = TrainingOptions()
    options.lambda = 1e-3
    options.tolerance = 1e-9
    let result = try Trainer(options: options).fit(dataset)
    let standardization = try #require(result.model.standardization)
    let standardized = rows.map { row in row.indices.map { (row[$0] - standardization.mean[$0]) / standardization.scale[$0] } }
    let newton = NewtonReference(rows: standardized, labels: labels, classCount: 3, lambda: 1e-3)
    let optimum = newton.objective(newton.solve())
    let reached = newton.objective(newton.theta(of: result.model))
    #expect(reached - optimum <= 1e-6 * optimum, "gap \(reached - optimum), optimum \(optimum)")
  }
}
