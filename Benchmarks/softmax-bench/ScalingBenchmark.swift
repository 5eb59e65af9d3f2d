import SoftmaxRegression

/// `softmax-bench scaling`: epoch time per thread count against the machine's ceilings.
struct ScalingBenchmark {
  struct Row {
    var threads: Int
    var median: Double
    var minimum: Double
    var maximum: Double
    var gflops: Double
    var speedup: Double
    var efficiency: Double
    var percentOfPeak: Double
    /// Cores other work kept busy during the timed epochs (nil where unknown).
    var otherCores: Double?
    /// Median seconds per epoch spent combining partial sums after the kernel.
    var reduction: Double
    /// Bytes the pass holds beyond the data (shard sums or blocks, totals).
    var extraBytes: Int
  }

  let dataPath: String?
  let rowCount: Int
  let featureCount: Int
  let classCount: Int
  let threadCounts: [Int]
  let epochs: Int
  let seed: UInt64
  let jsonPath: String?
  let svgPath: String?
  /// The pass asked for (`--pass fused|blocked`), or nil for the objective's own choice.
  let pass: SoftmaxObjective.PassKind?

  init(arguments: [String]) throws(BenchError) {
    let parsed = try BenchArguments(
      arguments, known: ["rows", "features", "classes", "threads", "epochs", "seed", "json", "svg", "pass"])
    guard parsed.positionals.count <= 1 else { throw .usage("expected at most one DATA.csv") }
    dataPath = parsed.positionals.first
    rowCount = try parsed.integer("rows", default: 1_000_000)
    featureCount = try parsed.integer("features", default: 100)
    classCount = try parsed.integer("classes", default: 10, minimum: 2)
    threadCounts = try parsed.integerList("threads", default: defaultThreadCounts())
    epochs = try parsed.integer("epochs", default: 7)
    seed = UInt64(try parsed.integer("seed", default: 0, minimum: 0))
    jsonPath = parsed.values["json"]
    svgPath = parsed.values["svg"]
    switch parsed.values["pass"] {
    case nil: pass = nil
    case "fused": pass = .fused
    case "blocked": pass = .blocked
    case let other?: throw .usage("--pass takes fused or blocked, not \(other)")
    }
  }

  func run() throws(BenchError) {
    let dataset = try loadData()
    let cores = ShardedExecutor.availableCoreCount
    print("data: \(dataset.rowCount) rows × \(dataset.featureCount) features × \(dataset.classCount) classes"
      + " (\(dataPath ?? "generated, seed \(seed)")); \(cores) cores available")
    let flopsPerEpoch = 4.0 * Double(dataset.rowCount * dataset.featureCount * dataset.classCount)
    let shards = Shards(rowCount: dataset.rowCount)
    print("shards: \(shards.count) of \(shards.rowsPerShard) rows; \(epochs) timed epochs after 1 warm-up; medians")
    if threadCounts.contains(where: { $0 > cores }) {
      print("note: thread counts above \(cores) time-share the cores; the ceiling probes show what that gives")
    }

    var ceilings: [MachineCeiling] = []
    var rows: [Row] = []
    var reference: [UInt64]? = nil
    var identical = true
    let layout = ParameterLayout(classCount: dataset.classCount, featureCount: dataset.featureCount)
    let parameters = EpochTimings.startingParameters(layout)
    for threads in threadCounts {
      let objective: SoftmaxObjective
      do {
        objective = try SoftmaxObjective(
          dataset: dataset, lambda: 1e-4, executor: ShardedExecutor(threadCount: threads))
      } catch {
        throw .failure(error.description)
      }
      if let pass { objective.passKind = pass }
      if threads == threadCounts.first {
        print("pass: \(objective.passKind) (K · rowStride = \(layout.classCount * layout.rowStride)); "
          + "FMA probe at \(objective.vectorLanes) lanes, as the pass's product steps")
      }
      let ceiling = MachineCeiling(
        threads: threads, fmaGflops: MachineCeiling.measureFMA(threads: threads, lanes: objective.vectorLanes),
        readGBps: MachineCeiling.measureRead(threads: threads))
      ceilings.append(ceiling)
      let contention = CPUContention()
      let timings = EpochTimings(objective, at: parameters, epochs: epochs)
      if let reference {
        identical = identical && reference == timings.bits
      } else {
        reference = timings.bits
      }
      let median = timings.median
      let gflops = flopsPerEpoch / median / 1e9
      let baseline = rows.first?.median ?? median
      let speedup = baseline / median
      let ceilingSpeedup = ceiling.fmaGflops / (ceilings.first?.fmaGflops ?? ceiling.fmaGflops)
      rows.append(Row(
        threads: threads, median: median, minimum: timings.seconds.first!, maximum: timings.seconds.last!,
        gflops: gflops, speedup: speedup, efficiency: speedup / ceilingSpeedup,
        percentOfPeak: 100 * gflops / ceiling.fmaGflops, otherCores: contention.otherCores,
        reduction: timings.reductionMedian, extraBytes: objective.passMemoryBytes))
    }
    printResults(rows, ceilings, rowCount: dataset.rowCount)
    for line in BusyMachineWarning.lines(rows.map { ("\($0.threads)-thread", $0.otherCores) }) { print(line) }
    if rows.contains(where: { $0.efficiency > 1.005 }) { print(BusyMachineWarning.efficiencyAboveCeiling) }
    print(identical
      ? "objective and gradient: bit-identical across thread counts \(threadCounts)"
      : "WARNING: objective or gradient differ across thread counts")
    if let jsonPath { try write(json(rows, ceilings, dataset, identical), to: jsonPath) }
    if let svgPath { try write(ScalingChart(rows: rows, ceilings: ceilings, title: chartTitle(dataset)).svg, to: svgPath) }
  }

  private func loadData() throws(BenchError) -> Dataset {
    do {
      guard let dataPath else {
        return try GaussianClusters(
          rowCount: rowCount, featureCount: featureCount, classCount: classCount, seed: seed
        ).makeDataset()
      }
      return try Dataset(csvAt: dataPath)
    } catch {
      throw .failure(error.description)
    }
  }

  private func printResults(_ rows: [Row], _ ceilings: [MachineCeiling], rowCount: Int) {
    let header = ["threads", "epoch ms (min–max)", "rows/s", "GFLOP/s", "% FMA peak", "speedup",
      "ceiling ×", "efficiency", "FMA GFLOP/s", "read GB/s", "reduce ms", "extra MB"]
    var table = [header]
    for (row, ceiling) in zip(rows, ceilings) {
      table.append([
        "\(row.threads)",
        "\(fixed(row.median * 1e3, 1)) (\(fixed(row.minimum * 1e3, 1))–\(fixed(row.maximum * 1e3, 1)))",
        "\(fixed(Double(rowCount) / row.median / 1e6, 1)) M",
        fixed(row.gflops, 1),
        fixed(row.percentOfPeak, 0) + "%",
        fixed(row.speedup, 2) + "×",
        fixed(ceiling.fmaGflops / ceilings[0].fmaGflops, 2) + "×",
        fixed(100 * row.efficiency, 0) + "%",
        fixed(ceiling.fmaGflops, 1),
        fixed(ceiling.readGBps, 1),
        fixed(row.reduction * 1e3, 1),
        fixed(Double(row.extraBytes) / 1e6, 1),
      ])
    }
    printTable(table)
  }

  private func chartTitle(_ dataset: Dataset) -> String {
    "Epoch speedup, \(dataset.rowCount) × \(dataset.featureCount) × \(dataset.classCount)"
  }

  private func json(_ rows: [Row], _ ceilings: [MachineCeiling], _ dataset: Dataset, _ identical: Bool) -> String {
    let ceilingItems = ceilings.map {
      "{\"threads\": \($0.threads), \"fma_gflops\": \($0.fmaGflops), \"read_gbps\": \($0.readGBps)}"
    }
    let resultItems = rows.map {
      "{\"threads\": \($0.threads), \"epoch_ms_median\": \($0.median * 1e3), \"epoch_ms_min\": \($0.minimum * 1e3), "
        + "\"epoch_ms_max\": \($0.maximum * 1e3), \"gflops\": \($0.gflops), \"speedup\": \($0.speedup), "
        + "\"efficiency\": \($0.efficiency), \"percent_of_fma_peak\": \($0.percentOfPeak), "
        + "\"reduction_ms_median\": \($0.reduction * 1e3), \"extra_bytes\": \($0.extraBytes), "
        + "\"other_cores\": \($0.otherCores.map { "\($0)" } ?? "null")}"
    }
    return "{\"rows\": \(dataset.rowCount), \"features\": \(dataset.featureCount), \"classes\": \(dataset.classCount), "
      + "\"epochs\": \(epochs), \"shards\": \(Shards(rowCount: dataset.rowCount).count), "
      + "\"cores\": \(ShardedExecutor.availableCoreCount), "
      + "\"ceiling\": [\(ceilingItems.joined(separator: ", "))], "
      + "\"results\": [\(resultItems.joined(separator: ", "))], "
      + "\"identical_across_threads\": \(identical)}\n"
  }

  private func write(_ text: String, to path: String) throws(BenchError) {
    do {
      try AtomicFile.write(Array(text.utf8), to: path)
    } catch {
      throw .failure(error.description)
    }
  }
}

/// `value` with `digits` decimals.
func fixed(_ value: Double, _ digits: Int) -> String {
  guard value.isFinite else { return "\(value)" }
  var scale = 1.0
  for _ in 0..<digits { scale *= 10 }
  let rounded = (value * scale).rounded() / scale
  var text = "\(rounded)"
  if text.contains("e") { return text }
  if digits == 0 { return String(Int(rounded)) }
  let parts = text.split(separator: ".", omittingEmptySubsequences: false)
  let fraction = parts.count > 1 ? String(parts[1]) : ""
  text = String(parts[0]) + "." + String((fraction + String(repeating: "0", count: digits)).prefix(digits))
  return text
}
