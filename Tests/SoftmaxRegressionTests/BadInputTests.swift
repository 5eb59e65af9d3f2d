import Foundation
import Testing
@testable import SoftmaxRegression

/// Bad input at every entry point of the `softmax` command: each case exits 1 (bad data or
/// files) or 2 (bad usage) with a message naming what is wrong, and never traps (a trap
/// would exit with a signal status, 128+).
@Suite("Bad input table", .serialized)
struct BadInputTests {
  /// Files the cases refer to as `{name}`, written once into a fresh directory.
  static let files: [String: String] = [
    "header-only.csv": "a,b,label\n",
    "empty.csv": "",
    "ragged.csv": "a,b,label\n1,2,x\n3,y\n",
    "nan.csv": "a,b,label\n1,NaN,x\n2,3,y\n",
    "huge.csv": "a,b,label\n1,1e400,x\n2,3,y\n",
    "quote.csv": "a,b,label\n1,\"2,x\n",
    "one-class.csv": "a,b,label\n1,2,x\n3,4,x\n",
    "negative-weight.csv": "a,w,label\n1,-1,x\n2,1,y\n",
    "dup.csv": "a,a,label\n1,2,x\n",
    "other-columns.csv": "sepal_length,sepal_width,petal_length,colour,species\n1,2,3,4,setosa\n",
    "other-class.csv": "sepal_length,sepal_width,petal_length,petal_width,species\n1,2,3,4,tulip\n",
    "model-not-json.json": "not json",
    "model-truncated.json": "{\"format\": \"softmax-regression-model\", \"version\": 1, \"class",
    "model-wrong-version.json":
      "{\"format\": \"softmax-regression-model\", \"version\": 99, \"class_names\": [\"a\", \"b\"], \"feature_names\": [\"x\"], \"label_name\": \"l\", \"weights\": [[1], [2]], \"bias\": [0, 0]}",
    "model-bad-shape.json":
      "{\"format\": \"softmax-regression-model\", \"version\": 1, \"classes\": [\"a\", \"b\"], \"features\": [\"x\"], \"label\": \"l\", \"weights\": [[1]], \"bias\": [0, 0]}",
    "not-a-cache.smx": "SMXDATA",
  ]

  /// (arguments with `{file}` placeholders, exit status, a fragment the message must contain)
  static let cases: [(arguments: [String], status: Int32, message: String)] = [
    // Command-line flags.
    (["train"], 2, "DATA.csv"),
    (["train", "{iris}", "--lambda", "-1"], 2, "--lambda"),
    (["train", "{iris}", "--lambda", "inf"], 2, "--lambda"),
    (["train", "{iris}", "--tolerance", "0"], 2, "--tolerance"),
    (["train", "{iris}", "--max-epochs", "-3"], 2, "--max-epochs"),
    (["train", "{iris}", "--memory", "0"], 2, "--memory"),
    (["train", "{iris}", "--memory", "1e12"], 2, "--memory"),
    (["train", "{iris}", "--threads", "0"], 2, "--threads"),
    (["train", "{iris}", "--validation", "1"], 2, "--validation"),
    (["train", "{iris}", "--momentum", "1"], 2, "--momentum"),
    (["train", "{iris}", "--batch-size", "0"], 2, "--batch-size"),
    (["train", "{iris}", "--solver", "cholesky"], 2, "cholesky"),
    (["train", "{iris}", "--class-weight", "heavy"], 2, "heavy"),
    (["train", "{iris}", "--seed", "-1"], 2, "--seed"),
    (["train", "{iris}", "--checkpoint", "0"], 2, "--checkpoint"),
    (["train", "{iris}", "--unknown-flag"], 2, "--unknown-flag"),
    (["train", "{iris}", "--lambda"], 2, "--lambda"),
    (["predict", "{model}"], 2, "DATA.csv"),
    // More data arguments are part files: a missing one is a data error naming it.
    (["evaluate", "{model}", "{iris}", "extra"], 1, "extra"),
    (["generate", "{dir}/g.csv", "--rows", "0", "--features", "2", "--classes", "2"], 2, "--rows"),
    (["generate", "{dir}/g.csv", "--rows", "5", "--features", "2", "--classes", "1"], 2, "--classes"),
    (["convert", "{iris}"], 2, "DATA.smx"),
    (["nonsense"], 2, "unknown command"),
    // CSV data.
    (["train", "{dir}/missing.csv"], 1, "missing.csv"),
    (["train", "{dir}/empty"], 1, "the directory holds no data files"),
    (["train", "/dev/null"], 1, "the file is empty"),
    (["train", "{empty.csv}"], 1, "the file is empty"),
    (["train", "{header-only.csv}"], 1, "no data rows"),
    (["train", "{ragged.csv}"], 1, "line 3: expected 3 fields, found 2"),
    (["train", "{nan.csv}"], 1, "line 2, column 2 (b): missing value (--missing mean"),
    (["train", "{huge.csv}"], 1, "line 2, column 2 (b): value out of range"),
    (["train", "{quote.csv}"], 1, "line 2, column 2 (b): quoted field is never closed"),
    (["train", "{one-class.csv}"], 1, "found 1 class"),
    (["train", "{negative-weight.csv}", "--weight", "w"], 1, "line 2, column 2 (w): a row weight must be"),
    (["train", "{iris}", "--weight", "nope"], 1, "no column named as the weight column"),
    (["train", "{iris}", "--label", "nope"], 1, "no column named as the label"),
    (["train", "{dup.csv}"], 1, "column name repeats column 1"),
    (["train", "{iris}", "-o", "/nonexistent-dir/m.json"], 1, "/nonexistent-dir/m.json"),
    (["train", "{iris}", "-o", "{dir}"], 1, "directory"),
    // Model files.
    (["predict", "{dir}/none.json", "{iris}"], 1, "none.json"),
    (["predict", "{model-not-json.json}", "{iris}"], 1, "model-not-json.json"),
    (["predict", "{model-truncated.json}", "{iris}"], 1, "model-truncated.json"),
    (["predict", "{model-wrong-version.json}", "{iris}"], 1, "version"),
    (["evaluate", "{model-bad-shape.json}", "{iris}"], 1, "model-bad-shape.json: invalid model: 1 weight rows for 2 classes"),
    (["train", "{iris}", "--init", "{model-not-json.json}"], 1, "model-not-json.json"),
    // Data that does not fit the model.
    (["predict", "{model}", "{other-columns.csv}"], 1, "colour"),
    (["evaluate", "{model}", "{other-class.csv}"], 1, "label is not a class of the model"),
    (["evaluate", "{model}", "{ragged.csv}"], 1, "ragged.csv"),
    // Binary caches.
    (["train", "{not-a-cache.smx}"], 1, "not-a-cache.smx"),
    (["train", "{truncated.smx}"], 1, "truncated"),
    (["train", "{damaged.smx}"], 1, "checksum mismatch"),
    (["train", "{cache}", "--label", "sepal_length"], 1, "label column \"species\""),
    (["train", "{cache}", "--weight", "w"], 1, "no weight column"),
    (["evaluate", "{model}", "{digits-cache}"], 1, "features differ from the model's"),
    (["convert", "{ragged.csv}", "{dir}/out.smx"], 1, "line 3: expected 3 fields"),
    (["convert", "{cache}", "{dir}/out.smx"], 1, "already a dataset cache"),
    (["convert", "{iris}", "/nonexistent-dir/x.smx"], 1, "/nonexistent-dir/x.smx"),
  ]

  /// Writes the files, a model and caches into `directory`; returns the placeholder map.
  static func prepare(in directory: String) throws -> [String: String] {
    var paths = ["dir": directory, "iris": dataFile("iris.csv")]
    for (name, text) in files {
      let path = directory + "/" + name
      try text.write(toFile: path, atomically: true, encoding: .utf8)
      paths[name] = path
    }
    let iris = try Dataset(csvAt: dataFile("iris.csv"))
    try FileManager.default.createDirectory(atPath: directory + "/empty", withIntermediateDirectories: true)
    paths["model"] = directory + "/model.json"
    var options = TrainingOptions()
    options.maxEpochs = 3
    try Trainer(options: options).fit(iris).model.save(to: directory + "/model.json")
    paths["cache"] = directory + "/iris.smx"
    try iris.writeCache(to: directory + "/iris.smx")
    paths["digits-cache"] = directory + "/digits.smx"
    try Dataset(csvAt: dataFile("digits.csv")).writeCache(to: directory + "/digits.smx")
    let cacheBytes = try Data(contentsOf: URL(fileURLWithPath: directory + "/iris.smx"))
    paths["truncated.smx"] = directory + "/truncated.smx"
    try cacheBytes.prefix(cacheBytes.count - 64).write(to: URL(fileURLWithPath: directory + "/truncated.smx"))
    var damaged = cacheBytes
    damaged[damaged.count - 100] ^= 0x40
    paths["damaged.smx"] = directory + "/damaged.smx"
    try damaged.write(to: URL(fileURLWithPath: directory + "/damaged.smx"))
    return paths
  }

  @Test("every bad input exits 1 or 2 with its message, and writes no model")
  func table() throws {
    let temporary = TemporaryDirectory()
    defer { temporary.remove() }
    let paths = try Self.prepare(in: temporary.path)
    let directory = temporary.path
    for testCase in Self.cases {
      let arguments = testCase.arguments.map { argument in
        var result = argument
        for (name, path) in paths { result = result.replacingOccurrences(of: "{\(name)}", with: path) }
        return result
      }
      let output = try SoftmaxTool.run(arguments + ["--quiet"].filter { _ in arguments.first == "train" }, in: directory)
      #expect(output.status == testCase.status, "\(testCase.arguments): status \(output.status), \(output.stderr)")
      #expect(output.stderr.contains(testCase.message), "\(testCase.arguments): \(output.stderr)")
      let strays = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.contains(".tmp-") }
      #expect(strays.isEmpty, "\(testCase.arguments) left \(strays)")
      #expect(!FileManager.default.fileExists(atPath: directory + "/out.smx"))
    }
  }

  @Test("convert, then train, predict and evaluate on the cache: the same model and output as from the CSV")
  func convertRoundTrip() throws {
    let temporary = TemporaryDirectory()
    defer { temporary.remove() }
    let directory = temporary.path
    let cache = directory + "/iris.smx"
    let convert = try SoftmaxTool.run(["convert", dataFile("iris.csv"), cache])
    #expect(convert.status == 0 && convert.stderr.contains("wrote"), "\(convert.stderr)")
    for (data, model) in [(dataFile("iris.csv"), directory + "/a.json"), (cache, directory + "/b.json")] {
      #expect(try SoftmaxTool.run(["train", data, "-o", model, "--quiet", "--threads", "2"]).status == 0)
    }
    let a = try Data(contentsOf: URL(fileURLWithPath: directory + "/a.json"))
    #expect(try Data(contentsOf: URL(fileURLWithPath: directory + "/b.json")) == a)
    let fromCSV = try SoftmaxTool.run(["evaluate", directory + "/a.json", dataFile("iris.csv"), "--json"])
    let fromCache = try SoftmaxTool.run(["evaluate", directory + "/a.json", cache, "--json"])
    #expect(fromCSV.status == 0 && fromCSV.stdout == fromCache.stdout)
    let predicted = try SoftmaxTool.run(["predict", directory + "/a.json", cache])
    #expect(predicted.stdout == (try SoftmaxTool.run(["predict", directory + "/a.json", dataFile("iris.csv")])).stdout)
  }
}
