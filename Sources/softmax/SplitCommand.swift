import Foundation
import SoftmaxRegression

/// `softmax split DATA.csv --test FRACTION`: a stratified, seeded train/test split of a CSV
/// file into two files, rows copied byte for byte.
enum SplitCommand {
  static let spec = CommandSpec(
    name: "split",
    summary: "Split a CSV file into training and test files, stratified by class.",
    positionals: [.init(name: "DATA.csv", help: "The rows to split (also .csv.gz).")],
    options: [
      .init(name: "test", valueName: "FRACTION", help: "Fraction of each class's rows for the test file, in (0, 1) (required)."),
      .init(name: "seed", valueName: "S", help: "Seed of the shuffle, ≥ 0; with the same fraction and seed, 'train --validation' holds out the same rows (default: 0)."),
      .init(name: "label", valueName: "NAME", help: "The label column (default: the last column)."),
      .init(name: "train-output", valueName: "FILE", help: "The training rows (default: NAME-train.csv in the current directory, NAME being the input's name without extension)."),
      .init(name: "test-output", valueName: "FILE", help: "The test rows (default: NAME-test.csv)."),
    ] + TableFlags.dialect)

  static func run(_ arguments: ParsedArguments) throws(CLIError) {
    let input = arguments.positionals[0]
    guard input != "-" else { throw .usage("split reads its input twice, so it needs a file, not standard input", usage: nil) }
    let fraction = try arguments.double("test", rule: "a fraction in (0, 1)") { $0 > 0 && $0 < 1 }
    guard let fraction else { throw .usage("--test is required", usage: spec.usage) }
    var split = StratifiedSplit(testFraction: fraction)
    if let text = arguments.string("seed") {
      guard let seed = UInt64(text) else { throw .usage("--seed \(text): must be an integer from 0 to \(UInt64.max)", usage: nil) }
      split.seed = seed
    }
    split.labelColumn = arguments.string("label")
    var schema = Dataset.Schema.training()
    try TableFlags.applyDialect(arguments, path: input, to: &schema)
    split.delimiter = schema.delimiter
    split.hasHeader = schema.hasHeader
    let stem = Self.stem(of: input)
    let trainingOutput = arguments.string("train-output") ?? stem + "-train.csv"
    let testOutput = arguments.string("test-output") ?? stem + "-test.csv"
    guard trainingOutput != testOutput else {
      throw .usage("--train-output and --test-output name the same file", usage: nil)
    }
    try OutputFiles.check(outputs: [trainingOutput, testOutput], inputs: [input])
    Interruption.install()
    FileChangeGuard.install(command: "split", inputs: [input])
    let copy = try ModelInput.decompressedCopy(input, displayName: input)
    defer { if let copy { unlink(copy) } }
    let summary: StratifiedSplit.Summary
    do {
      summary = try split.split(
        csvAt: copy ?? input, trainingOutput: trainingOutput, testOutput: testOutput,
        shouldContinue: { Interruption.received == nil })
    } catch {
      if case .data(let dataError) = error {
        throw ModelInput.loadFailure(copy == nil ? dataError : dataError.located(in: input), path: input)
      }
      throw .failure(error.description)
    }
    let trainingRows = summary.trainingCounts.reduce(0, +)
    let testRows = summary.testCounts.reduce(0, +)
    Console.error(
      "split \(input): \(trainingRows) training rows → \(trainingOutput), \(testRows) test rows → \(testOutput) "
        + "(\(summary.classNames.count) classes, each \(Format.fixed(fraction * 100, 1))% held out, seed \(split.seed))")
  }

  /// The file name without directories and without `.csv`, `.tsv`, `.gz` extensions.
  static func stem(of path: String) -> String {
    var name = (path as NSString).lastPathComponent
    for suffix in [".gz", ".csv", ".tsv", ".tab", ".txt"] where name.lowercased().hasSuffix(suffix) {
      name = String(name.dropLast(suffix.count))
    }
    return name.isEmpty ? "data" : name
  }
}
