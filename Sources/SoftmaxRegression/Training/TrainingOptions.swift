import Foundation

/// Everything that configures training. Defaults are the property initialisers; the rule of
/// each option is declared once in `declared`, which `validate()` checks and the CLI's help
/// and parsing are built from.
public struct TrainingOptions: Sendable, Equatable, Codable {
  /// The optimization algorithm.
  public enum Solver: String, Sendable, CaseIterable, Codable {
    /// L-BFGS, handing over to Newton when its progress predicts Newton will be cheaper
    /// (`AutoSolver`): fast on well-conditioned problems, tens of epochs on ill-conditioned
    /// ones; for an elastic net OWL-QN, then Newton on the orthant's face if it stalls. The
    /// default.
    case auto
    /// Limited-memory BFGS with a strong Wolfe line search (`LBFGS`).
    case lbfgs
    /// OWL-QN, L-BFGS for an L1 penalty (`OrthantWiseLBFGS`): what an elastic net
    /// (`l1Ratio` > 0) runs; `.auto` picks it then.
    case owlqn
    /// Full-batch gradient descent with a line-searched step (`GradientDescent`).
    case gd
    /// Mini-batch SGD with momentum (`StochasticGradientDescent`).
    case sgd
    /// Trust-region Newton with conjugate-gradient steps on Hessian-vector products
    /// (`TrustRegionNewton`), preconditioned by the exact Hessian where K·(D+1) ≤ 1024:
    /// tens of epochs on ill-conditioned problems.
    case newton

  }

  /// How rows are weighted by class.
  public enum ClassWeight: String, Sendable, CaseIterable, Codable {
    /// Every class weighs the same per row.
    case none
    /// Row weight n / (K · n_k) for a row of class k: every class weighs the same in total.
    case balanced
  }

  /// The optimizer. Default `.auto`.
  public var solver: Solver = .auto
  /// λ, the penalty on the weights (not the bias). Default 1e-4.
  public var lambda: Double = 1e-4
  /// α, the elastic net's mix: the penalty is λ(α‖W‖₁ + (1−α)/2 ‖W‖²). Default 0 (L2 only).
  public var l1Ratio: Double = 0

  /// Whether the penalty has an L1 part (α > 0 and λ > 0).
  public var hasL1Penalty: Bool { l1Ratio > 0 && lambda > 0 }
  /// Stop when max|∇J| ≤ tolerance. Default 1e-5.
  public var tolerance: Double = 1e-5
  /// L-BFGS: stop when an epoch lowers J by less than this times max(|J|, 1). Default
  /// 1.4e-14 (64 ε, as scikit-learn passes to SciPy).
  public var objectiveTolerance: Double = 1.4e-14
  /// Stop after this many epochs. Default 1000.
  public var maxEpochs: Int = 1000
  /// L-BFGS history length (each pair keeps two parameter vectors). Default 10.
  public var memory: Int = 10
  /// gd: a fixed step size instead of the line search (default nil). sgd: the initial step
  /// size η₀ (`defaultSGDLearningRate` when nil).
  public var learningRate: Double? = nil
  /// sgd's initial step size η₀ when `learningRate` is nil: 0.1.
  public static let defaultSGDLearningRate = 0.1
  /// sgd: rows per mini-batch. Default 256.
  public var batchSize: Int = 256
  /// sgd: step-size decay, η_t = η₀ / (1 + decay · t). Default 0.01.
  public var decay: Double = 0.01
  /// sgd: momentum μ. Default 0.9.
  public var momentum: Double = 0.9
  /// Hold out this fraction of rows (stratified by class, seeded) for validation. Default
  /// nil (no validation).
  public var validationFraction: Double? = nil
  /// Stop when the validation loss has not improved for this many epochs, and keep the best
  /// epoch's weights. Default nil; needs `validationFraction`.
  public var earlyStoppingPatience: Int? = nil
  /// Class weighting. Default `.none`.
  public var classWeight: ClassWeight = .none
  /// Worker threads. Default nil: all cores.
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

  /// The most epochs a run may ask for (an epoch count beyond it is a typo, and it keeps
  /// every count derived from it far from overflow).
  public static let maximumEpochs = 1_000_000_000
  /// The most worker threads a run may ask for.
  public static let maximumThreads = 4096

  /// Every option with a rule, declared once: name, summary, rule and parsing. Defaults are
  /// the property initialisers above. A rule that names another option writes its name in
  /// backquotes (`validation`), so that a front end can render it as its own spelling.
  public static var declared: [TrainingOption] {
    [
      .choice("solver", \.solver, valueName: "NAME", "Optimizer"),
      .number(
        "lambda", \.lambda, "Penalty λ on the weights (auto: chosen on held-out rows, see LambdaSearch)",
        rule: "a finite number ≥ 0, or auto", where: { $0 >= 0 }),
      .number(
        "l1-ratio", \.l1Ratio,
        "Elastic net: the penalty is λ(α‖W‖₁ + (1−α)/2 ‖W‖²) with α = X (weights exactly 0 where L1 puts them)",
        rule: "a number in [0, 1]", where: { $0 >= 0 && $0 <= 1 }),
      .number("tolerance", \.tolerance, "Stop when max|∇J| ≤ X", rule: "a finite number > 0", where: { $0 > 0 }),
      .number(
        "objective-tolerance", \.objectiveTolerance,
        "lbfgs: stop when an epoch lowers J by less than X·max(|J|,1)", rule: "a finite number ≥ 0",
        where: { $0 >= 0 }),
      .integer("max-epochs", \.maxEpochs, "Stop after N epochs", in: 0...maximumEpochs),
      .integer("memory", \.memory, "lbfgs: history length", in: 1...1000),
      .optionalNumber(
        "learning-rate", \.learningRate,
        "gd: fixed step (unset: line search); sgd: initial step (unset: \(defaultSGDLearningRate))",
        rule: "a finite number > 0", where: { $0 > 0 }),
      .integer("batch-size", \.batchSize, "sgd: rows per mini-batch", in: 1...Int(Int32.max)),
      .number("decay", \.decay, "sgd: step = learning-rate / (1 + X·epoch)", rule: "a finite number ≥ 0", where: { $0 >= 0 }),
      .number("momentum", \.momentum, "sgd: momentum", rule: "a number in [0, 1)", where: { $0 >= 0 && $0 < 1 }),
      .optionalNumber(
        "validation", \.validationFraction, valueName: "FRACTION",
        "Hold out this fraction of rows, stratified and seeded", rule: "a fraction in (0, 1)",
        where: { $0 > 0 && $0 < 1 }),
      .optionalInteger(
        "early-stopping", \.earlyStoppingPatience,
        "Stop when the validation loss has not improved for N epochs; keep the best weights",
        in: 1...maximumEpochs),
      .choice(
        "class-weight", \.classWeight, valueName: "MODE",
        "balanced: weight n/(K·n_k) per row of class k"),
      .optionalInteger("threads", \.threadCount, "Worker threads (unset: every core this process may use; under mpirun, its share)", in: 1...maximumThreads),
      .seed("seed", \.seed, "Seed for the validation split and sgd shuffles"),
    ]
  }

  /// Checks every option against its rule, in the order declared, then the rules that tie
  /// options together.
  /// - Throws: `TrainingError.invalidOption` naming the option, its value and the rule.
  public func validate() throws(TrainingError) {
    for option in Self.declared { try option.check(self) }
    if l1Ratio > 0, solver != .auto, solver != .owlqn {
      throw .invalidOption(
        name: "l1-ratio", value: "\(l1Ratio)",
        rule: "0 unless `solver` is auto or owlqn (the L1 term needs OWL-QN)")
    }
    if let earlyStoppingPatience, validationFraction == nil {
      throw .invalidOption(
        name: "early-stopping", value: "\(earlyStoppingPatience)",
        rule: "used together with `validation`")
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
  /// A run across processes failed as a whole: MPI did not start, or the processes'
  /// parameters differed (they must take identical steps).
  case distributed(String)

  /// A one-line message saying what is wrong.
  public var description: String {
    switch self {
    case .invalidOption(let name, let value, let rule):
      return "option \(name) = \(value): must be \(rule)"
    case .unusableData(let why): return "cannot train: \(why)"
    case .incompatibleInitialModel(let why): return "the initial model does not fit the data: \(why)"
    case .nonFinite(let why): return "training stopped: \(why)"
    case .distributed(let why): return "training across processes failed: \(why)"
    }
  }

  /// The same message as `description`, for `LocalizedError`.
  public var errorDescription: String? { description }
}
