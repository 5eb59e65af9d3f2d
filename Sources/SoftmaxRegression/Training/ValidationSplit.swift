/// The rows held out for validation and those left for training: a stratified split,
/// seeded, so each class keeps its share.
///
/// Each class's rows, in row order, are shuffled by one SplitMix64 stream (classes in
/// class order), and the first round(n_k · fraction) go to validation. Both lists are
/// returned sorted by row. Every process of a run across several holds every label, so
/// each computes the same split.
struct ValidationSplit {
  /// Training rows, sorted.
  let training: [Int32]
  /// Validation rows, sorted.
  let validation: [Int32]

  /// Splits the rows of `labels` (class indices below `classCount`).
  /// - Throws: `TrainingError.unusableData` when no row is held out or fewer than two
  ///   classes remain for training.
  init(labels: [Int32], classCount: Int, fraction: Double, seed: UInt64) throws(TrainingError) {
    var generator = SplitMix64(seed: seed)
    var rowsByClass = [[Int32]](repeating: [], count: classCount)
    for (row, label) in labels.enumerated() { rowsByClass[Int(label)].append(Int32(row)) }
    var training: [Int32] = []
    var validation: [Int32] = []
    var trainingClasses = 0
    for var rows in rowsByClass {
      rows.shuffle(using: &generator)
      let held = Int((Double(rows.count) * fraction).rounded())
      validation += rows.prefix(held)
      training += rows.dropFirst(held)
      if rows.count > held { trainingClasses += 1 }
    }
    guard !validation.isEmpty, trainingClasses >= 2 else {
      throw .unusableData(
        "a validation fraction of \(fraction) leaves \(validation.count) validation rows and "
          + "\(training.count) training rows; use more data or another fraction")
    }
    self.training = training.sorted()
    self.validation = validation.sorted()
  }
}
