import SoftmaxRegression

/// `softmax generate OUT.csv`: a seeded synthetic dataset, streamed to disk.
enum GenerateCommand {
  static let spec = CommandSpec(
    name: "generate",
    summary: "Write a seeded synthetic dataset of Gaussian class clusters as CSV.",
    positionals: [.init(name: "OUT.csv", help: "The file to write (atomically).")],
    options: [
      .init(name: "rows", valueName: "N", help: "Rows, from 1 to \(maximumRows) (required)."),
      .init(name: "features", valueName: "D", help: "Features per row, from 1 to \(maximumFeatures) (required)."),
      .init(name: "classes", valueName: "K", help: "Classes, from 2 to \(maximumClasses), with K·D ≤ \(maximumCenterValues) (required)."),
      .init(name: "seed", valueName: "S", help: "Random seed, ≥ 0 (default: 0)."),
    ])

  /// Bounds that keep the class centres (K·D values) and every count in memory and range.
  static let maximumRows = 1 << 40
  static let maximumFeatures = 1_000_000
  static let maximumClasses = 100_000
  static let maximumCenterValues = 100_000_000

  static func run(_ arguments: ParsedArguments) throws(CLIError) {
    func required(_ name: String, in range: ClosedRange<Int>) throws(CLIError) -> Int {
      let value = try arguments.integer(
        name, rule: "an integer from \(range.lowerBound) to \(range.upperBound)", range.contains)
      guard let value else { throw .usage("--\(name) is required", usage: spec.usage) }
      return value
    }
    let rows = try required("rows", in: 1...maximumRows)
    let features = try required("features", in: 1...maximumFeatures)
    let classes = try required("classes", in: 2...maximumClasses)
    guard features * classes <= maximumCenterValues else {
      throw .usage(
        "--features \(features) × --classes \(classes) is more than \(maximumCenterValues) class-centre values",
        usage: nil)
    }
    var seed: UInt64 = 0
    if let text = arguments.string("seed") {
      guard let parsed = UInt64(text) else {
        throw .usage("--seed \(text): must be an integer from 0 to \(UInt64.max)", usage: nil)
      }
      seed = parsed
    }
    let problem = GaussianClusters(rowCount: rows, featureCount: features, classCount: classes, seed: seed)
    let path = arguments.positionals[0]
    Interruption.install()
    do {
      let writer = try AtomicFile.Writer(path: path)
      writer.shouldContinue = { Interruption.received == nil }
      try writer.append((problem.featureNames + ["label"]).joined(separator: ",") + "\n")
      var line: [UInt8] = []
      try problem.forEachRow { label, values in
        line.removeAll(keepingCapacity: true)
        for value in values {
          FixedPoint.append(value, to: &line)
          line.append(UInt8(ascii: ","))
        }
        line.append(contentsOf: String(label).utf8)
        line.append(UInt8(ascii: "\n"))
        try writer.append(line)
      }
      try writer.commit()
    } catch let error as AtomicFile.WriteError {
      try Interruption.check("no file written, \(path) left as it was")
      throw .failure(error.description)
    } catch {
      throw .failure("\(error)")
    }
  }
}

/// Fast fixed-point text for generated values: four decimals, no exponent.
enum FixedPoint {
  static func append(_ value: Float, to bytes: inout [UInt8]) {
    var scaled = Int64((Double(value) * 10_000).rounded())
    if scaled < 0 {
      bytes.append(UInt8(ascii: "-"))
      scaled = -scaled
    }
    let integer = scaled / 10_000
    let fraction = Int(scaled % 10_000)
    bytes.append(contentsOf: String(integer).utf8)
    bytes.append(UInt8(ascii: "."))
    var divisor = 1000
    while divisor > 0 {
      bytes.append(UInt8(ascii: "0") + UInt8(fraction / divisor % 10))
      divisor /= 10
    }
  }
}
