/// A partition of `0..<rowCount` into consecutive ranges of `rowsPerShard` rows (the last
/// may be shorter), like swift-algorithms' `evenlyChunked`, but with a size that depends
/// only on the data, never on the thread count: that is what makes results bit-identical
/// for any number of threads.
public struct Shards: Sendable, Equatable {
  /// The number of rows partitioned.
  public let rowCount: Int
  /// Rows in each shard but the last; a multiple of 8 (the kernel's tile height).
  public let rowsPerShard: Int

  /// At most this many shards by default: bounds the per-shard buffers (O(shards·K·D)) while
  /// leaving several shards per thread for load balancing on large machines.
  public static let defaultMaximumShardCount = 512
  /// At least this many rows per shard by default, to amortise scheduling (~1–2 µs a shard).
  public static let defaultMinimumRowsPerShard = 1024

  /// Shards of the default size for `rowCount` rows: at least 1024 rows and at most 512
  /// shards. Cost: O(1).
  public init(rowCount: Int) {
    let target = (rowCount + Self.defaultMaximumShardCount - 1) / Self.defaultMaximumShardCount
    self.init(rowCount: rowCount, rowsPerShard: max(Self.defaultMinimumRowsPerShard, target))
  }

  /// Shards of `rowsPerShard` rows (rounded up to a multiple of 8).
  public init(rowCount: Int, rowsPerShard: Int) {
    precondition(rowCount >= 0 && rowsPerShard > 0)
    self.rowCount = rowCount
    self.rowsPerShard = (rowsPerShard + 7) / 8 * 8
  }

  /// Mini-batches are cut into at most this many shards.
  public static let maximumMiniBatchShardCount = 64

  /// Shards for a mini-batch of `rowCount` rows: at least 64 rows each, at most 64 shards,
  /// so a batch of a few thousand rows still spreads over the cores.
  public init(miniBatchOf rowCount: Int) {
    let target = (rowCount + Self.maximumMiniBatchShardCount - 1) / Self.maximumMiniBatchShardCount
    self.init(rowCount: rowCount, rowsPerShard: max(64, target))
  }

  /// The number of shards.
  public var count: Int { rowCount == 0 ? 0 : (rowCount + rowsPerShard - 1) / rowsPerShard }

  /// The rows of shard `index`.
  public subscript(index: Int) -> Range<Int> {
    precondition(index >= 0 && index < count)
    let start = index * rowsPerShard
    return start..<min(rowCount, start + rowsPerShard)
  }
}
