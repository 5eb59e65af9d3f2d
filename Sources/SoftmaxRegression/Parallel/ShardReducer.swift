/// Combines the per-shard partial sums of a pass into its totals, in an order fixed by the
/// shard indices alone, so the bits never depend on the thread count (or, for a reducer
/// across processes, on the process count).
///
/// The objective runs its kernel over the shards and hands the partials to its reducer
/// right after: the in-process reducer below today; a reducer across MPI ranks, combining
/// the same global shard order, is the other implementation this seam exists for.
protocol ShardReducer: Sendable {
  /// Σ over slots `0..<shardCount` of `partials`, into `totals`: overwritten, or, when
  /// `continuing`, added to what they hold (the next wave of a pass whose shards do not
  /// all have a slot at once), each entry in slot order after what it holds.
  func reduce<Element>(
    _ partials: PartialSums<Element>, shardCount: Int, into totals: inout PassTotals,
    continuing: Bool, on executor: ShardedExecutor)
}

/// The in-process reducer: each total is summed over shards 0, 1, 2, … in that order, in
/// Double. The parameter range is cut into chunks of `PartialSums.reductionChunk` reduced
/// concurrently on the executor; each entry still sees the same order. Cost:
/// O(shardCount · P) work, divided among the threads.
struct ShardOrderReducer: ShardReducer {
  func reduce<Element>(
    _ partials: PartialSums<Element>, shardCount: Int, into totals: inout PassTotals,
    continuing: Bool, on executor: ShardedExecutor
  ) {
    precondition(totals.parameterCount == partials.parameterCount)
    precondition(shardCount <= partials.shardCount)
    let parameterCount = partials.parameterCount
    let chunk = PartialSums<Element>.reductionChunk
    let chunkCount = (parameterCount + chunk - 1) / chunk
    totals.withUnsafeMutableValues { values in
      let output = UnsafeSendableBuffer(values)
      executor.forEachShard(chunkCount) { chunkIndex in
        let start = chunkIndex * chunk
        let end = min(parameterCount, start + chunk)
        let sums = output.buffer
        if !continuing { for index in start..<end { sums[index] = 0 } }
        for shard in 0..<shardCount {
          let slot = partials.gradient(shard)
          for index in start..<end { sums[index] += Double(slot[index]) }  // exact for Float
        }
      }
    }
    var loss = continuing ? totals.loss : 0
    var weightSum = continuing ? totals.weightSum : 0
    var correctCount = continuing ? totals.correctCount : 0
    var rowCount = continuing ? totals.rowCount : 0
    for shard in 0..<shardCount {
      let scalars = partials.scalars(shard)
      loss += scalars.loss
      weightSum += scalars.weightSum
      correctCount += scalars.correctCount
      rowCount += scalars.rowCount
    }
    totals.loss = loss
    totals.weightSum = weightSum
    totals.correctCount = correctCount
    totals.rowCount = rowCount
  }
}
