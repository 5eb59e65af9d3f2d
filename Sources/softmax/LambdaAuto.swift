import SoftmaxRegression

/// `train --lambda auto [--folds K]`: the λ search (`LambdaSearch`) with a line per λ on
/// stderr, the table in the summary and in `--json`, and its chart with `--plot`.
enum LambdaAuto {
  /// Whether the flags ask for the search; `--folds` without it is a usage error.
  static func requested(_ arguments: ParsedArguments) throws(CLIError) -> (Bool, folds: Int?) {
    let auto = arguments.string("lambda") == "auto"
    let folds = try arguments.integer("folds", rule: "an integer from 2 to 100") { (2...100).contains($0) }
    if folds != nil && !auto { throw .usage("--folds scores λ values: it needs --lambda auto", usage: nil) }
    return (auto, folds)
  }

  /// Runs the search; an interruption or a training error is thrown as `train` throws them.
  static func train(
    _ dataset: Dataset, _ options: TrainingOptions, folds: Int?, _ display: inout ProgressDisplay
  ) throws(CLIError) -> (result: LambdaSearch.Result, seconds: Double) {
    var search = LambdaSearch()
    search.folds = folds
    let quiet = display.mode == .silent
    let scoring = folds.map { "\($0)-fold cross-validation" } ?? "a validation split of \(options.validationFraction ?? 0.2)"
    if !quiet { Console.error("choosing λ: \(search.candidates.count) values from large to small, scored by \(scoring)") }
    let result: LambdaSearch.Result
    let clock = ContinuousClock()
    let start = clock.now
    do {
      result = try search.run(
        dataset, options: options,
        onStep: { step in
          if !quiet { Console.error(line(step)) }
          return true
        },
        shouldContinue: { Interruption.received == nil })
    } catch {
      throw .failure(error.description)
    }
    if let signal = Interruption.received {
      throw .interrupted(signal: signal, "interrupted by \(Interruption.name(signal)) while choosing λ; no model written")
    }
    return (result, (clock.now - start).seconds)
  }

  /// One λ's line: `λ 1e-03  held-out loss 0.123456  accuracy 0.9500  non-zero 640  passes 52`.
  static func line(_ step: LambdaSearch.Step) -> String {
    "  λ \(Format.scientific(step.lambda, 1).padding(8)) held-out loss \(Format.fixed(step.validationLoss, 6))  "
      + "accuracy \(Format.fixed(step.validationAccuracy, 4))  non-zero weights \(step.nonzeroWeights)  passes \(step.passes)"
  }

  /// The summary's line on the choice; `seconds` is the whole search's time.
  static func summaryLine(_ result: LambdaSearch.Result, seconds: Double) -> String {
    "  lambda     \(Format.scientific(result.chosenLambda, 1)) chosen of \(result.steps.count) tried "
      + "(lowest held-out log loss); refit on all rows; \(result.totalPasses) passes, "
      + "\(Format.duration(seconds)) in all"
  }

  /// `lambda_path` for `--json`.
  static func json(_ result: LambdaSearch.Result) -> JSON {
    .array(result.steps.map { step in
      .object([
        ("lambda", .number(step.lambda)),
        ("validation_loss", .number(step.validationLoss)),
        ("validation_accuracy", .number(step.validationAccuracy)),
        ("nonzero_weights", .integer(step.nonzeroWeights)),
        ("passes", .integer(step.passes)),
      ])
    })
  }
}
