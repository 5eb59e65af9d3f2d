import Foundation
import SoftmaxRegression

/// `softmax-bench ingest FILE`: CSV load throughput and peak memory per thread count.
///
/// Every load runs in a fresh child process (`softmax-bench ingest-once`), so its peak RSS is
/// its own and nothing stays allocated between runs; runs of different thread counts are
/// interleaved, as `../shared/bench/ingest_peers.py` does for its peers. The page cache is
/// warmed first by reading the file once.
struct IngestBenchmark {
  struct Run {
    var seconds: Double
    var peakRSSBytes: Int
    var rows: Int
    var checksum: UInt64
  }

  let path: String
  let threadCounts: [Int]
  let repetitions: Int
  let jsonPath: String?

  init(arguments: [String]) throws(BenchError) {
    let parsed = try BenchArguments(arguments, known: ["threads", "reps", "json"])
    guard parsed.positionals.count == 1 else { throw .usage("ingest needs exactly one DATA.csv") }
    path = parsed.positionals[0]
    threadCounts = try parsed.integerList("threads", default: defaultThreadCounts())
    repetitions = try parsed.integer("reps", default: 3)
    jsonPath = parsed.values["json"]
  }

  func run() throws(BenchError) {
    let size = try fileSize()
    try warmPageCache()
    var runs: [Int: [Run]] = [:]
    var busiest: [Int: Double] = [:]
    for _ in 0..<repetitions {
      for threads in threadCounts {
        let contention = CPUContention()
        runs[threads, default: []].append(try runChild(threads: threads))
        busiest[threads] = max(busiest[threads] ?? 0, contention.otherCores ?? 0)
      }
    }
    let checksums = Set(runs.values.flatMap { $0.map(\.checksum) })
    let rowCount = runs.values.first?.first?.rows ?? 0
    print("file: \(path), \(fixed(Double(size) / 1e6, 1)) MB, \(rowCount) rows; \(repetitions) runs per thread count, each in its own process; medians")
    var table = [["threads", "seconds (min–max)", "MB/s", "rows/s", "speedup", "peak RSS MiB"]]
    var items: [String] = []
    let baseline = median(runs[threadCounts[0]] ?? [])
    for threads in threadCounts {
      let list = runs[threads] ?? []
      let seconds = list.map(\.seconds).sorted()
      let middle = median(list)
      let peak = list.map(\.peakRSSBytes).max() ?? 0
      table.append([
        "\(threads)",
        "\(fixed(middle, 3)) (\(fixed(seconds.first ?? 0, 3))–\(fixed(seconds.last ?? 0, 3)))",
        fixed(Double(size) / middle / 1e6, 1),
        "\(fixed(Double(rowCount) / middle / 1e6, 2)) M",
        fixed(baseline / middle, 2) + "×",
        "\(peak >> 20)",
      ])
      items.append(
        "{\"threads\": \(threads), \"seconds_median\": \(middle), \"seconds_min\": \(seconds.first ?? 0), "
          + "\"seconds_max\": \(seconds.last ?? 0), \"mb_per_s\": \(Double(size) / middle / 1e6), "
          + "\"rows_per_s\": \(Double(rowCount) / middle), \"peak_rss_bytes\": \(peak), "
          + "\"other_cores_max\": \(busiest[threads] ?? 0)}")
    }
    printTable(table)
    for line in BusyMachineWarning.lines(threadCounts.map { ("\($0)-thread load", busiest[$0]) }) { print(line) }
    let identical = checksums.count == 1
    print(identical
      ? "dataset: bit-identical across thread counts \(threadCounts)"
      : "WARNING: the loaded datasets differ across thread counts")
    if let jsonPath {
      let json = "{\"file\": \"\(path)\", \"bytes\": \(size), \"rows\": \(rowCount), "
        + "\"results\": [\(items.joined(separator: ", "))], \"identical_across_threads\": \(identical)}\n"
      do { try AtomicFile.write(Array(json.utf8), to: jsonPath) } catch { throw .failure(error.description) }
    }
  }

  private func median(_ runs: [Run]) -> Double {
    let seconds = runs.map(\.seconds).sorted()
    return seconds.isEmpty ? .nan : seconds[seconds.count / 2]
  }

  private func fileSize() throws(BenchError) -> Int {
    var status = stat()
    guard stat(path, &status) == 0 else { throw .failure("\(path): \(String(cString: strerror(errno)))") }
    return Int(status.st_size)
  }

  private func warmPageCache() throws(BenchError) {
    guard let handle = FileHandle(forReadingAtPath: path) else { throw .failure("\(path): cannot open") }
    defer { try? handle.close() }
    while let chunk = try? handle.read(upToCount: 1 << 24), !chunk.isEmpty {}
  }

  private func runChild(threads: Int) throws(BenchError) -> Run {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
    if !FileManager.default.isExecutableFile(atPath: process.executableURL!.path) {
      process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    }
    process.arguments = ["ingest-once", path, "--threads", "\(threads)"]
    let output = Pipe()
    process.standardOutput = output
    do { try process.run() } catch { throw .failure("cannot start a child: \(error)") }
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let fields = String(decoding: data, as: UTF8.self).split(whereSeparator: \.isWhitespace)
    guard process.terminationStatus == 0, fields.count == 4,
      let seconds = Double(fields[0]), let rss = Int(fields[1]), let rows = Int(fields[2]),
      let checksum = UInt64(fields[3])
    else { throw .failure("the load with \(threads) threads failed (exit \(process.terminationStatus))") }
    return Run(seconds: seconds, peakRSSBytes: rss, rows: rows, checksum: checksum)
  }
}

/// `softmax-bench ingest-once FILE --threads N`: one timed load; prints seconds, peak RSS
/// bytes, rows and a checksum of the features, labels and classes.
func ingestOnce(arguments: [String]) throws(BenchError) {
  let parsed = try BenchArguments(arguments, known: ["threads"])
  guard let path = parsed.positionals.first else { throw .usage("ingest-once needs DATA.csv") }
  let threads = try parsed.integer("threads", default: ShardedExecutor.availableCoreCount)
  let clock = ContinuousClock()
  let start = clock.now
  let dataset: Dataset
  do { dataset = try Dataset(csvAt: path, threadCount: threads) } catch { throw .failure(error.description) }
  let seconds = (clock.now - start).seconds
  var usage = rusage()
  getrusage(RUSAGE_SELF.rawValue, &usage)
  print(seconds, usage.ru_maxrss * 1024, dataset.rowCount, checksum(dataset))
}

/// The `Fingerprint` of the feature bits, labels and class names.
private func checksum(_ dataset: Dataset) -> UInt64 {
  var fingerprint = Fingerprint()
  for row in 0..<dataset.rowCount {
    for column in 0..<dataset.featureCount { fingerprint.mix(UInt64(dataset.features[row, column].bitPattern)) }
  }
  fingerprint.mix(dataset.labels.lazy.map { UInt64(UInt32(bitPattern: $0)) })
  for name in dataset.classNames { fingerprint.mix(name.utf8.lazy.map(UInt64.init)) }
  return fingerprint.value
}
