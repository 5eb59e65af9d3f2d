/// Classification quality of predictions against true labels: pure functions of counts.
public struct ClassificationMetrics: Sendable, Equatable {
  /// The class names, in index order (rows and columns of the confusion matrix).
  public let classNames: [String]
  /// confusionMatrix[t][p]: rows whose true class is t and predicted class is p.
  public let confusionMatrix: [[Int]]
  /// Mean −log p(y_i | x_i) over the rows (natural log).
  public let logLoss: Double

  /// Builds the metrics from per-row true and predicted class indices and log p(y_i|x_i).
  /// Cost: O(rows + K²).
  /// - Throws: `ModelError.mismatchedInput` when the arrays differ in length or an index is
  ///   not a class.
  public init(
    classNames: [String], trueClasses: [Int32], predictedClasses: [Int32],
    trueClassLogProbabilities: [Double]
  ) throws(ModelError) {
    guard trueClasses.count == predictedClasses.count, trueClassLogProbabilities.count == trueClasses.count
    else {
      throw .mismatchedInput(
        "\(trueClasses.count) true classes, \(predictedClasses.count) predictions, "
          + "\(trueClassLogProbabilities.count) log probabilities")
    }
    let valid = 0..<Int32(classNames.count)
    guard trueClasses.allSatisfy(valid.contains), predictedClasses.allSatisfy(valid.contains) else {
      throw .mismatchedInput("a class index outside 0..<\(classNames.count)")
    }
    let classCount = classNames.count
    var matrix = [[Int]](repeating: [Int](repeating: 0, count: classCount), count: classCount)
    for (truth, prediction) in zip(trueClasses, predictedClasses) {
      matrix[Int(truth)][Int(prediction)] += 1
    }
    self.classNames = classNames
    self.confusionMatrix = matrix
    let rows = Double(max(trueClasses.count, 1))
    self.logLoss = -trueClassLogProbabilities.reduce(0, +) / rows
  }

  /// Scores `dataset` with `model`. The dataset's classes may be any of the model's (a test
  /// file lacking a class is fine); they are matched by name.
  /// - Throws: `ModelError.mismatchedInput` for rows without labels, a class the model does
  ///   not know, or features other than the model's.
  public init(model: SoftmaxModel, dataset: Dataset, threadCount: Int = ShardedExecutor.availableCoreCount)
    throws(ModelError)
  {
    guard dataset.isLabeled else { throw .mismatchedInput("the rows have no labels") }
    var data = dataset
    if dataset.classNames != model.classNames {
      let schema = Dataset.Schema.matching(
        featureNames: dataset.featureNames, classNames: model.classNames, labelColumn: dataset.labelName,
        requiresLabels: true)
      do {
        data = try schema.conform(dataset, file: "<memory>")
      } catch {
        throw .mismatchedInput(error.description)
      }
    }
    let scores = try model.scores(for: data, threadCount: threadCount)
    try self.init(
      classNames: model.classNames, trueClasses: data.labels,
      predictedClasses: scores.predictedClasses,
      trueClassLogProbabilities: scores.trueClassLogProbabilities)
  }

  /// The number of rows.
  public var rowCount: Int { confusionMatrix.reduce(0) { $0 + $1.reduce(0, +) } }

  /// The fraction of rows predicted correctly (0 for no rows).
  public var accuracy: Double {
    let correct = confusionMatrix.indices.reduce(0) { $0 + confusionMatrix[$1][$1] }
    return rowCount == 0 ? 0 : Double(correct) / Double(rowCount)
  }

  /// Precision, recall, F1 and support of one class.
  public struct ClassScores: Sendable, Equatable {
    /// TP / (TP + FP); 0 when the class was never predicted.
    public var precision: Double
    /// TP / (TP + FN); 0 when the class never occurs.
    public var recall: Double
    /// 2PR / (P + R); 0 when both are 0.
    public var f1: Double
    /// Rows whose true class this is.
    public var support: Int
  }

  /// Per-class precision, recall, F1 and support, in class order.
  public var perClass: [ClassScores] {
    confusionMatrix.indices.map { classIndex in
      let truePositives = confusionMatrix[classIndex][classIndex]
      let predicted = confusionMatrix.reduce(0) { $0 + $1[classIndex] }
      let support = confusionMatrix[classIndex].reduce(0, +)
      let precision = predicted == 0 ? 0 : Double(truePositives) / Double(predicted)
      let recall = support == 0 ? 0 : Double(truePositives) / Double(support)
      let f1 = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall)
      return ClassScores(precision: precision, recall: recall, f1: f1, support: support)
    }
  }

  /// The unweighted mean of the per-class precision, recall and F1 over the classes with
  /// support (scikit-learn's "macro avg" over the labels present); support: all rows.
  public var macroAverage: ClassScores {
    let present = perClass.filter { $0.support > 0 }
    let count = Double(max(present.count, 1))
    return ClassScores(
      precision: present.reduce(0) { $0 + $1.precision } / count,
      recall: present.reduce(0) { $0 + $1.recall } / count,
      f1: present.reduce(0) { $0 + $1.f1 } / count, support: rowCount)
  }

  /// The support-weighted mean of the per-class precision, recall and F1 ("weighted avg").
  public var weightedAverage: ClassScores {
    let total = Double(max(rowCount, 1))
    let scores = perClass
    func weighted(_ value: (ClassScores) -> Double) -> Double {
      scores.reduce(0) { $0 + value($1) * Double($1.support) } / total
    }
    return ClassScores(
      precision: weighted(\.precision), recall: weighted(\.recall), f1: weighted(\.f1), support: rowCount)
  }
}

extension ClassificationMetrics: Codable {
  private enum CodingKeys: String, CodingKey {
    case classNames, confusionMatrix, logLoss
  }

  /// Encodes the counts and the log loss; the rates are recomputed when decoded.
  public func encode(to encoder: any Encoder) throws {
    var container = encoder.container(keyedBy: CodingKeys.self)
    try container.encode(classNames, forKey: .classNames)
    try container.encode(confusionMatrix, forKey: .confusionMatrix)
    try container.encode(logLoss, forKey: .logLoss)
  }

  /// Decodes metrics, checking that the confusion matrix is K × K counts ≥ 0 for K names.
  /// - Throws: `DecodingError.dataCorrupted` when it is not.
  public init(from decoder: any Decoder) throws {
    let container = try decoder.container(keyedBy: CodingKeys.self)
    let classNames = try container.decode([String].self, forKey: .classNames)
    let matrix = try container.decode([[Int]].self, forKey: .confusionMatrix)
    guard matrix.count == classNames.count, matrix.allSatisfy({ $0.count == classNames.count && $0.allSatisfy { $0 >= 0 } })
    else {
      throw DecodingError.dataCorruptedError(
        forKey: .confusionMatrix, in: container,
        debugDescription: "the confusion matrix must be \(classNames.count) × \(classNames.count) counts ≥ 0")
    }
    self.classNames = classNames
    self.confusionMatrix = matrix
    self.logLoss = try container.decode(Double.self, forKey: .logLoss)
  }
}
