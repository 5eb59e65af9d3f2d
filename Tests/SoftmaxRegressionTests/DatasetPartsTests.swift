import Foundation
import Testing
@testable import SoftmaxRegression

@Suite("Several part files")
struct DatasetPartsTests {
  let temporary = TemporaryDirectory()

  /// Writes `parts` (each with the header) and returns their paths.
  func write(_ parts: [String], header: String) throws -> [String] {
    try parts.enumerated().map { index, body in
      let path = temporary.path + "/part-\(index).csv"
      try Data((header + body).utf8).write(to: URL(fileURLWithPath: path))
      return path
    }
  }

  func rows(_ count: Int, seed: UInt64, classes: [String]) -> [String] {
    var random = SplitMix64(seed: seed)
    return (0..<count).map { _ in
      let label = classes[Int(random.next() % UInt64(classes.count))]
      return String(format: "%.3f,%.5f,", 1e5 + Double(random.nextGaussian()), Double(random.nextGaussian()) * 0.01) + label + "\n"
    }
  }

  @Test("parts load as their concatenation: values, encoding sampled across parts, classes, weights of none")
  func sameAsConcatenation() throws {
    let header = "price,noise,kind\n"
    let all = rows(2500, seed: 4, classes: ["b", "a", "c"])
    // The first part is shorter than the 1,024-row sample, and holds only two classes.
    let first = all.prefix(10).map { $0.replacingOccurrences(of: ",c\n", with: ",a\n") }
    let pieces = [first.joined(), all[10..<1800].joined(), all[1800...].joined()]
    let paths = try write(pieces, header: header)
    let whole = try Dataset(csvText: header + pieces.joined(), name: "whole.csv")
    let fromParts = try Dataset(csvParts: paths, threadCount: 2)
    #expect(ParallelLoaderTests.fingerprint(fromParts) == ParallelLoaderTests.fingerprint(whole))
  }

  @Test("a part with another header, or a bad row, is an error naming that part and its line")
  func errorsNameThePart() throws {
    var paths = try write([rows(20, seed: 1, classes: ["x", "y"]).joined(), rows(20, seed: 2, classes: ["x", "y"]).joined()], header: "a,b,l\n")
    let other = temporary.path + "/other.csv"
    try Data(("a,c,l\n" + rows(5, seed: 3, classes: ["x", "y"]).joined()).utf8).write(to: URL(fileURLWithPath: other))
    #expect(performing: { try Dataset(csvParts: paths + [other]) }, throws: { error in
      guard let error = error as? DatasetError else { return false }
      return error.file == other && error.description.contains("header differs")
    })
    let bad = temporary.path + "/bad.csv"
    try Data(("a,b,l\n" + rows(7, seed: 5, classes: ["x", "y"]).joined() + "1,oops,x\n").utf8).write(to: URL(fileURLWithPath: bad))
    paths.insert(bad, at: 1)
    #expect(performing: { try Dataset(csvParts: paths) }, throws: { error in
      guard let error = error as? DatasetError else { return false }
      return error.file == bad && error.line == 9 && error.column == 2
    })
  }

  /// Rows of a table with a numeric column that has missing cells and a text column whose
  /// levels differ between stretches of rows.
  func tableRows(_ count: Int, seed: UInt64, levels: [String]) -> [String] {
    var random = SplitMix64(seed: seed)
    return (0..<count).map { _ in
      let size = random.next() % 7 == 0 ? "" : String(format: "%.3f", 10 + Double(random.nextGaussian()))
      let color = random.next() % 11 == 0 ? "NA" : levels[Int(random.next() % UInt64(levels.count))]
      return "\(size),\(color),k\(random.next() % 3)\n"
    }
  }

  /// Everything a load decides: values, classes, the table (levels, fills) and what was
  /// missing or dropped.
  func fullFingerprint(_ dataset: Dataset) -> String {
    ParallelLoaderTests.fingerprint(dataset) + "\n\(String(describing: dataset.table))\n\(dataset.ingest)"
  }

  @Test("parts with a text column and missing cells load as their concatenation under each rule, levels merged over all parts", arguments: [MissingValuePolicy.mean, .drop])
  func tablesAsConcatenation(missing: MissingValuePolicy) throws {
    let header = "size,color,kind\n"
    // Levels first seen in later parts, and a first part shorter than the column sample.
    let pieces = [
      tableRows(30, seed: 1, levels: ["red", "blue"]).joined(),
      tableRows(900, seed: 2, levels: ["green", "red"]).joined(),
      tableRows(700, seed: 3, levels: ["amber", "blue", "teal"]).joined(),
    ]
    let paths = try write(pieces, header: header)
    var schema = Dataset.Schema.training()
    schema.missing = missing
    let whole = try Dataset(csvText: header + pieces.joined(), name: "whole.csv", schema: schema)
    let fromParts = try Dataset(csvParts: paths, schema: schema, threadCount: 2)
    #expect(fullFingerprint(fromParts) == fullFingerprint(whole))
    #expect(fromParts.table.columns[1].levels?.count == 5)
  }

  @Test("a column whose levels pass the limit only over the parts is refused, naming the part and column")
  func levelsOverTheParts() throws {
    let header = "size,color,kind\n"
    let paths = try write(
      [tableRows(40, seed: 4, levels: ["a", "b"]).joined(), tableRows(40, seed: 5, levels: ["c", "d"]).joined()],
      header: header)
    var schema = Dataset.Schema.training()
    schema.missing = .mean
    schema.maxLevels = 3
    #expect(performing: { try Dataset(csvParts: paths, schema: schema) }, throws: { error in
      guard let error = error as? DatasetError else { return false }
      return error.file == paths[1] && error.columnName == "color" && error.reason == .tooManyLevels(limit: 3)
    })
    schema.maxLevels = 4
    #expect(try Dataset(csvParts: paths, schema: schema).table.columns[1].levels == ["a", "b", "c", "d"])
  }

  @Test("a class outside the schema's, in a later part, is located in that part")
  func unknownClassInALaterPart() throws {
    let paths = try write(
      [rows(30, seed: 6, classes: ["x", "y"]).joined(), rows(5, seed: 7, classes: ["x"]).joined() + "1.5,0.1,z\n"],
      header: "a,b,l\n")
    let schema = Dataset.Schema.matching(
      featureNames: ["a", "b"], classNames: ["x", "y"], labelColumn: "l", requiresLabels: true)
    #expect(performing: { try Dataset(csvParts: paths, schema: schema) }, throws: { error in
      guard let error = error as? DatasetError, case .unknownClass = error.reason else { return false }
      return error.file == paths[1] && error.line == 7 && error.column == 3
    })
  }

  @Test("a gzip-compressed part reads as its text, and its errors name it with the text's line")
  func compressedPart() throws {
    let header = "price,noise,kind\n"
    let all = rows(300, seed: 8, classes: ["b", "a"])
    let paths = try write([all[..<100].joined(), all[100...].joined()], header: header)
    let gzip = try SoftmaxTool.runProgram("/bin/sh", ["-c", "gzip -k -f -9 \"$0\"", paths[1]])
    #expect(gzip.status == 0, "\(gzip.stderr)")
    let mixed = [paths[0], paths[1] + ".gz"]
    #expect(
      ParallelLoaderTests.fingerprint(try Dataset(csvParts: mixed))
        == ParallelLoaderTests.fingerprint(try Dataset(csvText: header + all.joined(), name: "whole.csv")))
    let bad = temporary.path + "/bad.csv"
    try Data((header + all[..<100].joined() + "1,2,\n").utf8).write(to: URL(fileURLWithPath: bad))
    _ = try SoftmaxTool.runProgram("/bin/sh", ["-c", "gzip -f -9 \"$0\"", bad])
    #expect(performing: { try Dataset(csvParts: [paths[1], bad + ".gz"]) }, throws: { error in
      guard let error = error as? DatasetError else { return false }
      return error.file == bad + ".gz" && error.line == 102 && error.reason == .emptyLabel
    })
  }

  @Test("every bad input of the CSV reader, in a later part, is that part's own first error",
    // With the first part's header; "one class" is no error over parts holding two, and the
    // "invalid UTF-8" text is valid until the reader's own test makes it bytes.
    arguments: DatasetTests.errorCases.indices.filter { index in
      let testCase = DatasetTests.errorCases[index]
      return testCase.text.hasPrefix("a,b,l\n") && !["one class", "invalid UTF-8"].contains(testCase.name)
    })
  func partErrors(index: Int) throws {
    let testCase = DatasetTests.errorCases[index]
    let first = temporary.path + "/good-\(index).csv", second = temporary.path + "/bad-\(index).csv"
    try Data("a,b,l\n1,2,x\n3,4,y\n".utf8).write(to: URL(fileURLWithPath: first))
    try Data(testCase.text.utf8).write(to: URL(fileURLWithPath: second))
    var expected: DatasetError? = nil
    do { _ = try Dataset.parseSerially(csvText: testCase.text, name: second, schema: .training()) } catch { expected = error }
    #expect(expected != nil, "the case is an error on its own")
    #expect(performing: { try Dataset(csvParts: [first, second], threadCount: 2) }, throws: { error in
      guard let error = error as? DatasetError, let expected else { return false }
      return error.file == second && error.line == expected.line && error.column == expected.column
        && error.reason == expected.reason && error.value == expected.value
    })
  }

  @Test("train takes several parts, or their directory, and gives the model of their concatenation")
  func trainOnParts() throws {
    let header = "price,noise,kind\n"
    let all = rows(600, seed: 9, classes: ["x", "y", "z"])
    let pieces = [all[..<200].joined(), all[200..<450].joined(), all[450...].joined()]
    let paths = try write(pieces, header: header)
    let whole = temporary.path + "/whole.csv"
    try Data((header + pieces.joined()).utf8).write(to: URL(fileURLWithPath: whole))
    let directory = temporary.path + "/parts"
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    for path in paths {
      try FileManager.default.copyItem(atPath: path, toPath: directory + "/" + (path as NSString).lastPathComponent)
    }
    func model(_ arguments: [String], _ name: String) throws -> Data {
      let output = try SoftmaxTool.run(["train"] + arguments + ["-o", temporary.path + "/" + name, "--quiet"])
      #expect(output.status == 0, "\(output.stderr)")
      return try Data(contentsOf: URL(fileURLWithPath: temporary.path + "/" + name))
    }
    let reference = try model([whole], "whole.json")
    #expect(try model(paths, "parts.json") == reference)
    #expect(try model([directory], "directory.json") == reference)
    #expect(try model(paths + ["--cache", temporary.path + "/p.smx"], "cached.json") == reference)
    #expect(DatasetCache.isCache(path: temporary.path + "/p.smx"))
    #expect(try model([temporary.path + "/p.smx"], "fromCache.json") == reference)
  }
}
