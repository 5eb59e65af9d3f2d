import Dispatch
import Foundation
import Synchronization

/// Runs a body once for each shard on a fixed number of worker threads.
///
/// Workers are `DispatchQueue.concurrentPerform` iterations that take shard indices from a
/// shared atomic counter (so a slow core never holds up the rest). Which thread runs which
/// shard varies from run to run; callers keep results deterministic by writing each shard's
/// output to that shard's own buffer and combining the buffers in shard order afterwards.
/// Overhead: one `concurrentPerform` (~1–2 µs) plus one atomic add per shard.
public struct ShardedExecutor: Sendable {
  /// The number of workers. Values above the core count are allowed (they time-share).
  public let threadCount: Int

  /// An executor with `threadCount` workers (at least 1).
  public init(threadCount: Int) {
    self.threadCount = max(1, threadCount)
  }

  /// The number of CPU cores this process may use: those online, or fewer where its
  /// affinity mask allows fewer (`taskset`, a container's cpuset, an MPI launcher binding
  /// each rank to its cores).
  public static var availableCoreCount: Int {
    let online = ProcessInfo.processInfo.activeProcessorCount
    return min(online, allowedCoreCount ?? online)
  }

  /// The CPUs in this process's affinity mask (`Cpus_allowed` in /proc/self/status), read
  /// once; nil where unknown.
  public static let allowedCoreCount: Int? = {
    guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
      let line = text.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed:") })
    else { return nil }
    let count = line.dropFirst("Cpus_allowed:".count).reduce(0) { count, digit in
      count + (digit.hexDigitValue ?? 0).nonzeroBitCount
    }
    return count > 0 ? count : nil
  }()

  /// Calls `body(shard)` exactly once for every shard in `0..<shardCount`, concurrently
  /// when there are several workers and shards, and returns when all calls have returned.
  public func forEachShard(_ shardCount: Int, _ body: @Sendable (Int) -> Void) {
    let workerCount = min(threadCount, shardCount)
    if workerCount <= 1 {
      for shard in 0..<shardCount { body(shard) }
      return
    }
    let nextShard = Atomic<Int>(0)
    DispatchQueue.concurrentPerform(iterations: workerCount) { _ in
      while true {
        let shard = nextShard.wrappingAdd(1, ordering: .relaxed).oldValue
        guard shard < shardCount else { return }
        body(shard)
      }
    }
  }
}
