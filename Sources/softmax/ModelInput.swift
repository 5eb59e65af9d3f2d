import SoftmaxRegression

/// Loading a model and data that must match it, shared by `predict` and `evaluate`.
enum ModelInput {
  static func loadModel(_ path: String) throws(CLIError) -> SoftmaxModel {
    do {
      return try SoftmaxModel(contentsOf: path)
    } catch {
      throw .failure(error.description)
    }
  }

  /// Reads `path` with the model's feature columns (by name, any order); the label column
  /// is required when `requiresLabels`, otherwise skipped if present.
  static func loadData(_ path: String, for model: SoftmaxModel, requiresLabels: Bool, threadCount: Int)
    throws(CLIError) -> Dataset
  {
    do {
      return try Dataset(
        contentsOf: path,
        schema: .matching(
          featureNames: model.featureNames, classNames: model.classNames,
          labelColumn: model.labelName, requiresLabels: requiresLabels),
        threadCount: threadCount)
    } catch {
      throw .failure(error.description)
    }
  }

  /// Parses `--threads` for scoring commands.
  static func threadCount(_ arguments: ParsedArguments) throws(CLIError) -> Int {
    let range = 1...TrainingOptions.maximumThreads
    return try arguments.integer(
      "threads", default: ShardedExecutor.availableCoreCount,
      rule: "an integer from 1 to \(TrainingOptions.maximumThreads)", range.contains)!
  }
}
