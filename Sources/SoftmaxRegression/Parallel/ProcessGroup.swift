/// The processes one training run spans: one (`SingleProcess`), or the ranks of an MPI job
/// (`MPIProcesses`, with the package trait `MPI`).
///
/// Every process holds the same data and options, computes the shards of each pass that
/// `shardRange(of:)` gives it, and the passes' totals are chained across the processes in
/// shard order (`ProcessChain`), so every process takes the same optimizer steps on the
/// same bits and the model is the one a single process trains. Calls are collective: every
/// process makes the same calls in the same order, from one thread at a time.
public protocol ProcessGroup: Sendable {
  /// This process's index, 0 ..< `count`.
  var rank: Int { get }
  /// The number of processes.
  var count: Int { get }
  /// Sends `values` to process `destination` (blocking until the buffer may be reused).
  func send(_ values: UnsafeBufferPointer<Double>, to destination: Int)
  /// Receives `values.count` values from process `source` into `values`.
  func receive(_ values: UnsafeMutableBufferPointer<Double>, from source: Int)
  /// Replaces `values` on every process with those of process `root`.
  func broadcast(_ values: UnsafeMutableBufferPointer<Double>, from root: Int)
  /// Replaces `values` with their element-wise minimum over all processes.
  func minimum(_ values: inout [Int64])
  /// Replaces `values` with their element-wise maximum over all processes.
  func maximum(_ values: inout [Int64])
}

extension ProcessGroup {
  /// The shards of a pass of `shardCount` shards that this process computes: a contiguous
  /// range, the r-th of `count` near-equal ones. It depends on the shard count and the
  /// process count only; the shards themselves depend on the row count only.
  public func shardRange(of shardCount: Int) -> Range<Int> {
    shardRange(of: shardCount, rank: rank)
  }

  /// Process `rank`'s `shardRange(of:)`.
  func shardRange(of shardCount: Int, rank: Int) -> Range<Int> {
    (rank * shardCount / count)..<((rank + 1) * shardCount / count)
  }

  /// The positions among `rowCount` that this process reads in a pass over them all with
  /// the default shards (`Shards(rowCount:)`): those of its `shardRange(of:)`, consecutive
  /// over the processes in rank order; all of them in one process.
  public func shareOfRows(_ rowCount: Int) -> Range<Int> {
    shareOfRows(rowCount, rank: rank)
  }

  /// Process `rank`'s `shareOfRows(_:)`.
  func shareOfRows(_ rowCount: Int, rank: Int) -> Range<Int> {
    let shards = Shards(rowCount: rowCount)
    let owned = shardRange(of: shards.count, rank: rank)
    return min(rowCount, owned.lowerBound * shards.rowsPerShard)..<min(rowCount, owned.upperBound * shards.rowsPerShard)
  }

  /// Whether every process passes `holds` (true on all of them): a collective vote, used
  /// to stop or go on together.
  public func all(_ holds: Bool) -> Bool {
    var vote: [Int64] = [holds ? 1 : 0]
    minimum(&vote)
    return vote[0] == 1
  }

  /// Whether every process passes the same `values`: their `Fingerprint`,
  /// compared by its minimum and maximum over the processes (two small collectives).
  public func agree(on values: some Sequence<UInt64>) -> Bool {
    var low: [Int64] = [Int64(bitPattern: Fingerprint(values).value)]
    var high = low
    minimum(&low)
    maximum(&high)
    return low == high
  }

  /// The lowest rank whose `failed` is true, or nil when none failed: the one process that
  /// reports a failure every process stops for.
  public func firstFailure(_ failed: Bool) -> Int? {
    var vote: [Int64] = [failed ? Int64(rank) : Int64.max]
    minimum(&vote)
    return vote[0] == Int64.max ? nil : Int(vote[0])
  }
}

/// One process: every collective call is the identity.
public struct SingleProcess: ProcessGroup {
  /// The group of this process alone.
  public init() {}
  /// 0.
  public var rank: Int { 0 }
  /// 1.
  public var count: Int { 1 }
  /// Nothing to send to: there is no other process.
  public func send(_ values: UnsafeBufferPointer<Double>, to destination: Int) {}
  /// Nothing to receive: there is no other process.
  public func receive(_ values: UnsafeMutableBufferPointer<Double>, from source: Int) {}
  /// Leaves `values` as they are: they are this process's.
  public func broadcast(_ values: UnsafeMutableBufferPointer<Double>, from root: Int) {}
  /// Leaves `values` as they are: the minimum over one process.
  public func minimum(_ values: inout [Int64]) {}
  /// Leaves `values` as they are: the maximum over one process.
  public func maximum(_ values: inout [Int64]) {}
}
