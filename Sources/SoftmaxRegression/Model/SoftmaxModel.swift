import Foundation

/// A trained softmax regression model: p(k | x) = exp(w_k·x' + b_k) / Σ_l exp(w_l·x' + b_l),
/// where x' is x standardised with the training statistics when the model has them.
///
/// Weights are K × D, row-major (row k is w_k). Predicting takes raw feature values, in the
/// order of `featureNames`; the model applies its own standardisation.
public struct SoftmaxModel: Sendable, Equatable {
  /// Class names, in class-index order.
  public let classNames: [String]
  /// Feature names, in the order the weights expect.
  public let featureNames: [String]
  /// The label column's name in the training data.
  public let labelName: String
  /// K × D weights, row-major.
  public let weights: [Float]
  /// K biases.
  public let bias: [Float]
  /// The standardisation applied to raw features before the linear map, if any.
  public let standardization: Standardization?
  /// How raw table columns become `featureNames` (numeric columns, categorical levels,
  /// missing values), as learnt from the training data.
  public let table: TableEncoding

  /// The number of classes K.
  public var classCount: Int { classNames.count }
  /// The number of features D.
  public var featureCount: Int { featureNames.count }

  /// A model from its parts.
  /// - Throws: `ModelError.invalid` when the shapes disagree, values are not finite, or
  ///   names repeat.
  public init(
    classNames: [String], featureNames: [String], labelName: String, weights: [Float],
    bias: [Float], standardization: Standardization?, table: TableEncoding? = nil
  ) throws(ModelError) {
    func invalid(_ why: String) -> ModelError { .invalid(file: nil, why) }
    let table = table ?? .numeric(featureNames)
    guard table.featureNames == featureNames else {
      throw invalid("the input columns give features other than the model's \(featureNames.count)")
    }
    guard classNames.count >= 2 else { throw invalid("a model needs at least 2 classes") }
    guard !ExactText.hasRepeats(classNames) else { throw invalid("class names repeat") }
    guard !ExactText.hasRepeats(featureNames) else {
      throw invalid("feature names repeat")
    }
    guard weights.count == classNames.count * featureNames.count else {
      throw invalid(
        "weights have \(weights.count) values, expected \(classNames.count) classes × "
          + "\(featureNames.count) features")
    }
    guard bias.count == classNames.count else {
      throw invalid("bias has \(bias.count) values, expected \(classNames.count)")
    }
    guard weights.allSatisfy(\.isFinite), bias.allSatisfy(\.isFinite) else {
      throw invalid("weights or bias hold NaN or infinity")
    }
    if let standardization {
      guard standardization.mean.count == featureNames.count,
        standardization.scale.count == featureNames.count
      else { throw invalid("standardisation does not have one entry per feature") }
      // Features are Float32, so a mean beyond Float32's range or a scale below its smallest
      // normal (which training never produces) could only overflow what they are used for.
      let floatMaximum = Double(Float.greatestFiniteMagnitude)
      if let feature = standardization.mean.indices.first(where: { !(abs(standardization.mean[$0]) <= floatMaximum) }) {
        throw invalid(
          "the standardisation mean of feature \(feature + 1) is \(standardization.mean[feature]), "
            + "outside the Float32 range of the features")
      }
      let smallest = Double(Float.leastNormalMagnitude)
      if let feature = standardization.scale.indices.first(where: {
        !(standardization.scale[$0] >= smallest && standardization.scale[$0].isFinite)
      }) {
        throw invalid(
          "the standardisation scale of feature \(feature + 1) is \(standardization.scale[feature]); "
            + "it must be finite and at least \(smallest)")
      }
    }
    self.classNames = classNames
    self.featureNames = featureNames
    self.labelName = labelName
    self.weights = weights
    self.bias = bias
    self.standardization = standardization
    self.table = table
  }

  /// The logits z_k = w_k·x' + b_k for one row of raw features, computed in Double and
  /// rounded to Float32 (±infinity where a logit is beyond Float32's range). Cost: O(K·D).
  /// - Throws: `ModelError.mismatchedInput` for a row of another length or with a value that
  ///   is not finite.
  public func logits(for row: [Float]) throws(ModelError) -> [Float] {
    try preciseLogits(for: row).map { Float($0) }
  }

  /// p(k | x) for one row of raw features: the softmax of the Double logits, with the
  /// maximum subtracted, so every probability is finite for any finite row. Cost: O(K·D).
  /// - Throws: as `logits(for:)`.
  public func probabilities(for row: [Float]) throws(ModelError) -> [Float] {
    Self.softmax(try preciseLogits(for: row)).map { Float($0) }
  }

  /// The most probable class name for one row of raw features (the first, on ties).
  /// - Throws: as `logits(for:)`.
  public func predict(_ row: [Float]) throws(ModelError) -> String {
    classNames[Self.argmax(try preciseLogits(for: row))]
  }

  /// The logits in Double: standardised values (x − μ)/σ and the dot products stay finite
  /// for any finite Float32 row and any valid model.
  private func preciseLogits(for row: [Float]) throws(ModelError) -> [Double] {
    guard row.count == featureCount else {
      throw .mismatchedInput("a row of \(row.count) values; the model takes \(featureCount) features")
    }
    if let bad = row.firstIndex(where: { !$0.isFinite }) {
      throw .mismatchedInput("feature \(bad + 1) (\(featureNames[bad])) is \(row[bad]), not a finite number")
    }
    let standardized = row.indices.map { column in
      standardization.map { (Double(row[column]) - $0.mean[column]) / $0.scale[column] }
        ?? Double(row[column])
    }
    return (0..<classCount).map { classIndex in
      var sum = 0.0
      for feature in 0..<featureCount {
        sum += Double(weights[classIndex * featureCount + feature]) * standardized[feature]
      }
      return sum + Double(bias[classIndex])
    }
  }

  static func softmax(_ logits: [Double]) -> [Double] {
    let maximum = logits.max() ?? 0
    let exponentials = logits.map { Foundation.exp($0 - maximum) }
    let sum = exponentials.reduce(0, +)
    return exponentials.map { $0 / sum }
  }

  static func argmax<Value: Comparable>(_ values: [Value]) -> Int {
    var best = 0
    for index in values.indices where values[index] > values[best] { best = index }
    return best
  }
}
