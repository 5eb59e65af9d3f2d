import SoftmaxRegression

/// `softmax generate OUT.csv`: a seeded synthetic dataset, streamed to disk.
enum GenerateCommand {
  static let spec = CommandSpec(
    name: "generate",
    summary: "Write a seeded synthetic dataset of Gaussian class clusters as CSV.",
    positionals: [.init(name: "OUT.csv", help: "The file to write (atomically).")],
    options: [
      .init(name: "rows", valueName: "N", help: "Rows, ≥ 1 (required)."),
      .init(name: "features", valueName: "D", help: "Features per row, ≥ 1 (required)."),
      .init(name: "classes", valueName: "K", help: "Classes, ≥ 2 (required)."),
      .init(name: "seed", valueName: "S", help: "Random seed, ≥ 0 (default: 0)."),
    ])

  static func run(_ arguments: ParsedArguments) throws(CLIError) {
    func required(_ name: String, minimum: Int) throws(CLIError) -> Int {
      let value = try arguments.integer(name, rule: "an integer ≥ \(minimum)", { $0 >= minimum })
      guard let value else { throw .usage("--\(name) is required", usage: spec.usage) }
      return value
    }
    let rows = try required("rows", minimum: 1)
    let features = try required("features", minimum: 1)
    let classes = try required("classes", minimum: 2)
    var seed: UInt64 = 0
    if let text = arguments.string("seed") {
      guard let parsed = UInt64(text) else {
        throw .usage("--seed \(text): must be an integer from 0 to \(UInt64.max)", usage: nil)
      }
      seed = parsed
    }
    let problem = GaussianClusters(rowCount: rows, featureCount: features, classCount: classes, seed: seed)
    let path = arguments.positionals[0]
    do {
      let writer = try AtomicFile.Writer(path: path)
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
