import SoftmaxRegression

/// `softmax-bench processes`: the epoch time of one pass spread over the processes of an
/// MPI job (`mpirun -np N softmax-bench processes`, a build with the `MPI` trait), and the
/// part of it spent combining the partial sums (the in-process reduction plus the chain
/// across processes: waiting, receiving, passing on). Started without a launcher, or from a
/// build without MPI, it measures one process, the baseline. Rank 0 prints; every rank
/// checks that all hold the same objective and gradient bits, and the printed hash lets
/// runs with other process and thread counts be compared.
struct ProcessBenchmark {
  let rowCount: Int
  let featureCount: Int
  let classCount: Int
  let threads: Int
  let epochs: Int

  init(arguments: [String]) throws(BenchError) {
    let parsed = try BenchArguments(arguments, known: ["rows", "features", "classes", "threads", "epochs"])
    guard parsed.positionals.isEmpty else { throw .usage("processes takes no positional arguments") }
    rowCount = try parsed.integer("rows", default: 1_000_000)
    featureCount = try parsed.integer("features", default: 100)
    classCount = try parsed.integer("classes", default: 10, minimum: 2)
    threads = try parsed.integer("threads", default: 1)
    epochs = try parsed.integer("epochs", default: 7)
  }

  func run() throws(BenchError) {
    let processes = try Self.startProcesses()
    defer { Self.finish(processes) }
    let dataset: Dataset
    let objective: SoftmaxObjective
    do {
      dataset = try GaussianClusters(rowCount: rowCount, featureCount: featureCount, classCount: classCount, seed: 0)
        .makeDataset()
      objective = try SoftmaxObjective(
        dataset: dataset, lambda: 1e-4, executor: ShardedExecutor(threadCount: threads), processes: processes)
    } catch {
      throw .failure("\(error)")
    }
    let layout = objective.layout
    let timings = EpochTimings(objective, at: EpochTimings.startingParameters(layout), epochs: epochs)
    let transfer = Self.chainSeconds(processes, valueCount: layout.parameterCount + 5, repetitions: 2 * epochs + 1)
    let bits = timings.bits
    let agree = processes.agree(on: bits)
    guard processes.rank == 0 else { return }
    let hash = Fingerprint(bits).value
    let shards = Shards(rowCount: dataset.rowCount)
    let sentBytes = 8 * objective.valuesSentPerPass
    print("data: \(dataset.rowCount) rows × \(dataset.featureCount) features × \(dataset.classCount) classes, "
      + "\(shards.count) shards; \(epochs) timed epochs after 1 warm-up; medians on rank 0")
    print("pass: \(objective.passKind == .fused ? "fused, its totals chained in shard order" : "blocked, its shards summed in a tree")")
    print("processes × threads   epoch ms (min–max)      combine ms   chain alone ms   sent per pass per process")
    print("\(processes.count) × \(threads)".padding(toLength: 22, withPad: " ", startingAt: 0)
      + "\(fixed(timings.median * 1e3, 1)) (\(fixed(timings.seconds.first! * 1e3, 1))–\(fixed(timings.seconds.last! * 1e3, 1)))"
        .padding(toLength: 24, withPad: " ", startingAt: 0)
      + fixed(timings.reductionMedian * 1e3, 2).padding(toLength: 13, withPad: " ", startingAt: 0)
      + fixed(transfer * 1e3, 3).padding(toLength: 17, withPad: " ", startingAt: 0)
      + "\(fixed(Double(sentBytes) / 1e3, 1)) kB, at most (+ the broadcast)")
    print("combine: the reduction after the kernels on rank 0, with the chain and the wait for the slowest "
      + "process; chain alone: the chain's messages with no kernel before them (median of \(2 * epochs + 1))")
    print("objective and gradient hash \(String(hash, radix: 16)); "
      + (agree ? "identical on every process" : "WARNING: the processes differ"))
  }

  /// The median seconds of the chain's messages for `valueCount` values with no work
  /// before them: each process receives from the one before, sends to the one after, then
  /// the last broadcasts; what a pass adds to its kernels and reduction at the least.
  static func chainSeconds(_ processes: any ProcessGroup, valueCount: Int, repetitions: Int) -> Double {
    guard processes.count > 1 else { return 0 }
    var values = [Double](repeating: 1, count: valueCount)
    var times: [Double] = []
    let clock = ContinuousClock()
    for _ in 0..<repetitions {
      _ = processes.all(true)  // start together
      let start = clock.now
      values.withUnsafeMutableBufferPointer { buffer in
        if processes.rank > 0 { processes.receive(buffer, from: processes.rank - 1) }
        if processes.rank < processes.count - 1 { processes.send(UnsafeBufferPointer(buffer), to: processes.rank + 1) }
        processes.broadcast(buffer, from: processes.count - 1)
      }
      times.append((clock.now - start).seconds)
    }
    return times.sorted()[times.count / 2]
  }

  /// MPI's processes in a build with the `MPI` trait, else this process.
  static func startProcesses() throws(BenchError) -> any ProcessGroup {
    #if MPI
      do {
        return try MPIProcesses.start()
      } catch {
        throw .failure(error.description)
      }
    #else
      return SingleProcess()
    #endif
  }

  static func finish(_ processes: any ProcessGroup) {
    #if MPI
      MPIProcesses.finish()
    #endif
  }
}
