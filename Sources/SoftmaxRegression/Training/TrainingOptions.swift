/// Everything that configures training, with the CLI's defaults. Validated by `validate()`.
public struct TrainingOptions: Sendable, Equatable {
  /// The optimization algorithm.
  public enum Solver: String, Sendable, CaseIterable {
    /// Full-batch gradient descent with a line-searched step (`GradientDescent`).
    case gd
  }

  /// The optimizer. Default `.gd`.
  public var solver: Solver = .gd
  /// λ, the L2 penalty on the weights (not the bias). Default 1e-4; must be finite and ≥ 0.
  public var lambda: Double = 1e-4
  /// Stop when max|∇J| ≤ tolerance. Default 1e-5; must be finite and > 0.
  public var tolerance: Double = 1e-5
  /// Stop after this many epochs (optimizer steps). Default 1000; must be ≥ 0.
  public var maxEpochs: Int = 1000
  /// A fixed step size instead of the line search. Default nil; when set, finite and > 0.
  public var learningRate: Double? = nil
  /// Worker threads. Default nil: all cores. When set, ≥ 1.
  public var threadCount: Int? = nil
  /// Standardise features with the training mean and standard deviation. Default true.
  public var standardize: Bool = true
  /// Seed for randomised parts of training. Default 0. Gradient descent from zero weights
  /// uses no randomness, so with `.gd` the model does not depend on it.
  public var seed: UInt64 = 0

  /// The defaults.
  public init() {}

  /// The thread count to use: `threadCount`, or all cores.
  public var effectiveThreadCount: Int { threadCount ?? ShardedExecutor.availableCoreCount }

  /// Checks every option against its rule.
  /// - Throws: `TrainingError.invalidOption` naming the option, its value and the rule.
  public func validate() throws(TrainingError) {
    func check(_ ok: Bool, _ name: String, _ value: String, _ rule: String) throws(TrainingError) {
      if !ok { throw .invalidOption(name: name, value: value, rule: rule) }
    }
    try check(lambda.isFinite && lambda >= 0, "lambda", "\(lambda)", "a finite number ≥ 0")
    try check(tolerance.isFinite && tolerance > 0, "tolerance", "\(tolerance)", "a finite number > 0")
    try check(maxEpochs >= 0, "max-epochs", "\(maxEpochs)", "an integer ≥ 0")
    if let learningRate {
      try check(
        learningRate.isFinite && learningRate > 0, "learning-rate", "\(learningRate)",
        "a finite number > 0")
    }
    if let threadCount {
      try check(threadCount >= 1, "threads", "\(threadCount)", "an integer ≥ 1")
    }
  }
}

/// Why training could not produce a model.
public enum TrainingError: Error, Equatable, Sendable, CustomStringConvertible {
  /// An option breaks its rule.
  case invalidOption(name: String, value: String, rule: String)
  /// The data cannot be trained on.
  case unusableData(String)
  /// The objective or gradient became NaN or infinite at the starting point, so no finite
  /// model exists to return.
  case nonFinite(String)

  public var description: String {
    switch self {
    case .invalidOption(let name, let value, let rule): return "--\(name) \(value): must be \(rule)"
    case .unusableData(let why): return "cannot train: \(why)"
    case .nonFinite(let why): return "training stopped: \(why)"
    }
  }
}
