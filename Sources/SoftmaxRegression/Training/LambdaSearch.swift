import Foundation

/// Chooses the penalty λ for the user: fits along a path of λ values from large to small,
/// each warm-started from the previous fit, scores each on held-out rows, keeps the λ with
/// the lowest held-out log loss, and refits on all rows at that λ.
///
/// Held-out rows are the validation split (`TrainingOptions.validationFraction`, 0.2 when
/// unset; the same stratified, seeded rows for every λ) or, with `folds`, k stratified
/// folds (each λ fitted k times, each fold warm-started from its own previous fit). The
/// path stops early once the held-out loss has risen for `patience` λ values in a row past
/// the best: smaller λ only overfits more. The refit starts from the chosen λ's fit.
public struct LambdaSearch: Sendable {
  /// The λ values to try, from large to small.
  public var candidates: [Double] = LambdaSearch.defaultCandidates
  /// Score by k-fold cross-validation with this many folds (≥ 2) instead of a validation
  /// split.
  public var folds: Int? = nil
  /// Stop the path after the held-out loss has not improved for this many λ values.
  public var patience = 2
  /// The path's fits stop at this multiple of the options' tolerance (max|∇J|): their job
  /// is to rank the λ values, and the held-out loss settles long before the gradient is
  /// tiny. The refit uses the tolerance asked.
  public var pathToleranceFactor = 10.0

  /// 1, 10^−½, 10^−1, …, 10^−6: 13 values, from a penalty that dominates any standardised
  /// problem to one that barely touches it.
  public static let defaultCandidates: [Double] = (0...12).map { pow(10, -Double($0) / 2) }

  /// A search over the default path.
  public init() {}

  /// One λ of the path.
  public struct Step: Sendable, Equatable, Codable {
    /// The penalty.
    public var lambda: Double
    /// Mean log loss on the held-out rows (over the folds, with `folds`).
    public var validationLoss: Double
    /// Accuracy on the held-out rows (over the folds, with `folds`).
    public var validationAccuracy: Double
    /// Weights that are not zero (of K·D; the fit on the validation split's training rows,
    /// or the last fold's fit).
    public var nonzeroWeights: Int
    /// Objective evaluations of this λ's fits.
    public var passes: Int
  }

  /// What the search found.
  public struct Result: Sendable {
    /// The path as far as it went, in the order tried.
    public var steps: [Step]
    /// The λ with the lowest held-out loss (the first, on ties).
    public var chosenLambda: Double
    /// The refit on all rows at `chosenLambda`.
    public var fit: Trainer.Result
    /// Objective evaluations of the whole search, refit included.
    public var totalPasses: Int
  }

  /// Runs the search on `dataset` with `options` (its λ and initial model are replaced);
  /// `onStep` sees each λ's result as it comes, and returning false stops the path there.
  /// `shouldContinue` is asked after every epoch of every fit; false ends that fit, and the
  /// search after it (check your own flag to tell an interrupted search from a finished one).
  /// - Throws: `TrainingError` as `Trainer.fit`, and `.invalidOption` for an empty path,
  ///   a λ that is not finite and ≥ 0, or fewer than 2 folds; `.unusableData` for data
  ///   loaded in shares (`Dataset.holdsEveryRow` false).
  public func run(
    _ dataset: Dataset, options: TrainingOptions, onStep: (Step) -> Bool = { _ in true },
    shouldContinue: () -> Bool = { true }
  ) throws(TrainingError) -> Result {
    try validate()
    guard dataset.holdsEveryRow else {
      throw .unusableData("the search's folds read every row; load the data whole in each process, not in shares")
    }
    let tolerance = options.tolerance
    var options = options
    options.initialModel = nil
    options.earlyStoppingPatience = nil
    options.tolerance = tolerance * pathToleranceFactor
    var steps: [Step] = []
    var best: (index: Int, models: [SoftmaxModel])? = nil
    var previous: [SoftmaxModel]? = nil
    var totalPasses = 0
    for lambda in candidates {
      options.lambda = lambda
      let (step, models) = try score(dataset, options, warmStarts: previous, shouldContinue)
      steps.append(step)
      totalPasses += step.passes
      previous = models
      if let current = best, !(step.validationLoss < steps[current.index].validationLoss) {
        // Not better: the best stays.
      } else {
        best = (steps.count - 1, models)
      }
      let sinceBest = steps.count - 1 - (best?.index ?? 0)
      if !onStep(step) || !shouldContinue() || sinceBest >= patience { break }
    }
    guard let best else { throw .invalidOption(name: "lambda", value: "auto", rule: "a path of at least one λ") }
    options.lambda = steps[best.index].lambda
    options.tolerance = tolerance
    options.validationFraction = nil
    options.initialModel = best.models.last
    let fit = try Trainer(options: options).fit(dataset) { _ in shouldContinue() }
    return Result(
      steps: steps, chosenLambda: options.lambda, fit: fit, totalPasses: totalPasses + fit.report.passes)
  }

  private func validate() throws(TrainingError) {
    guard !candidates.isEmpty, candidates.allSatisfy({ $0.isFinite && $0 >= 0 }) else {
      throw .invalidOption(
        name: "lambda", value: "\(candidates)", rule: "a path of at least one finite number ≥ 0")
    }
    if let folds, folds < 2 { throw .invalidOption(name: "folds", value: "\(folds)", rule: "an integer ≥ 2") }
  }

  /// The held-out loss and accuracy at `options.lambda`, and the fitted models (one per
  /// fold, or the one fit on the validation split's training rows).
  private func score(
    _ dataset: Dataset, _ options: TrainingOptions, warmStarts: [SoftmaxModel]?, _ shouldContinue: () -> Bool
  ) throws(TrainingError) -> (Step, [SoftmaxModel]) {
    guard let folds else {
      var options = options
      options.validationFraction = options.validationFraction ?? 0.2
      options.initialModel = warmStarts?.first
      let fit = try Trainer(options: options).fit(dataset) { _ in shouldContinue() }
      let line = fit.report.history.last { $0.epoch == fit.report.returnedEpoch } ?? fit.report.history.last
      let step = Step(
        lambda: options.lambda, validationLoss: line?.validationLoss ?? .infinity,
        validationAccuracy: line?.validationAccuracy ?? 0, nonzeroWeights: fit.model.nonzeroWeightCount,
        passes: fit.report.passes)
      return (step, [fit.model])
    }
    let assignment = Self.foldAssignment(labels: dataset.labels, classCount: dataset.classCount, folds: folds, seed: options.seed)
    var models: [SoftmaxModel] = []
    var loss = 0.0, correct = 0.0, passes = 0
    for fold in 0..<folds {
      let (trainingRows, heldRows) = (assignment.indices.filter { assignment[$0] != fold }, assignment.indices.filter { assignment[$0] == fold })
      var foldOptions = options
      foldOptions.validationFraction = nil
      foldOptions.initialModel = warmStarts?[fold]
      do {
        let training = try dataset.subset(trainingRows)
        let held = try dataset.subset(heldRows)
        let fit = try Trainer(options: foldOptions).fit(training) { _ in shouldContinue() }
        let metrics = try ClassificationMetrics(model: fit.model, dataset: held, threadCount: options.effectiveThreadCount)
        loss += metrics.logLoss * Double(heldRows.count)
        correct += metrics.accuracy * Double(heldRows.count)
        passes += fit.report.passes
        models.append(fit.model)
      } catch let error as TrainingError {
        throw error
      } catch {
        throw .unusableData("fold \(fold + 1) of \(folds): \(error)")
      }
    }
    let rows = Double(dataset.rowCount)
    let step = Step(
      lambda: options.lambda, validationLoss: loss / rows, validationAccuracy: correct / rows,
      nonzeroWeights: models.last?.nonzeroWeightCount ?? 0, passes: passes)
    return (step, models)
  }

  /// The fold of each row: each class's rows, shuffled by one seeded stream (classes in
  /// class order), dealt to the folds in turn, so every fold holds each class's share.
  static func foldAssignment(labels: [Int32], classCount: Int, folds: Int, seed: UInt64) -> [Int] {
    var generator = SplitMix64(seed: seed)
    var rowsByClass = [[Int]](repeating: [], count: classCount)
    for (row, label) in labels.enumerated() { rowsByClass[Int(label)].append(row) }
    var assignment = [Int](repeating: 0, count: labels.count)
    var next = 0
    for var rows in rowsByClass {
      rows.shuffle(using: &generator)
      for row in rows {
        assignment[row] = next % folds
        next += 1
      }
    }
    return assignment
  }
}
