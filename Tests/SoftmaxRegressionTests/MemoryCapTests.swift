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
    // 32,000 rows × 104 floats: a 13.3 MB matrix against a 12 MiB cap (12.6 MB), of which the
    // runtime and the converter's buffers take about half. (Under 6 MiB the conversion
    // itself was killed now and then: a test of the cap, not of training from disk.)
    let generated = try SoftmaxTool.run(["generate", csv, "--rows", "32000", "--features", "100", "--classes", "3", "--seed", "5"])
    #expect(generated.status == 0, "\(generated.stderr)")
    let train = ["train", csv, "--max-epochs", "1"]
    let uncapped = try SoftmaxTool.run(train + ["-o", directory + "/uncapped.json", "--quiet"])
    #expect(uncapped.status == 0, "\(uncapped.stderr)")

    let group = MemoryGroup.root + "/softmax-test-\(getpid())"
    #expect(mkdir(group, 0o755) == 0)
    defer { rmdir(group) }
    try Data("\(12 << 20)".utf8).write(to: URL(fileURLWithPath: group + "/memory.limit_in_bytes"))
    let command = (train + ["-o", directory + "/capped.json"]).map { "'\($0)'" }.joined(separator: " ")
    let capped = try SoftmaxTool.runProgram(
      "/bin/sh",
      ["-c", "echo $$ > \(group)/tasks && TMPDIR='\(directory)' exec timeout 120 '\(SoftmaxTool.executable)' \(command)"])
    // 124: still running after 120 s (the kernel reclaiming and re-reading pages), 137: killed.
    #expect(capped.status == 0, "killed, stalled or failed under the cap: \(capped.stderr)")
    #expect(capped.stderr.contains("would not fit in memory"), "\(capped.stderr)")
    func bytes(_ name: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: directory + "/" + name)) }
    #expect(try bytes("capped.json") == bytes("uncapped.json"))
    let left = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".smx") }
    #expect(left.isEmpty, "the temporary cache is removed: \(left)")
  }
}
