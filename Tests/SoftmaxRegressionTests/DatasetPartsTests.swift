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
    let cached = try SoftmaxTool.run(["train"] + paths + ["--cache", temporary.path + "/p.smx"])
    #expect(cached.status == 2 && cached.stderr.contains("--cache takes one CSV file"), "\(cached.stderr)")
  }
}
