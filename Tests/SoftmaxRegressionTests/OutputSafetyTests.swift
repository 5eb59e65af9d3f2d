import Foundation
import Testing
@testable import SoftmaxRegression

/// What the CLI does to the files it writes: never replaces a device, FIFO or link, keeps
/// permissions, never destroys an input, and never reports success after a failed write to
/// standard output.
@Suite("Output safety", .serialized)
struct OutputSafetyTests {
  let temporary = TemporaryDirectory()
  var directory: String { temporary.path }

  func fileType(_ path: String) -> FileAttributeType? {
    (try? FileManager.default.attributesOfItem(atPath: path))?[.type] as? FileAttributeType
  }

  func copyIris() throws -> String {
    let path = directory + "/iris.csv"
    try FileManager.default.copyItem(atPath: dataFile("iris.csv"), toPath: path)
    return path
  }

  @Test("a FIFO as the model is written through and stays a FIFO")
  func fifoStaysFifo() throws {
    let fifo = directory + "/model.pipe"
    #expect(mkfifo(fifo, 0o644) == 0)
    // The reader runs in a shell so that the FIFO has a reader while train writes.
    let command =
      "timeout -s KILL 20 cat '\(fifo)' > '\(directory)/received.json' & "
      + "'\(SoftmaxTool.executable)' train '\(dataFile("iris.csv"))' -o '\(fifo)' --quiet --max-epochs 2; "
      + "status=$?; wait; exit $status"
    let output = try SoftmaxTool.runProgram("/bin/sh", ["-c", command])
    #expect(output.status == 0, "\(output.stderr)")
    #expect(fileType(fifo) == .typeUnknown || fileType(fifo) != .typeRegular, "the FIFO was replaced by a file")
    var status = stat()
    #expect(stat(fifo, &status) == 0 && status.st_mode & S_IFMT == S_IFIFO)
    let received = try SoftmaxModel(contentsOf: directory + "/received.json")
    #expect(received.classNames == ["setosa", "versicolor", "virginica"])
  }

  @Test("-o - writes the model to standard output and no file named '-'")
  func dashIsStandardOutput() throws {
    let output = try SoftmaxTool.run(["train", dataFile("iris.csv"), "-o", "-", "--quiet", "--max-epochs", "2"], in: directory)
    #expect(output.status == 0, "\(output.stderr)")
    let model = try SoftmaxModel(fileData: Data(output.stdout.utf8), name: "stdout")
    #expect(model.featureNames.count == 4)
    #expect(!FileManager.default.fileExists(atPath: directory + "/-"))
    let both = try SoftmaxTool.run(["train", dataFile("iris.csv"), "-o", "-", "--json"], in: directory)
    #expect(both.status == 2 && both.stderr.contains("--json"))
  }

  @Test("a failed write to standard output exits 1 with the reason", arguments: ["predict", "evaluate", "train"])
  func failedStandardOutput(command: String) throws {
    let model = directory + "/m.json"
    #expect(try SoftmaxTool.run(["train", dataFile("iris.csv"), "-o", model, "--quiet", "--max-epochs", "2"]).status == 0)
    let arguments: String
    switch command {
    case "predict": arguments = "predict '\(model)' '\(dataFile("iris.csv"))'"
    case "evaluate": arguments = "evaluate '\(model)' '\(dataFile("iris.csv"))' --json"
    default: arguments = "train '\(dataFile("iris.csv"))' -o '\(directory)/t.json' --quiet --json --max-epochs 2"
    }
    for (target, reason) in [("> /dev/full", "No space left on device"), (">&-", "Bad file descriptor")] {
      let output = try SoftmaxTool.runProgram("/bin/sh", ["-c", "exec '\(SoftmaxTool.executable)' \(arguments) \(target)"])
      #expect(output.status == 1, "\(command) \(target): \(output.status)")
      #expect(output.stderr.contains("cannot write to standard output: \(reason)"), "\(output.stderr)")
    }
  }

  @Test("an output that is an input is refused before anything is written")
  func outputIsInput() throws {
    let iris = try copyIris()
    let model = directory + "/model.json"
    #expect(try SoftmaxTool.run(["train", iris, "-o", model, "--quiet", "--max-epochs", "2"]).status == 0)
    #expect(symlink(iris, directory + "/link.csv") == 0)
    let before = try [iris, model].map { try Data(contentsOf: URL(fileURLWithPath: $0)) }
    let cases: [[String]] = [
      ["train", iris, "-o", iris, "--quiet"],
      ["train", iris, "-o", directory + "/link.csv", "--quiet"],
      ["convert", directory + "/link.csv", iris],
      ["predict", model, iris, "-o", model],
      ["evaluate", model, iris, "--plot", model],
      ["train", iris, "-o", model, "--plot", model, "--quiet"],
      ["train", iris, "-o", directory + "/link.csv", "--plot", iris, "--quiet"],
    ]
    for arguments in cases {
      let output = try SoftmaxTool.run(arguments, in: directory)
      #expect(output.status == 2, "\(arguments): \(output.status) \(output.stderr)")
      #expect(output.stderr.contains("also an input") || output.stderr.contains("same file"), "\(output.stderr)")
    }
    let after = try [iris, model].map { try Data(contentsOf: URL(fileURLWithPath: $0)) }
    #expect(after == before)
    // Continuing a model in place is allowed: it is read whole before it is replaced.
    let inPlace = try SoftmaxTool.run(["train", iris, "--init", model, "-o", model, "--quiet"], in: directory)
    #expect(inPlace.status == 0, "\(inPlace.stderr)")
    #expect(try SoftmaxModel(contentsOf: model).classNames.count == 3)
  }

  @Test("replacing a model keeps its permissions and writes through a symbolic link")
  func modeAndLinkKept() throws {
    let model = directory + "/model.json"
    #expect(try SoftmaxTool.run(["train", dataFile("iris.csv"), "-o", model, "--quiet", "--max-epochs", "1"]).status == 0)
    #expect(chmod(model, 0o600) == 0)
    #expect(symlink("model.json", directory + "/link.json") == 0)
    let old = try Data(contentsOf: URL(fileURLWithPath: model))
    #expect(try SoftmaxTool.run(["train", dataFile("iris.csv"), "-o", directory + "/link.json", "--quiet", "--max-epochs", "5"]).status == 0)
    #expect(fileType(directory + "/link.json") == .typeSymbolicLink)
    #expect(try Data(contentsOf: URL(fileURLWithPath: model)) != old, "the link's target holds the new model")
    var status = stat()
    #expect(stat(model, &status) == 0 && status.st_mode & 0o777 == 0o600)
  }

  @Test("a run that diverges exits 1 and writes no model")
  func divergenceWritesNothing() throws {
    let model = directory + "/diverged.json"
    let output = try SoftmaxTool.run(
      ["train", dataFile("iris.csv"), "--solver", "sgd", "--learning-rate", "1e30", "-o", model, "--quiet"])
    #expect(output.status == 1 && output.stderr.contains("diverged"), "\(output.status) \(output.stderr)")
    #expect(!FileManager.default.fileExists(atPath: model))
  }

  @Test("a FIFO as data is read as a stream by every command", arguments: ["train", "predict", "evaluate", "convert"])
  func fifoAsData(command: String) throws {
    let fifo = directory + "/data-\(command).csv"
    #expect(mkfifo(fifo, 0o644) == 0)
    let model = directory + "/fifo-model.json"
    if command != "train" && command != "convert" {
      #expect(try SoftmaxTool.run(["train", dataFile("iris.csv"), "-o", model, "--quiet", "--max-epochs", "1"]).status == 0)
    }
    let arguments: [String]
    switch command {
    case "train": arguments = ["train", fifo, "-o", directory + "/x.json", "--quiet"]
    case "convert": arguments = ["convert", fifo, directory + "/x.smx", "--quiet"]
    default: arguments = [command, model, fifo]
    }
    // A writer fills the FIFO after the command has started; the timeout turns a hang into 137.
    let quoted = arguments.map { "'\($0)'" }.joined(separator: " ")
    let output = try SoftmaxTool.runProgram(
      "/bin/sh", ["-c", "(sleep 0.3; cat '\(dataFile("iris.csv"))' > '\(fifo)') & timeout -s KILL 20 '\(SoftmaxTool.executable)' \(quoted)"])
    #expect(output.status == 0, "\(command): exit \(output.status), \(output.stderr)")
  }

  @Test("control characters in labels and values reach neither the terminal nor the SVG raw")
  func controlCharactersEscaped() throws {
    let data = directory + "/ctl.csv"
    try "x,label\n1,a\n2,\u{1B}[31mred\u{7}\n3,a\n4,\u{1B}[31mred\u{7}\n".write(toFile: data, atomically: true, encoding: .utf8)
    let model = directory + "/ctl.json"
    #expect(try SoftmaxTool.run(["train", data, "-o", model, "--quiet"]).status == 0)
    let svg = directory + "/ctl.svg"
    let evaluate = try SoftmaxTool.run(["evaluate", model, data, "--plot", svg])
    #expect(evaluate.status == 0)
    #expect(!evaluate.stdout.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x7 })
    #expect(evaluate.stdout.contains("\\u{1B}[31mred\\u{7}"))
    let chart = try Data(contentsOf: URL(fileURLWithPath: svg))
    #expect(!chart.contains { $0 < 0x20 && $0 != 0x09 && $0 != 0x0A && $0 != 0x0D }, "XML 1.0 forbids C0 controls")
    let badValue = directory + "/badvalue.csv"
    try "x,label\n1,a\nzz\u{1B}]0;title\u{7},b\n".write(toFile: badValue, atomically: true, encoding: .utf8)
    let train = try SoftmaxTool.run(["train", badValue, "-o", directory + "/never.json"])
    #expect(train.status == 1 && !train.stderr.unicodeScalars.contains { $0.value == 0x1B })
    #expect(train.stderr.contains("\\u{1B}]0;title"), "\(train.stderr)")
  }

  @Test("evaluate's per-class table lines up when class names are shorter than its header")
  func perClassTableAligned() throws {
    let data = directory + "/short.csv"
    try "x,label\n1,a\n2,b\n1.5,a\n2.5,b\n".write(toFile: data, atomically: true, encoding: .utf8)
    let model = directory + "/short.json"
    #expect(try SoftmaxTool.run(["train", data, "-o", model, "--quiet"]).status == 0)
    let lines = try SoftmaxTool.run(["evaluate", model, data]).stdout.split(separator: "\n").map(String.init)
    let header = try #require(lines.firstIndex { $0.hasPrefix("class ") })
    let recallColumn = try #require(lines[header].range(of: "recall")).upperBound.utf16Offset(in: lines[header])
    for line in lines[(header + 1)...] where !line.isEmpty {
      // The recall value (the third field; the fourth after "macro avg" and "weighted avg")
      // ends where the header's "recall" ends.
      let nameWords = line.hasPrefix("macro avg") || line.hasPrefix("weighted avg") ? 2 : 1
      let recallEnd = try #require(line.split(separator: " ").dropFirst(nameWords + 1).first).endIndex.utf16Offset(in: line)
      #expect(recallEnd == recallColumn, "\(lines[header])\n\(line)")
    }
  }

  @Test("messages say what is wrong: UTF-16 data, a loop of links as the model, a label missing among a million columns")
  func clearMessages() throws {
    let utf16 = directory + "/u16.csv"
    try Data([0xFF, 0xFE] + Array("x,label\n1,a\n".utf16).flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] })
      .write(to: URL(fileURLWithPath: utf16))
    let train = try SoftmaxTool.run(["train", utf16, "-o", directory + "/u.json"])
    #expect(train.status == 1 && train.stderr.contains("UTF-16"), "\(train.stderr)")

    #expect(symlink("loop-b.json", directory + "/loop-a.json") == 0 && symlink("loop-a.json", directory + "/loop-b.json") == 0)
    let predict = try SoftmaxTool.run(["predict", directory + "/loop-a.json", dataFile("iris.csv")])
    #expect(predict.status == 1 && predict.stderr.contains("symbolic links") && !predict.stderr.contains("NSCocoaErrorDomain"), "\(predict.stderr)")

    let wide = directory + "/wide.csv"
    let header = (0..<100_000).map { "c\($0)" }.joined(separator: ",") + ",label\n"
    let row = [String](repeating: "1", count: 100_000).joined(separator: ",") + ",a\n"
    try (header + row).write(toFile: wide, atomically: true, encoding: .utf8)
    let missing = try SoftmaxTool.run(["train", wide, "--label", "nosuch", "-o", directory + "/w.json"])
    #expect(missing.status == 1 && missing.stderr.contains("(99981 more)") && missing.stderr.utf8.count < 1000, "\(missing.stderr.utf8.count) bytes")
  }

  @Test("SIGINT or SIGTERM during generate stops it with 128+signal and no temporary file",
    arguments: [SIGINT, SIGTERM])
  func interruptedGenerate(signalNumber: Int32) throws {
    let output = directory + "/big-\(signalNumber).csv"
    let process = Process()
    process.executableURL = URL(fileURLWithPath: SoftmaxTool.executable)
    process.arguments = ["generate", output, "--rows", "50000000", "--features", "20", "--classes", "3"]
    process.standardError = Pipe()
    try process.run()
    // Wait until the temporary file exists: the writer is under way.
    let deadline = Date().addingTimeInterval(30)
    func temporaries() -> [String] {
      ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.contains(".tmp-") }
    }
    while temporaries().isEmpty && Date() < deadline { usleep(20_000) }
    #expect(!temporaries().isEmpty, "the writer never started")
    kill(process.processIdentifier, signalNumber)
    process.waitUntilExit()
    #expect(process.terminationReason == .exit && process.terminationStatus == 128 + signalNumber)
    #expect(temporaries().isEmpty, "\(temporaries())")
    #expect(!FileManager.default.fileExists(atPath: output))
  }

  @Test("a writer removes the temporary files a dead process left beside its destination, and only those")
  func staleTemporariesRemoved() throws {
    var deadPID: Int32 = 4_000_000
    while kill(deadPID, 0) == 0 || errno != ESRCH { deadPID -= 1 }
    let stale = directory + "/.m.json.tmp-\(deadPID)-7"
    let live = directory + "/.m.json.tmp-1-7"  // pid 1 always exists
    let other = directory + "/.other.json.tmp-\(deadPID)-7"
    for path in [stale, live, other] { #expect(FileManager.default.createFile(atPath: path, contents: Data("x".utf8))) }
    #expect(try SoftmaxTool.run(["train", dataFile("iris.csv"), "-o", directory + "/m.json", "--quiet", "--max-epochs", "1"]).status == 0)
    #expect(!FileManager.default.fileExists(atPath: stale))
    #expect(FileManager.default.fileExists(atPath: live) && FileManager.default.fileExists(atPath: other))
  }

  @Test("a cache truncated while training reads it is exit 1 with a message naming it, not SIGBUS, and no model")
  func truncatedWhileMapped() throws {
    let cache = directory + "/s.smx", model = directory + "/m.json"
    try GaussianClusters(rowCount: 3000, featureCount: 20, classCount: 3, seed: 2).makeDataset().writeCache(to: cache)
    let output = try SoftmaxTool.start(
      ["train", cache, "--solver", "sgd", "--tolerance", "1e-300", "--max-epochs", "100000000", "-o", model],
      after: "epoch 2"
    ) { _ in _ = truncate(cache, 4096) }
    #expect(output.status == 1, "\(output.stderr)")
    #expect(output.stderr.contains("an input file changed (truncated?) while it was read: \(cache)"))
    #expect(!FileManager.default.fileExists(atPath: model))
  }

  @Test("arguments that are not UTF-8 are refused, not replaced by another name")
  func nonUTF8Arguments() throws {
    let iris = try copyIris()
    let output = try SoftmaxTool.runProgram(
      "/bin/sh", ["-c", "exec \"$0\" train \"$1\" -o \"$(printf 'o\\376.json')\"", SoftmaxTool.executable, iris],
      in: directory)
    #expect(output.status == 2)
    #expect(output.stderr.contains("o\\xFE.json\" is not valid UTF-8"), "\(output.stderr)")
    #expect(try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasPrefix("o") }.isEmpty)
  }
}
