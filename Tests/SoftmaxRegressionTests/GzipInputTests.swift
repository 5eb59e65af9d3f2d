import Foundation
import Testing
@testable import SoftmaxRegression

@Suite("Gzip-compressed CSV", .serialized)
struct GzipInputTests {
  let temporary = TemporaryDirectory()

  /// `text` gzip-compressed by the system's gzip (an independent writer), at `name`.
  func gzip(_ text: String, name: String) throws -> String {
    let plain = temporary.path + "/" + name
    try Data(text.utf8).write(to: URL(fileURLWithPath: plain))
    let output = try SoftmaxTool.runProgram("/bin/sh", ["-c", "gzip -f -9 \"$0\"", plain])
    #expect(output.status == 0, "\(output.stderr)")
    return plain + ".gz"
  }

  var irisText: String { get throws { try String(contentsOfFile: dataFile("iris.csv"), encoding: .utf8) } }

  @Test("a .csv.gz loads as its text does, and a file of two gzip members as their concatenation")
  func sameAsPlain() throws {
    let text = try irisText
    let compressed = try gzip(text, name: "iris.csv")
    let plain = try Dataset(csvAt: dataFile("iris.csv"))
    #expect(ParallelLoaderTests.fingerprint(try Dataset(contentsOf: compressed)) == ParallelLoaderTests.fingerprint(plain))
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    let first = try gzip(lines[0..<60].joined(separator: "\n") + "\n", name: "a.csv")
    let second = try gzip(lines[60...].joined(separator: "\n"), name: "b.csv")
    let joined = temporary.path + "/joined.csv.gz"
    try (Data(contentsOf: URL(fileURLWithPath: first)) + Data(contentsOf: URL(fileURLWithPath: second)))
      .write(to: URL(fileURLWithPath: joined))
    #expect(ParallelLoaderTests.fingerprint(try Dataset(contentsOf: joined)) == ParallelLoaderTests.fingerprint(plain))
  }

  @Test("a damaged or truncated stream is an error naming the file and the byte; a bad row names the .gz and its line")
  func damagedStreams() throws {
    let compressed = try gzip(try irisText, name: "damaged.csv")
    var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: compressed)))
    let truncated = temporary.path + "/truncated.csv.gz"
    try Data(bytes.prefix(bytes.count / 2)).write(to: URL(fileURLWithPath: truncated))
    #expect(performing: { try Dataset(contentsOf: truncated) }, throws: { error in
      (error as? DatasetError)?.description.contains("\(truncated): cannot read the file") == true
        && "\(error)".contains("truncated")
    })
    for index in 40..<bytes.count - 20 { bytes[index] ^= 0x5A }
    let damaged = temporary.path + "/flipped.csv.gz"
    try Data(bytes).write(to: URL(fileURLWithPath: damaged))
    #expect(performing: { try Dataset(contentsOf: damaged) }, throws: { error in
      "\(error)".contains(damaged) && "\(error)".contains("damaged at compressed byte")
    })
    let badRow = try gzip("a,b,l\n1,2,x\n3,oops,y\n", name: "bad.csv")
    #expect(performing: { try Dataset(contentsOf: badRow) }, throws: { error in
      guard let error = error as? DatasetError else { return false }
      return error.file == badRow && error.line == 3 && error.column == 2
    })
    let leftovers = try FileManager.default.contentsOfDirectory(atPath: NSTemporaryDirectory())
      .filter { $0.hasPrefix("softmax-gunzip-") }
    #expect(leftovers.isEmpty, "\(leftovers)")
  }

  @Test("convert and train take a .csv.gz: the same cache and model as from the text")
  func commands() throws {
    let compressed = try gzip(try irisText, name: "cmd.csv")
    let directory = temporary.path
    #expect(try SoftmaxTool.run(["convert", compressed, directory + "/gz.smx", "--quiet"]).status == 0)
    #expect(try SoftmaxTool.run(["convert", dataFile("iris.csv"), directory + "/plain.smx", "--quiet"]).status == 0)
    #expect(try Data(contentsOf: URL(fileURLWithPath: directory + "/gz.smx")) == Data(contentsOf: URL(fileURLWithPath: directory + "/plain.smx")))
    #expect(try SoftmaxTool.run(["train", compressed, "-o", directory + "/gz.json", "--quiet"]).status == 0)
    #expect(try SoftmaxTool.run(["train", dataFile("iris.csv"), "-o", directory + "/plain.json", "--quiet"]).status == 0)
    #expect(try Data(contentsOf: URL(fileURLWithPath: directory + "/gz.json")) == Data(contentsOf: URL(fileURLWithPath: directory + "/plain.json")))
  }
}
