import Foundation
import Testing
@testable import SoftmaxRegression

/// Caches crafted to pass both checksums but break the layout must be refused, in train,
/// predict and evaluate, with exit 1 and a message, never a trap.
@Suite("Crafted caches")
struct CraftedCacheTests {
  let temporary = TemporaryDirectory()

  /// A valid iris cache, changed by `edit`, with its file length and both checksums
  /// recomputed so that only the layout checks can catch it.
  func craft(_ name: String, _ edit: (inout [UInt8]) -> Void) throws -> String {
    let clean = temporary.path + "/clean.smx"
    if !FileManager.default.fileExists(atPath: clean) {
      try Dataset(csvAt: dataFile("iris.csv")).writeCache(to: clean)
    }
    var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: clean)))
    edit(&bytes)
    Dataset.store(UInt64(bytes.count), at: 80, in: &bytes)
    var payload = Checksum64()
    bytes.withUnsafeBytes { payload.update(UnsafeRawBufferPointer(rebasing: $0[DatasetCache.headerSize...])) }
    Dataset.store(payload.value, at: 88, in: &bytes)
    Dataset.store(Dataset.headerChecksum(Array(bytes.prefix(DatasetCache.headerSize))), at: 96, in: &bytes)
    let path = temporary.path + "/" + name
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    return path
  }

  @Test("a length that is not whole 32-byte blocks, and a feature count near Int.max, are refused")
  func refusedWithoutTrap() throws {
    let model = temporary.path + "/m.json"
    #expect(try SoftmaxTool.run(["train", dataFile("iris.csv"), "-o", model, "--quiet", "--max-epochs", "1"]).status == 0)
    var cases: [(String, String)] = []
    for extra in [1, 7, 31] {
      cases.append((try craft("tail\(extra).smx") { $0 += [UInt8](repeating: 0, count: extra) }, "32-byte blocks"))
    }
    for features in [UInt64(Int.max), UInt64(Int.max - 6), UInt64(1) << 62] {
      cases.append((try craft("features\(features).smx") { Dataset.store(features, at: 24, in: &$0) }, "shape"))
    }
    for (path, message) in cases {
      for arguments in [["train", path, "-o", temporary.path + "/out.json", "--quiet"], ["predict", model, path], ["evaluate", model, path]] {
        let output = try SoftmaxTool.run(arguments)
        #expect(output.status == 1, "\(arguments): exit \(output.status)")
        #expect(output.stderr.contains(message), "\(arguments): \(output.stderr)")
      }
    }
  }

  @Test("the checksum of a tail equals that of the same bytes padded with zeros, except for the length")
  func checksumTail() {
    let bytes: [UInt8] = (0..<45).map { UInt8($0 * 7 % 251) }
    var tail = Checksum64()
    bytes.withUnsafeBytes { tail.update($0) }
    var padded = Checksum64()
    (bytes + [UInt8](repeating: 0, count: 19)).withUnsafeBytes { padded.update($0) }
    #expect(tail.value != padded.value, "the length tells them apart")
    var again = Checksum64()
    bytes.withUnsafeBytes { again.update($0) }
    #expect(again.value == tail.value)
  }
}
