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

  /// The number of classes K.
  public var classCount: Int { classNames.count }
  /// The number of features D.
  public var featureCount: Int { featureNames.count }

  /// A model from its parts.
  /// - Throws: `ModelError.invalid` when the shapes disagree, values are not finite, or
  ///   names repeat.
  public init(
    classNames: [String], featureNames: [String], labelName: String, weights: [Float],
    bias: [Float], standardization: Standardization?
  ) throws(ModelError) {
    func invalid(_ why: String) -> ModelError { .invalid(file: nil, why) }
    guard classNames.count >= 2 else { throw invalid("a model needs at least 2 classes") }
    guard Set(classNames).count == classNames.count else { throw invalid("class names repeat") }
    guard Set(featureNames).count == featureNames.count else {
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
      guard standardization.mean.allSatisfy(\.isFinite),
        standardization.scale.allSatisfy({ $0.isFinite && $0 > 0 })
      else { throw invalid("standardisation holds a non-finite mean or a non-positive scale") }
    }
    self.classNames = classNames
    self.featureNames = featureNames
    self.labelName = labelName
    self.weights = weights
    self.bias = bias
    self.standardization = standardization
  }

  /// The logits z_k = w_k·x' + b_k for one row of raw features. Cost: O(K·D).
  public func logits(for row: [Float]) -> [Float] {
    precondition(row.count == featureCount, "expected \(featureCount) features")
    let standardized = standardization.map { standardization in
      row.indices.map { standardization.apply(row[$0], column: $0) }
    } ?? row
    return (0..<classCount).map { classIndex in
      var sum: Float = 0
      for feature in 0..<featureCount {
        sum += weights[classIndex * featureCount + feature] * standardized[feature]
      }
      return sum + bias[classIndex]
    }
  }

  /// p(k | x) for one row of raw features, computed with the maximum logit subtracted.
  /// Cost: O(K·D).
  public func probabilities(for row: [Float]) -> [Float] {
    Self.softmax(logits(for: row))
  }

  /// The most probable class name for one row of raw features (the first, on ties).
  public func predict(_ row: [Float]) -> String {
    classNames[Self.argmax(logits(for: row))]
  }

  static func softmax(_ logits: [Float]) -> [Float] {
    let maximum = logits.max() ?? 0
    let exponentials = logits.map { Foundation.exp($0 - maximum) }
    let sum = exponentials.reduce(0, +)
    return exponentials.map { $0 / sum }
  }

  static func argmax(_ values: [Float]) -> Int {
    var best = 0
    for index in values.indices where values[index] > values[best] { best = index }
    return best
  }
}
