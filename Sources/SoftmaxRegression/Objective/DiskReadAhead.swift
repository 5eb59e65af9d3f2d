/// Read-ahead and drop-behind for a pass over a matrix larger than memory (mapped from a
/// cache, `FeatureMatrix.streamsFromDisk`), in file order.
///
/// Shards are taken in ascending order, and are small (a few hundred KB) next to what a disk
/// must be asked for at once to run at its speed. So the pass is cut into windows of
/// `windowBytes`: when a worker starts the first shard of window w, it asks the kernel to read
/// window w + `windowsAhead` (`madvise(WILLNEED)`: asynchronous) and drops window w − 2 from
/// memory and from the page cache (`posix_fadvise(DONTNEED)`), which the pass will not read
/// again before every later page. Hints change no value, only when pages arrive.
struct DiskReadAhead: Sendable {
  let features: FeatureMatrix
  let shards: Shards
  let offset: Int
  let active: Bool
  /// Shards per window (at least 1).
  private let shardsPerWindow: Int
  static let windowsAhead = 3

  /// The bytes of a window: 32 MB, or a sixteenth of the memory this process may use where
  /// that is less (its cgroup's limit, or what the kernel reports available), since up to
  /// six windows (w − 2 ... w + 3) are in memory at once. A fixed 32 MB asked the whole of a
  /// small file ahead under a small cap, and the kernel then spent the pass reclaiming and
  /// re-reading it (seen under a 6–7 MiB cgroup: killed, or minutes of reclaim).
  static let windowBytes: Int = {
    let limits = [SystemMemory.cgroupLimit, SystemMemory.available].compactMap { $0 }
    return min(32 << 20, (limits.min() ?? Int.max) / 16)
  }()

  init(features: FeatureMatrix, shards: Shards, offset: Int, active: Bool) {
    self.features = features
    self.shards = shards
    self.offset = offset
    self.active = active && shards.count > 0
    let shardBytes = max(1, (shards.count > 0 ? shards[0].count : 1) * features.rowStride * 4)
    shardsPerWindow = max(1, Self.windowBytes / shardBytes)
  }

  private var windowCount: Int { (shards.count + shardsPerWindow - 1) / shardsPerWindow }

  /// The rows of window `window` (clamped; empty past the end).
  private func rows(ofWindow window: Int) -> Range<Int> {
    guard window >= 0 && window < windowCount else { return 0..<0 }
    let first = shards[window * shardsPerWindow]
    let last = shards[min(shards.count, (window + 1) * shardsPerWindow) - 1]
    return (first.lowerBound + offset)..<(last.upperBound + offset)
  }

  /// Before the pass: the first windows are asked for.
  func start() {
    guard active else { return }
    for window in 0..<Self.windowsAhead { features.willRead(rows: rows(ofWindow: window)) }
  }

  /// A worker starts `shard`.
  func willStart(_ shard: Int) {
    guard active, shard % shardsPerWindow == 0 else { return }
    let window = shard / shardsPerWindow
    features.willRead(rows: rows(ofWindow: window + Self.windowsAhead))
    features.didRead(rows: rows(ofWindow: window - 2))
  }

  /// After the pass: the last windows are dropped too.
  func finish() {
    guard active else { return }
    for window in max(0, windowCount - 2)..<windowCount { features.didRead(rows: rows(ofWindow: window)) }
  }
}
