#if canImport(Glibc)
  import Glibc
#endif
import SoftmaxRegression

/// `softmax-bench`: measures the trainer's epoch time and thread scaling against the
/// machine's own ceilings. Always build it in release mode.
@MainActor
func main() -> Int32 {
  let arguments = Array(CommandLine.arguments.dropFirst())
  guard let command = arguments.first else {
    printError(usage)
    return 2
  }
  if command == "--version" {
    print("softmax-bench \(PackageVersion.current)")
    return 0
  }
  // `softmax-bench COMMAND --help` is the usage too, not an unknown option.
  if arguments.dropFirst().contains(where: { $0 == "--help" || $0 == "-h" }) {
    print(usage)
    return 0
  }
  do {
    switch command {
    case "scaling":
      try ScalingBenchmark(arguments: Array(arguments.dropFirst())).run()
    case "processes":
      try ProcessBenchmark(arguments: Array(arguments.dropFirst())).run()
    case "ingest":
      try IngestBenchmark(arguments: Array(arguments.dropFirst())).run()
    case "ingest-once":
      try ingestOnce(arguments: Array(arguments.dropFirst()))
    case "--help", "-h", "help":
      print(usage)
    default:
      throw BenchError.usage("unknown command '\(command)'")
    }
    return 0
  } catch let error as BenchError {
    printError("softmax-bench: \(error.message)")
    if case .usage = error { printError(usage) }
    return error.exitStatus
  } catch {
    printError("softmax-bench: \(error)")
    return 1
  }
}

let usage = """
  Usage:
    softmax-bench --version
    softmax-bench scaling [DATA.csv | --rows N --features D --classes K] [--threads 1,2,4]
                          [--epochs E] [--seed S] [--pass fused|blocked] [--json OUT.json] [--svg OUT.svg]
    softmax-bench ingest DATA.csv [--threads 1,2,4] [--reps R] [--json OUT.json]
    mpirun -np N softmax-bench processes [--rows N --features D --classes K] [--threads T] [--epochs E]

  scaling: times E epochs (objective + gradient over all rows; median, min, max after one
  warm-up) for each thread count, beside the machine's own FMA-loop and memory-read
  ceilings at the same thread counts, and checks that every thread count gives
  bit-identical results. Default data: 1,000,000 x 100 x 10 generated in memory (seed 0).
  Also prints the time per epoch spent combining partial sums and the memory the pass holds
  beyond the data; --pass forces the fused kernel or the blocked pass for wide models.

  processes: times E epochs of one pass spread over the N processes of an MPI job (a build
  with --traits MPI; without mpirun, one process), T threads each, and the time per epoch
  spent combining partial sums (in-process reduction plus the chain across processes);
  prints a hash of the objective and gradient bits to compare process and thread counts.

  ingest: loads DATA.csv R times (default 3) per thread count, each load in a fresh process
  after the file is read once to warm the page cache; prints the median seconds, MB/s,
  rows/s, speedup and peak RSS, and checks that every thread count loads the same dataset.
  """

exit(main())
