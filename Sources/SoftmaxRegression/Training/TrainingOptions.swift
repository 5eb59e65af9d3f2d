import Foundation

/// Everything that configures training, with the CLI's defaults. Validated by `validate()`.
public struct TrainingOptions: Sendable, Equatable {
  /// The optimization algorithm.
  public enum Solver: String, Sendable, CaseIterable {
    /// Limited-memory BFGS with a strong Wolfe line search (`LBFGS`). The default.
    case lbfgs
    /// Full-batch gradient descent with a line-searched step (`GradientDescent`).
    case gd
    /// Mini-batch SGD with momentum (`StochasticGradientDescent`).
    case sgd
  }

  /// How rows are weighted by class.
  public enum ClassWeight: String, Sendable, CaseIterable {
    /// Every class weighs the same per row.
    case none
    /// Row weight n / (K · n_k) for a row of class k: every class weighs the same in total.
    case balanced
  }

  /// The optimizer. Default `.lbfgs`.
  public var solver: Solver = .lbfgs
  /// λ, the L2 penalty on the weights (not the bias). Default 1e-4; finite, ≥ 0.
  public var lambda: Double = 1e-4
  /// Stop when max|∇J| ≤ tolerance. Default 1e-5; finite, > 0.
  public var tolerance: Double = 1e-5
  /// L-BFGS: stop when an epoch lowers J by less than this times max(|J|, 1). Default
  /// 1.4e-14 (64 ε, as scikit-learn passes to SciPy);
  /// finite, ≥ 0.
  public var objectiveTolerance: Double = 1.4e-14
  /// Stop after this many epochs. Default 1000; ≥ 0.
  public var maxEpochs: Int = 1000
  /// L-BFGS history length. Default 10; from 1 to 1,000 (each pair keeps two parameter
  /// vectors).
  public var memory: Int = 10
  /// gd: a fixed step size instead of the line search (default nil). sgd: the initial step
  /// size η₀ (`defaultSGDLearningRate` when nil). When set, finite and > 0.
  public var learningRate: Double? = nil
  /// sgd's initial step size η₀ when `learningRate` is nil: 0.1.
  public static let defaultSGDLearningRate = 0.1
  /// sgd: rows per mini-batch. Default 256; ≥ 1.
  public var batchSize: Int = 256
  /// sgd: step-size decay, η_t = η₀ / (1 + decay · t). Default 0.01; finite, ≥ 0.
  public var decay: Double = 0.01
  /// sgd: momentum μ. Default 0.9; in [0, 1).
  public var momentum: Double = 0.9
  /// Hold out this fraction of rows (stratified by class, seeded) for validation. Default
  /// nil (no validation); when set, in (0, 1).
  public var validationFraction: Double? = nil
  /// Stop when the validation loss has not improved for this many epochs, and keep the best
  /// epoch's weights. Default nil; when set, ≥ 1 and needs `validationFraction`.
  public var earlyStoppingPatience: Int? = nil
  /// Class weighting. Default `.none`.
  public var classWeight: ClassWeight = .none
  /// Worker threads. Default nil: all cores. When set, ≥ 1.
  public var threadCount: Int? = nil
  /// Standardise features with the training mean and standard deviation. Default true.
  public var standardize: Bool = true
  /// Seed for the validation split and the SGD shuffles. Default 0.
  public var seed: UInt64 = 0
  /// Continue from this model (warm start): it must have the same classes and features.
  /// Default nil: start from zero weights.
  public var initialModel: SoftmaxModel? = nil

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
    try check(
      objectiveTolerance.isFinite && objectiveTolerance >= 0, "objective-tolerance",
      "\(objectiveTolerance)", "a finite number ≥ 0")
    try check(maxEpochs >= 0, "max-epochs", "\(maxEpochs)", "an integer ≥ 0")
    try check((1...1000).contains(memory), "memory", "\(memory)", "an integer from 1 to 1000")
    if let learningRate {
      try check(
        learningRate.isFinite && learningRate > 0, "learning-rate", "\(learningRate)",
        "a finite number > 0")
    }
    try check(batchSize >= 1, "batch-size", "\(batchSize)", "an integer ≥ 1")
    try check(decay.isFinite && decay >= 0, "decay", "\(decay)", "a finite number ≥ 0")
    try check(momentum >= 0 && momentum < 1, "momentum", "\(momentum)", "a number in [0, 1)")
    if let validationFraction {
      try check(
        validationFraction > 0 && validationFraction < 1, "validation", "\(validationFraction)",
        "a fraction in (0, 1)")
    }
    if let earlyStoppingPatience {
      try check(earlyStoppingPatience >= 1, "early-stopping", "\(earlyStoppingPatience)", "an integer ≥ 1")
      try check(
        validationFraction != nil, "early-stopping", "\(earlyStoppingPatience)",
        "used together with --validation")
    }
    if let threadCount {
      try check(threadCount >= 1, "threads", "\(threadCount)", "an integer ≥ 1")
    }
  }
}

/// Why training could not produce a model.
public enum TrainingError: Error, Equatable, Sendable, CustomStringConvertible, LocalizedError {
  /// An option breaks its rule.
  case invalidOption(name: String, value: String, rule: String)
  /// The data cannot be trained on.
  case unusableData(String)
  /// The warm-start model does not fit the data.
  case incompatibleInitialModel(String)
  /// The objective or gradient became NaN or infinite at the starting point, so no finite
  /// model exists to return.
  case nonFinite(String)

  /// A one-line message saying what is wrong.
  public var description: String {
    switch self {
    case .invalidOption(let name, let value, let rule): return "--\(name) \(value): must be \(rule)"
    case .unusableData(let why): return "cannot train: \(why)"
    case .incompatibleInitialModel(let why): return "the initial model does not fit the data: \(why)"
    case .nonFinite(let why): return "training stopped: \(why)"
    }
  }

  /// The same message as `description`, for `LocalizedError`.
  public var errorDescription: String? { description }
}
