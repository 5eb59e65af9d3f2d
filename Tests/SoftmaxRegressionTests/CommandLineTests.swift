import Foundation
import Testing
@testable import SoftmaxRegression

/// Runs the built `softmax` executable, which `swift test` builds beside the test bundle.
struct SoftmaxTool {
  static let executable: String = {
    let besideTests = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
      .appendingPathComponent("softmax").path
    return FileManager.default.isExecutableFile(atPath: besideTests)
      ? besideTests : packageRoot + "/.build/debug/softmax"
  }()

  struct Output {
    var status: Int32
    var stdout: String
    var stderr: String
  }

  static func run(_ arguments: [String], in directory: String? = nil) throws -> Output {
    try runProgram(executable, arguments, in: directory)
  }

  /// Starts `softmax` with `arguments`, waits until stderr contains `marker`, sends
  /// `signalNumber`, and returns the exit status and everything written on stderr.
  static func interrupt(_ arguments: [String], after marker: String, with signalNumber: Int32) throws -> Output {
    try start(arguments, after: marker) { kill($0, signalNumber) }
  }

  /// Starts `softmax` with `arguments`, waits until stderr contains `marker`, calls `action`
  /// with its process id, and returns the exit status and everything written on stderr.
  static func start(_ arguments: [String], after marker: String, then action: (pid_t) -> Void) throws -> Output {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let errors = Pipe()
    process.standardError = errors
    process.standardOutput = Pipe()
    try process.run()
    var seen = Data()
    while !String(decoding: seen, as: UTF8.self).contains(marker) {
      let chunk = errors.fileHandleForReading.availableData
      if chunk.isEmpty { break }
      seen += chunk
    }
    action(process.processIdentifier)
    seen += errors.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return Output(status: process.terminationStatus, stdout: "", stderr: String(decoding: seen, as: UTF8.self))
  }

  /// Runs `program` with `arguments`, in `directory`, with `environment` added to this
  /// process's, and returns its status and outputs.
  static func runProgram(
    _ program: String, _ arguments: [String], in directory: String? = nil, environment: [String: String] = [:]
  ) throws -> Output {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: program)
    process.arguments = arguments
    if !environment.isEmpty {
      process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    }
    if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let stdout = out.fileHandleForReading.readDataToEndOfFile()
    let stderr = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return Output(
      status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
      stderr: String(decoding: stderr, as: UTF8.self))
  }
}

@Suite("The softmax command", .serialized)
struct CommandLineTests {
  let temporary = TemporaryDirectory()
  var directory: String { temporary.path }

  func write(_ name: String, _ text: String) -> String {
    let path = directory + "/" + name
    _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
    return path
  }

  func json(_ text: String) throws -> [String: Any] {
    try #require(JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
  }

  @Test("train --l1-ratio: owlqn (then newton on the orthant's face) picked by auto, nonzero_weights per class matching the model file's zeros and the summary line; with --solver newton, refused by name")
  func elasticNet() throws {
    let model = directory + "/enet.json"
    let train = try SoftmaxTool.run(["train", dataFile("iris.csv"), "-o", model, "--json", "--l1-ratio", "0.8", "--lambda", "0.05"])
    #expect(train.status == 0, "\(train.stderr)")
    let summary = try json(train.stdout)
    #expect(["owlqn", "newton"].contains(summary["solver"] as? String ?? "") && summary["solver_requested"] as? String == "auto")
    #expect(summary["l1_ratio"] as? Double == 0.8)
    let nonzero = try #require(summary["nonzero_weights"] as? [Int])
    let saved = try SoftmaxModel(contentsOf: model)
    #expect(nonzero == saved.nonzeroWeightCounts && nonzero.count == saved.classNames.count)
    let total = nonzero.reduce(0, +)
    #expect(total > 0 && total < saved.weights.count, "\(nonzero): the test needs some zeros")
    #expect(train.stderr.contains("nonzero    \(total) of \(saved.weights.count) weights"), "\(train.stderr)")

    let refused = try SoftmaxTool.run(["train", dataFile("iris.csv"), "-o", model, "--l1-ratio", "0.5", "--solver", "newton"])
    #expect(refused.status == 2 && refused.stderr.contains("--l1-ratio 0.5") && refused.stderr.contains("owlqn"), "\(refused.stderr)")
  }

  @Test("train writes a model and a JSON summary; predict and evaluate read it")
  func trainPredictEvaluate() throws {
    let model = directory + "/iris.json"
    let train = try SoftmaxTool.run(["train", dataFile("iris.csv"), "-o", model, "--json", "--max-epochs", "300", "--quiet"])
    #expect(train.status == 0, "\(train.stderr)")
    #expect(train.stderr.isEmpty, "--quiet prints nothing")
    let summary = try json(train.stdout)
    for key in ["rows", "features", "classes", "threads", "solver", "epochs", "objective", "gradient_max",
                "train_accuracy", "load_seconds", "train_seconds"] {
      #expect(summary[key] != nil, "missing \(key)")
    }
    #expect(summary["rows"] as? Int == 150 && summary["features"] as? Int == 4 && summary["classes"] as? Int == 3)
    #expect((summary["train_accuracy"] as? Double ?? 0) > 0.9)
    #expect(FileManager.default.fileExists(atPath: model))

    let predict = try SoftmaxTool.run(["predict", model, dataFile("iris.csv"), "--probabilities"])
    #expect(predict.status == 0, "\(predict.stderr)")
    let lines = predict.stdout.split(separator: "\n")
    #expect(lines.count == 151)
    #expect(lines[0] == "species,p_setosa,p_versicolor,p_virginica")
    #expect(lines[1].hasPrefix("setosa,"))

    let evaluate = try SoftmaxTool.run(["evaluate", model, dataFile("iris.csv"), "--json"])
    #expect(evaluate.status == 0, "\(evaluate.stderr)")
    let metrics = try json(evaluate.stdout)
    #expect(metrics["rows"] as? Int == 150)
    #expect((metrics["accuracy"] as? Double ?? 0) > 0.9)
    #expect((metrics["confusion_matrix"] as? [[Int]])?.count == 3)
    #expect(metrics["log_loss"] is Double)

    let table = try SoftmaxTool.run(["evaluate", model, dataFile("iris.csv")])
    #expect(table.stdout.contains("confusion matrix") && table.stdout.contains("virginica"))
  }

  @Test("'-' reads standard input as a stream: train, convert and predict give what the file gives")
  func standardInput() throws {
    let iris = dataFile("iris.csv"), tool = SoftmaxTool.executable, directory = temporary.path
    func shell(_ script: String) throws -> SoftmaxTool.Output {
      try SoftmaxTool.runProgram("/bin/sh", ["-c", script, tool, iris, directory])
    }
    #expect(try shell(#"cat "$1" | "$0" train - -o "$2/stdin.json" --quiet"#).status == 0)
    #expect(try SoftmaxTool.run(["train", iris, "-o", directory + "/file.json", "--quiet"]).status == 0)
    let fromStdin = try Data(contentsOf: URL(fileURLWithPath: directory + "/stdin.json"))
    let fromFile = try Data(contentsOf: URL(fileURLWithPath: directory + "/file.json"))
    #expect(fromStdin == fromFile)
    #expect(try shell(#"cat "$1" | "$0" convert - "$2/stdin.smx" --quiet"#).status == 0)
    let cachedLabels = try Dataset(cacheAt: directory + "/stdin.smx").labels
    #expect(cachedLabels == (try Dataset(csvAt: iris).labels))
    let predicted = try shell(#"cat "$1" | "$0" predict "$2/file.json" -"#)
    let expected = try SoftmaxTool.run(["predict", directory + "/file.json", iris]).stdout
    #expect(predicted.status == 0 && predicted.stdout == expected)
  }

  @Test("a FIFO with no writer yet does not hang: SIGINT or SIGTERM stops the wait with 128 + signal", arguments: ["INT", "TERM"])
  func fifoWaitIsInterruptible(signal: String) throws {
    let fifo = temporary.path + "/waiting-\(signal)"
    #expect(mkfifo(fifo, 0o600) == 0)
    let output = try SoftmaxTool.runProgram(
      "/bin/sh", ["-c", #""$0" train "$1" -o "$1.json" --quiet & sleep 0.5; kill -$2 $!; wait $!"#, SoftmaxTool.executable, fifo, signal])
    #expect(output.status == (signal == "INT" ? 130 : 143), "\(output.stderr)")
    #expect(output.stderr.contains("interrupted by SIG\(signal) while reading \(fifo); nothing written"))
    #expect(!FileManager.default.fileExists(atPath: fifo + ".json"))
  }

  @Test("--cache converts first and trains from the cache: the same model, and a cache equal to convert's")
  func trainWithCache() throws {
    let iris = dataFile("iris.csv"), directory = temporary.path
    #expect(try SoftmaxTool.run(["train", iris, "--cache", directory + "/iris.smx", "-o", directory + "/a.json", "--quiet"]).status == 0)
    #expect(try SoftmaxTool.run(["train", iris, "-o", directory + "/b.json", "--quiet"]).status == 0)
    #expect(try SoftmaxTool.run(["convert", iris, directory + "/converted.smx", "--quiet"]).status == 0)
    func bytes(_ name: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: directory + "/" + name)) }
    #expect(try bytes("a.json") == bytes("b.json"))
    #expect(try bytes("iris.smx") == bytes("converted.smx"))
    let again = try SoftmaxTool.run(["train", directory + "/iris.smx", "--cache", directory + "/x.smx"])
    #expect(again.status == 2 && again.stderr.contains("--cache needs CSV data in files"))
  }

  @Test("prints progress per epoch on stderr unless --quiet")
  func progress() throws {
    let output = try SoftmaxTool.run(["train", dataFile("iris.csv"), "-o", directory + "/m.json", "--max-epochs", "3"])
    #expect(output.status == 0)
    let epochLines = output.stderr.split(separator: "\n").filter { $0.hasPrefix("epoch") }
    #expect(epochLines.count == 4)
    #expect(epochLines.allSatisfy { $0.contains("objective") && $0.contains("max|∇J|") && $0.contains("accuracy") && $0.contains("rows/s") })
  }

  @Test("usage errors exit 2 with a message; --help exits 0",
    arguments: [
      ["train"], ["train", "a.csv", "--lambda", "-1"], ["train", "a.csv", "--lambda", "nan"],
      ["train", "a.csv", "--threads", "0"], ["train", "a.csv", "--max-epochs", "x"], ["train", "a.csv", "--bogus"],
      ["train", "a.csv", "--solver", "adam"], ["frobnicate"], ["predict", "m.json"], ["generate", "o.csv", "--rows", "5"],
      ["train", "a.csv", "--tolerance"],
    ])
  func usageErrors(arguments: [String]) throws {
    let output = try SoftmaxTool.run(arguments, in: directory)
    #expect(output.status == 2, "\(arguments): \(output.stderr)")
    #expect(!output.stderr.isEmpty)
    #expect(!FileManager.default.fileExists(atPath: directory + "/model.json"))
  }

  @Test("--version prints the package's version, on softmax and softmax-bench")
  func version() throws {
    let output = try SoftmaxTool.run(["--version"])
    #expect(output.status == 0 && output.stdout == "softmax \(PackageVersion.current)\n")
    let bench = URL(fileURLWithPath: SoftmaxTool.executable).deletingLastPathComponent().appendingPathComponent("softmax-bench").path
    if FileManager.default.isExecutableFile(atPath: bench) {
      let benchOutput = try SoftmaxTool.runProgram(bench, ["--version"])
      #expect(benchOutput.status == 0 && benchOutput.stdout == "softmax-bench \(PackageVersion.current)\n")
      let help = try SoftmaxTool.runProgram(bench, ["scaling", "--help"])
      #expect(help.status == 0 && help.stdout.contains("softmax-bench scaling"))
    }
  }

  @Test("--help on every command", arguments: ["train", "predict", "evaluate", "generate"])
  func help(command: String) throws {
    let output = try SoftmaxTool.run([command, "--help"])
    #expect(output.status == 0 && output.stdout.contains("Usage: softmax \(command)"))
  }

  @Test("data errors exit 1, name the place, and leave no model file")
  func dataErrors() throws {
    let bad = write("bad.csv", "a,b,label\n1,2,x\n3,oops,y\n")
    let output = try SoftmaxTool.run(["train", bad, "--quiet"], in: directory)
    #expect(output.status == 1)
    #expect(output.stderr.contains("bad.csv, line 3, column 2 (b): not a number ("), "\(output.stderr)")
    #expect(output.stderr.contains("--categorical NAME") && output.stderr.hasSuffix(": \"oops\"\n"), "\(output.stderr)")
    #expect(!FileManager.default.fileExists(atPath: directory + "/model.json"))
    #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["bad.csv"])

    let unwritable = try SoftmaxTool.run(["train", dataFile("iris.csv"), "-o", "/nonexistent-dir/m.json", "--quiet"])
    #expect(unwritable.status == 1 && unwritable.stderr.contains("/nonexistent-dir/m.json"))

    let missing = try SoftmaxTool.run(["train", directory + "/missing.csv"])
    #expect(missing.status == 1 && missing.stderr.contains("missing.csv"))
  }

  @Test("predict and evaluate reject data that does not fit the model")
  func mismatchedData() throws {
    let model = directory + "/m.json"
    #expect(try SoftmaxTool.run(["train", dataFile("iris.csv"), "-o", model, "--quiet", "--max-epochs", "5"]).status == 0)
    let extra = write("extra.csv", "sepal_length,sepal_width,petal_length,petal_width,color,species\n1,2,3,4,5,setosa\n")
    let missing = write("missing.csv", "sepal_length,sepal_width,petal_length,species\n1,2,3,setosa\n")
    let unknown = write("unknown.csv", "sepal_length,sepal_width,petal_length,petal_width,species\n1,2,3,4,rose\n")
    for (file, fragment) in [(extra, "color"), (missing, "petal_width"), (unknown, "rose")] {
      let output = try SoftmaxTool.run(["evaluate", model, file])
      #expect(output.status == 1 && output.stderr.contains(fragment), "\(output.stderr)")
    }
    let unlabeled = write("unlabeled.csv", "petal_width,sepal_length,sepal_width,petal_length\n0.2,5.1,3.5,1.4\n")
    let prediction = try SoftmaxTool.run(["predict", model, unlabeled])
    #expect(prediction.status == 0 && prediction.stdout == "species\nsetosa\n", "\(prediction.stdout) \(prediction.stderr)")
    let corrupt = write("corrupt.json", "{\"format\": \"softmax-regression-model\", \"version\": 1, \"clas")
    let output = try SoftmaxTool.run(["predict", corrupt, unlabeled])
    #expect(output.status == 1 && output.stderr.contains("corrupt.json"))
  }

  @Test("generate writes the requested shape, and the same seed gives the same file")
  func generate() throws {
    let first = directory + "/g1.csv", second = directory + "/g2.csv"
    for path in [first, second] {
      let output = try SoftmaxTool.run(["generate", path, "--rows", "50", "--features", "3", "--classes", "4", "--seed", "9"])
      #expect(output.status == 0, "\(output.stderr)")
    }
    #expect(FileManager.default.contentsEqual(atPath: first, andPath: second))
    let dataset = try Dataset(csvAt: first)
    #expect(dataset.rowCount == 50 && dataset.featureCount == 3 && dataset.classCount == 4)
  }

  @Test("the model file is byte-identical for --threads 1, 2, 3 and 8")
  func deterministicModelFile() throws {
    let data = directory + "/g.csv"
    #expect(try SoftmaxTool.run(["generate", data, "--rows", "2600", "--features", "9", "--classes", "3"]).status == 0)
    var files: [Data] = []
    for threads in [1, 2, 3, 8] {
      let model = directory + "/t\(threads).json"
      let output = try SoftmaxTool.run(["train", data, "-o", model, "--threads", "\(threads)", "--max-epochs", "20", "--quiet"])
      #expect(output.status == 0)
      files.append(try Data(contentsOf: URL(fileURLWithPath: model)))
    }
    for file in files.dropFirst() { #expect(file == files[0]) }
  }

  @Test("solver flags: lbfgs by default, sgd with validation and early stopping, JSON histories")
  func solverFlags() throws {
    let model = directory + "/s.json"
    let lbfgs = try SoftmaxTool.run(["train", dataFile("digits.csv"), "-o", model, "--json", "--quiet", "--max-epochs", "20"])
    let summary = try json(lbfgs.stdout)
    #expect(summary["solver"] as? String == "lbfgs")
    let history = try #require(summary["objective_history"] as? [Double])
    #expect(history.count == (summary["epochs"] as? Int ?? -1) + 1)
    #expect(summary["passes"] as? Int ?? 0 >= summary["epochs"] as? Int ?? 0)

    let sgd = try SoftmaxTool.run([
      "train", dataFile("iris.csv"), "-o", directory + "/sgd.json", "--json", "--quiet", "--solver", "sgd",
      "--epochs", "30", "--batch-size", "16", "--validation", "0.2", "--early-stopping", "2", "--seed", "3",
    ])
    #expect(sgd.status == 0, "\(sgd.stderr)")
    let sgdSummary = try json(sgd.stdout)
    #expect(sgdSummary["validation_rows"] as? Int == 30, "10 of each iris class's 50")
    #expect((sgdSummary["validation_loss_history"] as? [Double])?.count == (sgdSummary["epochs"] as? Int ?? -1) + 1)

    let balanced = try SoftmaxTool.run(["train", dataFile("iris.csv"), "-o", model, "--quiet", "--class-weight", "balanced", "--init", model])
    #expect(balanced.status == 1 && balanced.stderr.contains("initial model"), "digits model cannot start iris: \(balanced.stderr)")
    let bad = try SoftmaxTool.run(["train", dataFile("iris.csv"), "--early-stopping", "3"], in: directory)
    #expect(bad.status == 2 && bad.stderr.contains("--validation"))
  }

  @Test("--weight reads a weight column, and a bad weight names its line")
  func weightFlag() throws {
    let data = write("weighted.csv", "x,w,label\n1,1,a\n2,0.5,b\n3,2,a\n4,1,b\n")
    let ok = try SoftmaxTool.run(["train", data, "--weight", "w", "-o", directory + "/w.json", "--quiet"])
    #expect(ok.status == 0, "\(ok.stderr)")
    let model = try SoftmaxModel(contentsOf: directory + "/w.json")
    #expect(model.featureNames == ["x"])
    let badData = write("badweight.csv", "x,w,label\n1,1,a\n2,-3,b\n")
    let bad = try SoftmaxTool.run(["train", badData, "--weight", "w", "--quiet"], in: directory)
    #expect(bad.status == 1 && bad.stderr.contains("line 3, column 2 (w)"), "\(bad.stderr)")
  }

  @Test("on a terminal, progress is one live status line with elapsed time and ETA",
    .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/script")))
  func liveStatusLine() throws {
    let model = directory + "/tty.json"
    let data = directory + "/tty.csv"
    #expect(try SoftmaxTool.run(["generate", data, "--rows", "4000", "--features", "30", "--classes", "5"]).status == 0)
    let command = "\(SoftmaxTool.executable) train \(data) -o \(model) --solver gd --max-epochs 40 --tolerance 1e-12"
    let output = try SoftmaxTool.runProgram("/usr/bin/script", ["-qec", command, "/dev/null"])
    #expect(output.status == 0, "\(output.stdout)")
    #expect(output.stdout.contains("\r\u{1B}[2K"), "the status line is rewritten in place")
    #expect(output.stdout.contains("elapsed") && output.stdout.contains("ETA"))
    #expect(output.stdout.contains("after 40 epochs"), "the summary says how it ended")
    #expect(output.stdout.contains("model      \(model)"))
    let newlines = output.stdout.filter { $0 == "\n" || $0 == "\r\n" }.count
    #expect(newlines < 15, "no line per epoch on a terminal (\(newlines) lines)")
  }

  @Test("SIGINT while the final model is encoded stops at once: exit 130, no model written")
  func interruptDuringSave() throws {
    let model = temporary.path + "/saved.json"
    // The test seam stands in for a 5-second encode; training 2 epochs of iris takes far less
    // than the 1.5 s before the signal.
    let output = try SoftmaxTool.runProgram(
      "/bin/sh",
      ["-c", #"SOFTMAX_TEST_SAVE_DELAY_MS=5000 "$0" train "$1" --max-epochs 2 -o "$2" --quiet & sleep 1.5; start=$(date +%s); kill -INT $!; wait $!; status=$?; echo "$status $(( $(date +%s) - start ))""#,
       SoftmaxTool.executable, dataFile("iris.csv"), model])
    let fields = output.stdout.split(separator: " ").compactMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    #expect(fields.first == 130, "\(output.stdout) \(output.stderr)")
    #expect((fields.last ?? 99) <= 1, "stopped within a second of the signal")
    #expect(output.stderr.contains("interrupted by SIGINT while saving the model"))
    #expect(!FileManager.default.fileExists(atPath: model))
  }

  @Test("SIGINT and SIGTERM stop training cleanly: exit 128+signal, the old model untouched, no stray files",
    arguments: [(SIGINT, "SIGINT"), (SIGTERM, "SIGTERM")] as [(Int32, String)])
  func interruption(signalNumber: Int32, name: String) throws {
    let data = directory + "/long.csv"
    let model = directory + "/kept.json"
    #expect(try SoftmaxTool.run(["generate", data, "--rows", "20000", "--features", "30", "--classes", "5"]).status == 0)
    #expect(try SoftmaxTool.run(["train", dataFile("iris.csv"), "-o", model, "--quiet"]).status == 0)
    let before = try Data(contentsOf: URL(fileURLWithPath: model))

    let output = try SoftmaxTool.interrupt(
      ["train", data, "-o", model, "--solver", "gd", "--tolerance", "1e-12", "--max-epochs", "1000000"],
      after: "epoch", with: signalNumber)
    let message = output.stderr
    #expect(output.status == 128 + signalNumber, "\(message.suffix(300))")
    #expect(message.contains("interrupted by \(name)"))
    #expect(try Data(contentsOf: URL(fileURLWithPath: model)) == before, "the previous model is untouched")
    let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.contains(".tmp-") }
    #expect(leftovers.isEmpty, "\(leftovers)")
  }

  @Test("with --checkpoint, an interrupted run leaves the last complete checkpoint")
  func interruptedWithCheckpoints() throws {
    let data = directory + "/long.csv"
    let model = directory + "/checkpointed.json"
    #expect(try SoftmaxTool.run(["generate", data, "--rows", "20000", "--features", "30", "--classes", "5"]).status == 0)
    let output = try SoftmaxTool.interrupt(
      ["train", data, "-o", model, "--solver", "gd", "--tolerance", "1e-12", "--max-epochs", "1000000",
       "--checkpoint", "2"],
      after: "epoch 3 ", with: SIGINT)
    let message = output.stderr
    #expect(output.status == 130, "\(message.suffix(300))")
    #expect(message.contains("holds the checkpoint of epoch"), "\(message.suffix(300))")
    let saved = try SoftmaxModel(contentsOf: model)
    #expect(saved.classCount == 5 && saved.featureCount == 30)
    let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.contains(".tmp-") }
    #expect(leftovers.isEmpty, "\(leftovers)")
  }
}
