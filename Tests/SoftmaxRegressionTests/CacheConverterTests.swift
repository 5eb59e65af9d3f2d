import Foundation
import Testing
@testable import SoftmaxRegression

@Suite("Streaming conversion to a cache")
struct CacheConverterTests {
  let temporary = TemporaryDirectory()

  /// The cache `Dataset.writeCache` writes for `text`, and the one the streaming converter
  /// writes at `chunkSize`.
  func bothCaches(_ text: String, schema: Dataset.Schema = .training(), chunkSize: Int) throws -> (Data, Data) {
    let csv = temporary.path + "/in-\(chunkSize).csv"
    try Data(text.utf8).write(to: URL(fileURLWithPath: csv))
    let inMemory = temporary.path + "/memory.smx", streamed = temporary.path + "/streamed-\(chunkSize).smx"
    try Dataset(csvAt: csv, schema: schema).writeCache(to: inMemory, weightName: schema.weightColumn)
    var converter = CacheConverter(csvPaths: [csv], cachePath: streamed, schema: schema, threadCount: 3)
    converter.chunkSize = chunkSize
    _ = try converter.convert()
    return (
      try Data(contentsOf: URL(fileURLWithPath: inMemory)), try Data(contentsOf: URL(fileURLWithPath: streamed))
    )
  }

  func generated(rows: Int, classes: Int, nameLength: Int = 1) -> String {
    var random = SplitMix64(seed: 12)
    var text = "a,w,b,c,kind\n"
    for _ in 0..<rows {
      let label = Int(random.next() % UInt64(classes))
      let values = (0..<3).map { _ in String(format: "%.4f", Double(random.nextGaussian()) + Double(label)) }
      text += "\(values[0]),\(random.next() % 5),\(values[1]),\(values[2]),"
        + String(repeating: "c", count: nameLength) + "\(label)\n"
    }
    return text
  }

  @Test("equals the in-memory cache byte for byte at several chunk sizes, with weights", arguments: [64, 1000, 1 << 22])
  func sameBytes(chunkSize: Int) throws {
    let (memory, streamed) = try bothCaches(
      generated(rows: 3000, classes: 4), schema: .training(weightColumn: "w"), chunkSize: chunkSize)
    #expect(memory == streamed && memory.count > 4096)
  }

  @Test("class names that push the metadata past a page move the matrix, and still give the same bytes")
  func metadataCrossesAPage() throws {
    let (memory, streamed) = try bothCaches(generated(rows: 500, classes: 60, nameLength: 120), chunkSize: 512)
    #expect(memory == streamed)
    let header = CacheHeader(decoding: memory.withUnsafeBytes { UnsafeRawBufferPointer($0) })
    #expect(header.matrixOffset > 4096, "the class names took more than a page")
  }

  @Test("errors are the CSV reader's, with file, line and column, and leave no cache", arguments: [64, 1 << 22])
  func locatedErrors(chunkSize: Int) throws {
    let csv = temporary.path + "/bad.csv", cache = temporary.path + "/bad.smx"
    try Data((generated(rows: 400, classes: 3) + "1,2,x,4,c1\n").utf8).write(to: URL(fileURLWithPath: csv))
    var converter = CacheConverter(csvPaths: [csv], cachePath: cache, schema: .training(), threadCount: 2)
    converter.chunkSize = chunkSize
    #expect(performing: { try converter.convert() }, throws: { error in
      guard case .data(let failure) = error as? CacheConverter.Failure else { return false }
      return failure.file == csv && failure.line == 402 && failure.column == 3 && failure.reason == .notANumber
    })
    #expect(!FileManager.default.fileExists(atPath: cache))
    #expect(try FileManager.default.contentsOfDirectory(atPath: temporary.path).allSatisfy { !$0.contains(".tmp-") })
  }

  /// `text`'s rows cut into `count` parts, each with the header, written as files.
  func parts(of text: String, count: Int) throws -> [String] {
    let lines = text.split(separator: "\n").map { $0 + "\n" }
    let body = lines.dropFirst()
    let size = (body.count + count - 1) / count
    return try (0..<count).map { index in
      let path = temporary.path + "/part-\(index).csv"
      let rows = body.dropFirst(index * size).prefix(size)
      try Data((lines[0] + rows.joined()).utf8).write(to: URL(fileURLWithPath: path))
      return path
    }
  }

  @Test("parts stream into one cache, the bytes of their concatenation's, quoted labels and no weights included", arguments: [64, 4096, 1 << 22])
  func partsStreamed(chunkSize: Int) throws {
    // Quoted labels take the general row path, which must not write weights that are not read.
    let lines = generated(rows: 6000, classes: 5).split(separator: "\n")
    let text = ([String(lines[0])] + lines.dropFirst().map { line in
      line.replacingOccurrences(of: ",c", with: ",\"c") + "\""
    }).joined(separator: "\n") + "\n"
    let paths = try parts(of: text, count: 3)
    let whole = temporary.path + "/whole.smx", streamed = temporary.path + "/parts-\(chunkSize).smx"
    try Dataset(csvText: text, name: "whole.csv").writeCache(to: whole, weightName: nil)
    var converter = CacheConverter(csvPaths: paths, cachePath: streamed, schema: .training(), threadCount: 3)
    converter.chunkSize = chunkSize
    let summary = try converter.convert()
    #expect(summary.rowCount == 6000 && summary.classCount == 5)
    #expect(try Data(contentsOf: URL(fileURLWithPath: whole)) == Data(contentsOf: URL(fileURLWithPath: streamed)))
  }

  @Test("an error in a later part names that part and its own line, and leaves no cache")
  func partErrorLocated() throws {
    let paths = try parts(of: generated(rows: 900, classes: 3), count: 3)
    try Data((String(contentsOfFile: paths[2], encoding: .utf8) + "1,2,3\n").utf8).write(to: URL(fileURLWithPath: paths[2]))
    let cache = temporary.path + "/bad-parts.smx"
    var converter = CacheConverter(csvPaths: paths, cachePath: cache, schema: .training(), threadCount: 2)
    converter.chunkSize = 512
    #expect(performing: { try converter.convert() }, throws: { error in
      guard case .data(let failure) = error as? CacheConverter.Failure else { return false }
      return failure.file == paths[2] && failure.line == 302 && failure.reason == .raggedRow(expected: 5, found: 3)
    })
    #expect(!FileManager.default.fileExists(atPath: cache))
  }
}
