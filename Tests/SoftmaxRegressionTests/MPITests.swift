import Foundation
import Testing
@testable import SoftmaxRegression

/// Real `mpirun` jobs of the `softmax` built beside the tests. Those that need a build with
/// the `MPI` trait run under `swift test --traits MPI` (`.ci/run` does, after installing Open
/// MPI); the default `swift test` skips them, saying so. The launch of a build without MPI
/// runs wherever `mpirun` is installed, and the launcher's environment is checked everywhere.
@Suite("Training under mpirun", .serialized)
struct MPITests {
  static let builtWithMPI: Bool = {
    #if MPI
      return true
    #else
      return false
    #endif
  }()

  static let mpirun: String? = ["/usr/bin/mpirun", "/usr/local/bin/mpirun"].first {
    FileManager.default.isExecutableFile(atPath: $0)
  }

  static var canRunJobs: Bool { builtWithMPI && mpirun != nil }
  static let skipReason: Comment = "needs the MPI trait and Open MPI: swift test --traits MPI (see .ci/run)"

  let temporary = TemporaryDirectory()
  var directory: String { temporary.path }

  /// Runs `program` with `arguments` and extra environment `variables`.
  static func run(
    _ program: String, _ arguments: [String], environment variables: [String: String] = [:]
  ) throws -> SoftmaxTool.Output {
    try SoftmaxTool.runProgram(program, arguments, environment: variables)
  }

  /// `mpirun` with the flags a container needs (root, more ranks than cores), then `job`.
  static func mpirun(_ job: [String]) throws -> SoftmaxTool.Output {
    try run(
      mpirun!, ["--oversubscribe"] + job,
      environment: ["OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"])
  }

  /// A generated CSV of 6,000 rows (six shards), with a weight column when `weighted`.
  func data(weighted: Bool = false) throws -> String {
    let plain = directory + "/plain.csv"
    let made = try SoftmaxTool.run(["generate", plain, "--rows", "6000", "--features", "7", "--classes", "3", "--seed", "9"])
    try #require(made.status == 0, "\(made.stderr)")
    guard weighted else { return plain }
    let lines = try String(contentsOfFile: plain, encoding: .utf8).split(separator: "\n")
    var random = SplitMix64(seed: 3)
    let rows = lines.dropFirst().map { line in
      "\(Double(1 + random.next() % 5) / 4)," + line
    }
    let path = directory + "/weighted.csv"
    try (["w," + lines[0]] + rows).joined(separator: "\n").appending("\n").write(toFile: path, atomically: true, encoding: .utf8)
    return path
  }

  /// The model one process writes, then those of `mpirun -np N` for each N, compared byte for byte.
  func expectSameModels(_ arguments: [String], processCounts: [Int], threads: Int = 1) throws {
    let single = directory + "/single.json"
    let alone = try SoftmaxTool.run(["train"] + arguments + ["-o", single, "--threads", "2", "-q"])
    try #require(alone.status == 0, "\(alone.stderr)")
    let expected = try Data(contentsOf: URL(fileURLWithPath: single))
    // The build without MPI, where the default `swift test` has left it (as in CI).
    let plainBuild = packageRoot + "/.build/debug/softmax"
    if FileManager.default.isExecutableFile(atPath: plainBuild) && plainBuild != SoftmaxTool.executable {
      let path = directory + "/plain.json"
      let plain = try Self.run(plainBuild, ["train"] + arguments + ["-o", path, "-q"])
      #expect(plain.status == 0, "\(plain.stderr)")
      #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == expected, "the build without MPI writes another model")
    }
    for count in processCounts {
      let path = directory + "/np\(count).json"
      let job = try Self.mpirun(
        ["-np", "\(count)", SoftmaxTool.executable, "train"] + arguments + ["-o", path, "--threads", "\(threads)", "-q"])
      #expect(job.status == 0, "np \(count): \(job.stderr)")
      #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == expected, "np \(count): the model differs")
    }
  }

  @Test("lbfgs: mpirun -np 2 and -np 3 write the model one process writes", .enabled(if: canRunJobs, skipReason))
  func lbfgsMatches() throws {
    try expectSameModels([try data(), "--solver", "lbfgs"], processCounts: [2, 3])
  }

  @Test("sgd with a validation split and early stopping: the same model under -np 3", .enabled(if: canRunJobs, skipReason))
  func sgdWithValidationMatches() throws {
    try expectSameModels(
      [try data(), "--solver", "sgd", "--epochs", "4", "--validation", "0.25", "--early-stopping", "2"],
      processCounts: [3], threads: 2)
  }

  @Test("row weights and balanced class weights: the same model under -np 2", .enabled(if: canRunJobs, skipReason))
  func weightedMatches() throws {
    try expectSameModels(
      [try data(weighted: true), "--weight", "w", "--class-weight", "balanced", "--max-epochs", "30"],
      processCounts: [2])
  }

  @Test("a .smx cache, each rank reading its share: the same model under -np 2 and -np 3, with a validation split",
    .enabled(if: canRunJobs, skipReason))
  func cacheMatches() throws {
    let cache = directory + "/data.smx"
    let converted = try SoftmaxTool.run(["convert", try data(weighted: true), cache, "--weight", "w"])
    try #require(converted.status == 0, "\(converted.stderr)")
    try expectSameModels([cache, "--weight", "w", "--validation", "0.2", "--max-epochs", "25"], processCounts: [2, 3])
  }

  @Test("train DATA.csv --cache FILE.smx under -np 2: rank 0 converts, every rank reads its share, the same model",
    .enabled(if: canRunJobs, skipReason))
  func cacheFlagAcrossRanks() throws {
    let csv = try data()
    let single = directory + "/single.json"
    let alone = try SoftmaxTool.run(["train", csv, "-o", single, "-q", "--max-epochs", "20"])
    try #require(alone.status == 0, "\(alone.stderr)")
    let cache = directory + "/made.smx"
    let model = directory + "/np2.json"
    let job = try Self.mpirun([
      "-np", "2", SoftmaxTool.executable, "train", csv, "--cache", cache, "-o", model, "-q", "--max-epochs", "20",
    ])
    #expect(job.status == 0, "\(job.stderr)")
    #expect(try Data(contentsOf: URL(fileURLWithPath: model)) == Data(contentsOf: URL(fileURLWithPath: single)))
    #expect(DatasetCache.isCache(path: cache))
  }

  @Test("--cache under -np 2 with a bad row: rank 0's conversion error once, every rank non-zero, no cache, no model",
    .enabled(if: canRunJobs, skipReason))
  func cacheFlagConversionError() throws {
    let bad = directory + "/bad.csv"
    try "x,y,label\n1,2,a\n3,oops,b\n".write(toFile: bad, atomically: true, encoding: .utf8)
    let cache = directory + "/made.smx"
    let model = directory + "/model.json"
    let job = try Self.mpirun(["-np", "2", SoftmaxTool.executable, "train", bad, "--cache", cache, "-o", model, "-q"])
    Self.expectOneError(job, saying: "bad.csv, line 3, column 2", model: model)
    #expect(!FileManager.default.fileExists(atPath: cache))
  }

  /// The `threads` of `train --json`'s summary in `output`.
  static func threads(_ output: String) -> Int? {
    guard let object = try? JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any] else { return nil }
    return object["threads"] as? Int
  }

  @Test("threads by default: a rank bound to a core takes one; unbound ranks share the host's cores",
    .enabled(if: canRunJobs, skipReason))
  func defaultThreadsPerRank() throws {
    let model = directory + "/model.json"
    for (binding, expected) in [("core", 1), ("none", max(1, ProcessInfo.processInfo.activeProcessorCount / 2))] {
      let job = try Self.mpirun([
        "-np", "2", "--bind-to", binding, SoftmaxTool.executable, "train", dataFile("iris.csv"), "-o", model, "-q",
        "--json",
      ])
      #expect(job.status == 0, "\(job.stderr)")
      #expect(Self.threads(job.stdout) == expected, "--bind-to \(binding): \(job.stdout)")
    }
  }

  @Test("threads by default follow the affinity mask (taskset), in any build",
    .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/taskset"), "needs taskset"))
  func defaultThreadsFollowAffinity() throws {
    let model = directory + "/model.json"
    let pinned = try Self.run("/usr/bin/taskset", ["-c", "0", SoftmaxTool.executable, "train", dataFile("iris.csv"), "-o", model, "-q", "--json"])
    #expect(pinned.status == 0, "\(pinned.stderr)")
    #expect(Self.threads(pinned.stdout) == 1, "\(pinned.stdout)")
  }

  /// A generated CSV of 70,000 rows (about 5.6 MB, so two 4 MiB chunks: each of two ranks
  /// parses one), with a categorical column `c` and missing cells in it and in `x1`.
  func largeData() throws -> String {
    let plain = directory + "/large-plain.csv"
    let made = try SoftmaxTool.run(["generate", plain, "--rows", "70000", "--features", "6", "--classes", "4", "--seed", "2"])
    try #require(made.status == 0, "\(made.stderr)")
    let lines = try String(contentsOfFile: plain, encoding: .utf8).split(separator: "\n")
    var random = SplitMix64(seed: 8)
    let rows = lines.dropFirst().map { line in
      let level = random.next() % 41 == 0 ? "" : ["north", "south", "east", "west"][Int(random.next() % 4)]
      let fields = line.split(separator: ",", omittingEmptySubsequences: false)
      let first = random.next() % 37 == 0 ? "NA" : String(fields[0])
      return ([first] + fields.dropFirst().map(String.init) + [level]).joined(separator: ",")
    }
    let path = directory + "/large.csv"
    try ([lines[0] + ",c"] + rows).joined(separator: "\n").appending("\n").write(toFile: path, atomically: true, encoding: .utf8)
    return path
  }

  @Test("a CSV read in shares (each rank parses its chunks), with categorical levels and means for missing cells: the same model under -np 2 and -np 3",
    .enabled(if: canRunJobs, skipReason))
  func csvSharesMatch() throws {
    let data = try largeData()
    try expectSameModels(
      [data, "--label", "label", "--missing", "mean", "--validation", "0.2", "--max-epochs", "6"], processCounts: [2, 3])
  }

  @Test("a bad row that only rank 1 reads: one located error, every rank exits non-zero, no model",
    .enabled(if: canRunJobs, skipReason))
  func errorOnOneRank() throws {
    let bad = try copy(of: try largeData(), breakingLine: 65001)
    let model = directory + "/model.json"
    let job = try Self.mpirun(
      ["-np", "2", SoftmaxTool.executable, "train", bad, "-o", model, "-q", "--label", "label", "--missing", "mean"])
    Self.expectOneError(job, saying: "bad.csv, line 65001, column 1", model: model)
  }

  /// A copy of `path`, bad.csv, whose line `line` (1-based) starts with a cell that is no number.
  func copy(of path: String, breakingLine line: Int) throws -> String {
    var lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
    lines[line - 1] = "oops" + lines[line - 1].drop { $0 != "," }
    let bad = directory + "/bad.csv"
    try lines.joined(separator: "\n").write(toFile: bad, atomically: true, encoding: .utf8)
    return bad
  }

  /// The job failed with one error message, holding `text`, and wrote no model.
  static func expectOneError(_ job: SoftmaxTool.Output, saying text: String, model: String) {
    #expect(job.status != 0)
    let errors = job.stderr.components(separatedBy: "softmax train: error:").count - 1
    #expect(errors == 1, "\(job.stderr)")
    #expect(job.stderr.contains(text), "\(job.stderr)")
    #expect(!FileManager.default.fileExists(atPath: model))
  }

  @Test("ranks that see different files at one path stop, all of them, with one message",
    .enabled(if: canRunJobs, skipReason))
  func differentFilesRefused() throws {
    let good = try data()
    let bad = try copy(of: good, breakingLine: 1235)
    let model = directory + "/model.json"
    let job = try Self.mpirun([
      "-np", "1", SoftmaxTool.executable, "train", good, "-o", model, "-q", ":",
      "-np", "1", SoftmaxTool.executable, "train", bad, "-o", model, "-q",
    ])
    Self.expectOneError(job, saying: "different files", model: model)
  }

  @Test("SIGTERM to one rank (as a scheduler sends) stops every rank after the same epoch, with one message",
    .enabled(if: canRunJobs, skipReason))
  func signalToOneRank() throws {
    let data = directory + "/long.csv"
    let made = try SoftmaxTool.run(["generate", data, "--rows", "30000", "--features", "10", "--classes", "3"])
    try #require(made.status == 0)
    let model = directory + "/model.json"
    let job = Process()
    job.executableURL = URL(fileURLWithPath: Self.mpirun!)
    job.arguments = [
      "--oversubscribe", "-np", "2", SoftmaxTool.executable, "train", data, "--solver", "gd", "--max-epochs", "1000000",
      "--tolerance", "1e-300", "--checkpoint", "1", "-o", model, "-q",
    ]
    job.environment = ProcessInfo.processInfo.environment.merging(
      ["OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"]) { $1 }
    let errors = Pipe()
    job.standardError = errors
    job.standardOutput = Pipe()
    try job.run()
    let deadline = Date().addingTimeInterval(60)
    while !FileManager.default.fileExists(atPath: model) && Date() < deadline { usleep(50_000) }
    let ranks = try Self.run("/usr/bin/pgrep", ["-P", "\(job.processIdentifier)"]).stdout
      .split(separator: "\n").compactMap { Int32($0) }
    try #require(ranks.count == 2, "the ranks of mpirun: \(ranks)")
    kill(ranks[1], SIGTERM)
    let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    job.waitUntilExit()
    #expect(job.terminationStatus != 0)
    #expect(stderr.components(separatedBy: "interrupted by SIGTERM after epoch").count - 1 == 1, "\(stderr)")
    #expect(stderr.contains("holds the checkpoint of epoch"), "\(stderr)")
    #expect((try? SoftmaxModel(contentsOf: model)) != nil, "the checkpoint is a whole model")
  }

  @Test("a build without MPI under mpirun stops with one message instead of training twice",
    .enabled(if: !builtWithMPI && mpirun != nil, "needs Open MPI's mpirun, and the build without the MPI trait"))
  func buildWithoutMPIUnderMpirun() throws {
    let model = directory + "/model.json"
    let job = try Self.mpirun(["-np", "2", SoftmaxTool.executable, "train", dataFile("iris.csv"), "-o", model])
    #expect(job.status != 0)
    #expect(job.stderr.components(separatedBy: "built without MPI").count - 1 == 1, "\(job.stderr)")
    #expect(!FileManager.default.fileExists(atPath: model))
  }

  @Test("a launcher's environment: a build without MPI refuses to train; other commands refuse in any build",
    arguments: [
      ("OMPI_COMM_WORLD_SIZE", "2"), ("PMI_SIZE", "4"), ("SLURM_STEP_NUM_TASKS", "2"), ("PMIX_RANK", "1"),
    ])
  func launcherEnvironment(variable: String, value: String) throws {
    let model = directory + "/model.json"
    let isRankZero = !variable.hasSuffix("RANK")
    if !Self.builtWithMPI {
      let train = try Self.run(SoftmaxTool.executable, ["train", dataFile("iris.csv"), "-o", model], environment: [variable: value])
      #expect(train.status == 1)
      // Only the launcher's rank 0 says why; the others exit as quietly.
      #expect(train.stderr.contains("built without MPI") == isRankZero, "\(train.stderr)")
      #expect(!FileManager.default.fileExists(atPath: model))
    }
    let trained = try SoftmaxTool.run(["train", dataFile("iris.csv"), "-o", model, "-q"])
    try #require(trained.status == 0)
    let scores = directory + "/scores.csv"
    let predict = try Self.run(
      SoftmaxTool.executable, ["predict", model, dataFile("iris.csv"), "-o", scores], environment: [variable: value])
    #expect(predict.status == 1)
    #expect(predict.stderr.contains("runs in one process") == isRankZero, "\(predict.stderr)")
    #expect(!FileManager.default.fileExists(atPath: scores))
  }
}
