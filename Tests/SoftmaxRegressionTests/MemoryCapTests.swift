import Foundation
import Testing
@testable import SoftmaxRegression

/// A memory cgroup (v1) of this test process's own, when the machine lets it make one.
private enum MemoryGroup {
  static let root = "/sys/fs/cgroup/memory"

  /// Whether a group can be created and capped here (root, with the v1 controller mounted).
  static let isAvailable: Bool = {
    let probe = root + "/softmax-probe-\(getpid())"
    guard mkdir(probe, 0o755) == 0 else { return false }
    defer { rmdir(probe) }
    return FileManager.default.isWritableFile(atPath: probe + "/memory.limit_in_bytes")
  }()
}

@Suite("Training under a memory cap smaller than the matrix")
struct MemoryCapTests {
  let temporary = TemporaryDirectory()

  @Test(
    "train on a CSV whose matrix exceeds the cgroup's cap: converted to a temporary cache, trained from disk, the uncapped model",
    .enabled(if: MemoryGroup.isAvailable, "skipped: no writable cgroup v1 memory controller (needs root and /sys/fs/cgroup/memory)"))
  func cappedEqualsUncapped() throws {
    let directory = temporary.path
    let csv = directory + "/data.csv"
    // 16,000 rows × 104 floats: a 6.7 MB matrix against a 6 MiB cap (6.3 MB), of which the
    // runtime itself takes several.
    let generated = try SoftmaxTool.run(["generate", csv, "--rows", "16000", "--features", "100", "--classes", "3", "--seed", "5"])
    #expect(generated.status == 0, "\(generated.stderr)")
    let train = ["train", csv, "--max-epochs", "1"]
    let uncapped = try SoftmaxTool.run(train + ["-o", directory + "/uncapped.json", "--quiet"])
    #expect(uncapped.status == 0, "\(uncapped.stderr)")

    let group = MemoryGroup.root + "/softmax-test-\(getpid())"
    #expect(mkdir(group, 0o755) == 0)
    defer { rmdir(group) }
    try Data("\(6 << 20)".utf8).write(to: URL(fileURLWithPath: group + "/memory.limit_in_bytes"))
    let command = (train + ["-o", directory + "/capped.json"]).map { "'\($0)'" }.joined(separator: " ")
    let capped = try SoftmaxTool.runProgram(
      "/bin/sh",
      ["-c", "echo $$ > \(group)/tasks && TMPDIR='\(directory)' exec '\(SoftmaxTool.executable)' \(command)"])
    #expect(capped.status == 0, "killed or failed under the cap: \(capped.stderr)")
    #expect(capped.stderr.contains("would not fit in memory"), "\(capped.stderr)")
    func bytes(_ name: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: directory + "/" + name)) }
    #expect(try bytes("capped.json") == bytes("uncapped.json"))
    let left = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".smx") }
    #expect(left.isEmpty, "the temporary cache is removed: \(left)")
  }
}
