import Foundation
import Testing
@testable import SoftmaxRegression

@Suite("Codable types, batch prediction, unlabelled and Double inputs")
struct CodableAndBatchTests {
  func irisFit() throws -> (model: SoftmaxModel, report: TrainingReport, dataset: Dataset) {
    let dataset = try Dataset(csvAt: dataFile("iris.csv"))
    var options = TrainingOptions()
    options.validationFraction = 0.2
    let result = try Trainer(options: options).fit(dataset)
    return (result.model, result.report, dataset)
  }

  func roundTrip<T: Codable>(_ value: T) throws -> T {
    try JSONDecoder().decode(T.self, from: JSONEncoder().encode(value))
  }

  @Test("SoftmaxModel encodes as its model file and decodes through the same checks")
  func modelCodable() throws {
    let (model, _, _) = try irisFit()
    #expect(try roundTrip(model) == model)
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    #expect(Array(try encoder.encode(model)) + [UInt8(ascii: "\n")] == (try model.fileBytes()))
    // One weight row too few: the model-file check refuses it.
    var object = try #require(try JSONSerialization.jsonObject(with: encoder.encode(model)) as? [String: Any])
    object["weights"] = (object["weights"] as? [Any]).map { Array($0.dropLast()) }
    let corrupted = try JSONSerialization.data(withJSONObject: object)
    #expect(throws: DecodingError.self) { try JSONDecoder().decode(SoftmaxModel.self, from: corrupted) }
  }

  @Test("TrainingReport, TrainingOptions and ClassificationMetrics survive a JSON round trip")
  func othersCodable() throws {
    let (model, report, dataset) = try irisFit()
    #expect(try roundTrip(report) == report)
    #expect(report.history.count > 1 && report.history.last?.validationLoss != nil)
    var options = TrainingOptions()
    options.solver = .sgd
    options.lambda = 3e-3
    options.classWeight = .balanced
    options.threadCount = 3
    options.initialModel = model
    #expect(try roundTrip(options) == options)
    let metrics = try ClassificationMetrics(model: model, dataset: dataset)
    let decoded = try roundTrip(metrics)
    #expect(decoded == metrics && decoded.accuracy == metrics.accuracy)
    let bad = Data(#"{"classNames": ["a", "b"], "confusionMatrix": [[1, 2]], "logLoss": 0.5}"#.utf8)
    #expect(throws: DecodingError.self) { try JSONDecoder().decode(ClassificationMetrics.self, from: bad) }
  }

  @Test("predictions(for:) on rows or an unlabelled dataset agree with predict and probabilities row by row")
  func batchPrediction() throws {
    let (model, _, dataset) = try irisFit()
    let rows = (0..<dataset.rowCount).map { row in (0..<dataset.featureCount).map { Float(dataset.value(row: row, column: $0)) } }
    let batch = try model.predictions(for: rows, threadCount: 2)
    #expect(batch.count == rows.count)
    for (row, prediction) in zip(rows, batch) {
      #expect(prediction.label == (try model.predict(row)))
      #expect(model.classNames[prediction.classIndex] == prediction.label)
      for (batchP, single) in zip(prediction.probabilities, try model.probabilities(for: row)) {
        #expect(abs(batchP - single) <= 1e-6)
      }
    }
    let unlabelled = try Dataset(rows: rows, featureNames: model.featureNames)
    #expect(!unlabelled.isLabeled)
    #expect(try model.predictions(for: unlabelled, threadCount: 1) == batch)
    #expect(throws: TrainingError.self) { try Trainer().fit(unlabelled) }
    // Double rows: the same answers as the Float32 rows they round to.
    let doubles = rows.map { $0.map(Double.init) }
    #expect(try model.predictions(for: doubles) == batch)
    #expect(try model.predict(doubles[0]) == (try model.predict(rows[0])))
    #expect(try model.predict([5.1, 3.5, 1.4, 0.2]) == (try model.predict([Float(5.1), 3.5, 1.4, 0.2])))
    #expect(try model.predict([5, 3, 1, 0]) == "setosa")  // integer literals: the Float32 overload
  }

  @Test("batch and Double inputs refuse rows that do not fit, naming the row")
  func batchErrors() throws {
    let (model, _, _) = try irisFit()
    #expect {
      try model.predictions(for: [[Float](repeating: 1, count: 4), [1, 2, 3]])
    } throws: { error in
      guard case ModelError.mismatchedInput(let why) = error else { return false }
      return why.contains("row 2 has 3 values")
    }
    #expect {
      try model.predictions(for: [[1.0, 2.0, 1e300, 4.0]])
    } throws: { error in
      guard case ModelError.mismatchedInput(let why) = error else { return false }
      return why.contains("column 3") && why.contains("1e+300")
    }
    let fromDoubles = try Dataset(rows: [[1.0, 2.5], [0.1, 4.0]], labels: ["a", "b"])
    let fromFloats = try Dataset(rows: [[Float(1), 2.5], [0.1, 4]], labels: ["a", "b"])
    #expect((0..<2).allSatisfy { row in (0..<2).allSatisfy { fromDoubles.value(row: row, column: $0) == fromFloats.value(row: row, column: $0) } })
  }
}
