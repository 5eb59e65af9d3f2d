import Foundation
import Testing
@testable import SoftmaxRegression

@Suite("Models and model files")
struct ModelTests {
  func trainedModel() throws -> SoftmaxModel {
    var options = TrainingOptions()
    options.maxEpochs = 20
    return try Trainer(options: options).fit(try Dataset(csvAt: dataFile("iris.csv"))).model
  }

  @Test("saving and loading gives the identical model, and no temporary file stays")
  func roundTrip() throws {
    let model = try trainedModel()
    let temporary = TemporaryDirectory()
    defer { temporary.remove() }
    let directory = temporary.path
    let path = directory + "/model.json"
    try model.save(to: path)
    let loaded = try SoftmaxModel(contentsOf: path)
    #expect(loaded == model)
    #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["model.json"])
    try model.save(to: path)  // replacing works too
    #expect(try SoftmaxModel(contentsOf: path) == model)
  }

  @Test("probabilities sum to 1 and predict picks the most probable class")
  func probabilities() throws {
    let model = try trainedModel()
    let dataset = try Dataset(csvAt: dataFile("iris.csv"))
    let row = (0..<4).map { Float(dataset.value(row: 70, column: $0)) }
    let probabilities = try model.probabilities(for: row)
    #expect(abs(probabilities.reduce(0, +) - 1) < 1e-5)
    #expect(try model.predict(row) == model.classNames[probabilities.firstIndex(of: probabilities.max()!)!])
    let scores = try model.scores(for: dataset, threadCount: 2)
    for classIndex in 0..<3 {
      #expect(abs(scores.probabilities[70 * 3 + classIndex] - probabilities[classIndex]) < 1e-5)
    }
    #expect(try model.classNames[Int(scores.predictedClasses[70])] == model.predict(row))
  }

  @Test("corrupted, truncated, wrong-version and inconsistent files give clear errors")
  func badFiles() throws {
    let model = try trainedModel()
    let bytes = try model.fileBytes()
    let text = String(decoding: bytes, as: UTF8.self)
    let cases: [(String, (ModelError) -> Bool)] = [
      (String(text.prefix(text.count / 2)), { if case .malformed = $0 { return true } else { return false } }),
      ("", { if case .malformed = $0 { return true } else { return false } }),
      ("not json", { if case .malformed = $0 { return true } else { return false } }),
      (text.replacingOccurrences(of: "\"version\":1", with: "\"version\":3"), { $0 == .unsupportedVersion(file: "m.json", found: 3, supported: 2) }),
      (text.replacingOccurrences(of: "softmax-regression-model", with: "other"), { if case .malformed = $0 { return true } else { return false } }),
      (text.replacingOccurrences(of: "\"bias\":[", with: "\"bias\":[1,"), { if case .invalid = $0 { return true } else { return false } }),
      (text.replacingOccurrences(of: "\"classes\":[", with: "\"classes\":[\"extra\","), { if case .invalid = $0 { return true } else { return false } }),
      // A second "bias" (JSONDecoder would keep one silently), also spelled with an escape.
      (text.replacingOccurrences(of: "\"classes\":", with: "\"bias\":[1,2,3],\"classes\":"), { $0.description.contains("\"bias\" appears twice") }),
      (text.replacingOccurrences(of: "\"classes\":", with: "\"\\u0062ias\":[1,2,3],\"classes\":"), { $0.description.contains("\"bias\" appears twice") }),
      // Numbers Float32 cannot hold are located, not called corrupted JSON.
      (text.replacingOccurrences(of: "\"weights\":[[", with: "\"weights\":[[4e38,"), { $0.description.contains("weights[0][0] = 4e+38 is beyond Float32") }),
      (text.replacingOccurrences(of: "\"bias\":[", with: "\"bias\":[0,-1e39,"), { $0.description.contains("bias[1] = -1e+39 is beyond Float32") }),
    ]
    for (index, (content, matches)) in cases.enumerated() {
      do {
        _ = try SoftmaxModel(fileData: Data(content.utf8), name: "m.json")
        Issue.record("case \(index) accepted")
      } catch {
        #expect(matches(error), "case \(index): \(error)")
        #expect(error.description.hasPrefix("m.json"), "case \(index): \(error)")
      }
    }
  }

  @Test("a failed save leaves nothing behind")
  func failedSave() throws {
    let model = try trainedModel()
    #expect(throws: ModelError.self) { try model.save(to: "/nonexistent-directory/model.json") }
    let temporary = TemporaryDirectory()
    defer { temporary.remove() }
    let directory = temporary.path
    #expect(throws: ModelError.self) { try model.save(to: directory) }
    #expect(try FileManager.default.contentsOfDirectory(atPath: directory).isEmpty)
  }

  @Test("a write that cannot fit on the disk is refused before it starts, naming the space")
  func spaceCheck() throws {
    let temporary = TemporaryDirectory()
    defer { temporary.remove() }
    let directory = temporary.path
    try AtomicFile.checkSpace(directory + "/small.json", byteCount: 1024)
    #expect {
      try AtomicFile.checkSpace(directory + "/huge.smx", byteCount: Int.max / 2)
    } throws: { error in
      (error as? AtomicFile.WriteError)?.description.contains("not enough free space") == true
    }
    let dataset = try Dataset(csvAt: dataFile("iris.csv"))
    // The cache writer checks first, so nothing (not even a temporary file) is left behind.
    #expect(try FileManager.default.contentsOfDirectory(atPath: directory).isEmpty)
    try dataset.writeCache(to: directory + "/iris.smx")
    #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["iris.smx"])
  }

  @Test("models reject non-finite weights and mismatched shapes")
  func validation() {
    #expect(throws: ModelError.self) {
      try SoftmaxModel(classNames: ["a", "b"], featureNames: ["x"], labelName: "l", weights: [1, .nan], bias: [0, 0], standardization: nil)
    }
    #expect(throws: ModelError.self) {
      try SoftmaxModel(classNames: ["a", "b"], featureNames: ["x"], labelName: "l", weights: [1], bias: [0, 0], standardization: nil)
    }
    #expect(throws: ModelError.self) {
      try SoftmaxModel(classNames: ["a", "a"], featureNames: ["x"], labelName: "l", weights: [1, 2], bias: [0, 0], standardization: nil)
    }
  }
}

extension ModelTests {
  @Test("rows near ±Float.greatestFiniteMagnitude get finite probabilities that sum to 1, in every scoring path")
  func extremeRowsStayFinite() throws {
    let model = try trainedModel()
    let big = Float.greatestFiniteMagnitude
    let rows: [[Float]] = [[big, -big, big, 1], [-big, -big, -big, -big], [3e38, 0, -3e38, 2e38], [1e-45, 0, big, -1]]
    for row in rows {
      let probabilities = try model.probabilities(for: row)
      #expect(probabilities.allSatisfy { $0.isFinite }, "\(row): \(probabilities)")
      #expect(abs(probabilities.reduce(0, +) - 1) < 1e-5)
      #expect(try model.classNames.contains(model.predict(row)))
    }
    let dataset = try Dataset(rows: rows, labels: ["setosa", "versicolor", "virginica", "setosa"], featureNames: model.featureNames, labelName: model.labelName)
    let scores = try model.scores(for: dataset, threadCount: 2)
    #expect(scores.probabilities.allSatisfy { $0.isFinite }, "\(scores.probabilities)")
    let metrics = try ClassificationMetrics(model: model, dataset: dataset)
    #expect(metrics.logLoss.isFinite)
  }

  @Test("a standardisation that could only overflow is refused: a subnormal or infinite scale, a mean beyond Float32")
  func standardizationValues() throws {
    for (mean, scale) in [(0.0, 5e-324), (0.0, 1e-39), (1e308, 1.0), (-4e38, 1.0), (0.0, Double.infinity)] {
      #expect(throws: ModelError.self, "mean \(mean), scale \(scale)") {
        try SoftmaxModel(
          classNames: ["a", "b"], featureNames: ["x"], labelName: "l", weights: [1, 2], bias: [0, 0],
          standardization: Standardization(mean: [mean], scale: [scale]))
      }
    }
    // The limits themselves are valid.
    _ = try SoftmaxModel(
      classNames: ["a", "b"], featureNames: ["x"], labelName: "l", weights: [1, 2], bias: [0, 0],
      standardization: Standardization(mean: [3e38], scale: [Double(Float.leastNormalMagnitude)]))
  }
}

extension ModelTests {
  @Test("the same key in different objects, or in arrays of objects, is not a duplicate")
  func keysInDifferentObjects() {
    let json = Data(#"{"a":{"a":1,"b":[{"a":2},{"a":3}]},"b":"a","c":"\"a\""}"#.utf8)
    #expect(JSONDuplicateKeys.first(in: json) == nil)
    #expect(JSONDuplicateKeys.first(in: Data(#"{"a":[{"x":1,"y":2,"x":3}]}"#.utf8)) == "x")
  }
}

@Suite("Classification metrics")
struct MetricsTests {
  @Test("confusion matrix, accuracy, precision, recall and F1 follow their definitions")
  func definitions() throws {
    // true:      a a a b b c
    // predicted: a b a b c c
    let metrics = try ClassificationMetrics(
      classNames: ["a", "b", "c"], trueClasses: [0, 0, 0, 1, 1, 2], predictedClasses: [0, 1, 0, 1, 2, 2],
      trueClassLogProbabilities: [-0.1, -2, -0.2, -0.3, -1.5, -0.4])
    #expect(metrics.confusionMatrix == [[2, 1, 0], [0, 1, 1], [0, 0, 1]])
    #expect(metrics.accuracy == 4.0 / 6.0)
    #expect(abs(metrics.logLoss - 4.5 / 6) < 1e-12)
    let b = metrics.perClass[1]
    #expect(b.precision == 0.5 && b.recall == 0.5 && b.f1 == 0.5 && b.support == 2)
    let c = metrics.perClass[2]
    #expect(c.precision == 0.5 && c.recall == 1 && abs(c.f1 - 2.0 / 3.0) < 1e-12)
    // a: P = 2/2, R = 2/3, F1 = 0.8 (support 3); b and c as above (supports 2 and 1).
    let macro = metrics.macroAverage
    #expect(abs(macro.precision - 2.0 / 3) < 1e-12 && abs(macro.recall - 13.0 / 18) < 1e-12)
    #expect(abs(macro.f1 - (0.8 + 0.5 + 2.0 / 3) / 3) < 1e-12 && macro.support == 6)
    let weighted = metrics.weightedAverage
    #expect(abs(weighted.precision - 4.5 / 6) < 1e-12 && abs(weighted.recall - 4.0 / 6) < 1e-12)
    #expect(abs(weighted.f1 - (3 * 0.8 + 2 * 0.5 + 2.0 / 3) / 6) < 1e-12)
  }

  @Test("log loss from scores equals the scalar reference's mean data loss")
  func logLossMatchesReference() throws {
    let dataset = randomDataset(rows: 31, features: 5, classes: 3, seed: 17)
    let layout = ParameterLayout(classCount: 3, featureCount: 5)
    let (weights, bias) = layout.unpack(randomParameters(layout, seed: 2))
    let model = try SoftmaxModel(classNames: dataset.classNames, featureNames: dataset.featureNames, labelName: "label", weights: weights, bias: bias, standardization: nil)
    let metrics = try ClassificationMetrics(model: model, dataset: dataset)
    let reference = ScalarReference(dataset: dataset, lambda: 0).evaluate(
      weights: (0..<3).map { k in (0..<5).map { Double(weights[k * 5 + $0]) } }, bias: bias.map(Double.init))
    #expect(abs(metrics.logLoss - reference.value) < 1e-5)
    #expect(abs(metrics.accuracy - Double(reference.correct) / 31) < 1e-12)
  }
}

@Suite("Library input errors")
struct LibraryInputErrorTests {
  private func irisModel() throws -> (SoftmaxModel, Dataset) {
    let iris = try Dataset(csvAt: dataFile("iris.csv"))
    var options = TrainingOptions()
    options.maxEpochs = 30
    return (try Trainer(options: options).fit(iris).model, iris)
  }

  @Test("a row of the wrong length or with NaN is a typed error, not a trap")
  func badRows() throws {
    let (model, _) = try irisModel()
    #expect(throws: ModelError.mismatchedInput("a row of 3 values; the model takes 4 features")) {
      try model.predict([1, 2, 3])
    }
    #expect(performing: { try model.probabilities(for: [1, .nan, 3, 4]) }, throws: { error in
      (error as? ModelError)?.description.contains("feature 2 (sepal_width) is nan") ?? false
    })
    #expect(performing: { try model.logits(for: [1, 2, 3, .infinity]) }, throws: { ($0 as? ModelError) != nil })
  }

  @Test("scores of data with other features name the difference")
  func otherFeatures() throws {
    let (model, _) = try irisModel()
    let inMemory = try Dataset(rows: [[1, 2, 3, 4], [2, 3, 4, 5]], labels: ["setosa", "virginica"])
    #expect(performing: { try model.scores(for: inMemory) }, throws: { error in
      (error as? ModelError)?.description.contains("feature 1 is \"x1\" in the data, \"sepal_length\" in the model") ?? false
    })
  }

  @Test("metrics on a test set lacking a class match the classes by name; unlabelled rows and unknown classes throw")
  func metricsClasses() throws {
    let (model, iris) = try irisModel()
    let twoClasses = try iris.subset(Array(0..<100))  // setosa and versicolor only
    let names = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    let rows = (0..<100).map { row in (0..<4).map { Float(twoClasses.value(row: row, column: $0)) } }
    let relabelled = try Dataset(
      rows: rows, labels: twoClasses.labels.map { twoClasses.classNames[Int($0)] }, featureNames: names)
    #expect(relabelled.classNames == ["setosa", "versicolor"])
    let metrics = try ClassificationMetrics(model: model, dataset: relabelled)
    let reference = try ClassificationMetrics(model: model, dataset: twoClasses)
    #expect(metrics.confusionMatrix == reference.confusionMatrix && metrics.classNames == model.classNames)
    let unknown = try Dataset(rows: rows, labels: rows.indices.map { $0 % 2 == 0 ? "setosa" : "tulip" }, featureNames: names)
    #expect(performing: { try ClassificationMetrics(model: model, dataset: unknown) }, throws: { error in
      (error as? ModelError)?.description.contains("tulip") ?? false
    })
  }
}
