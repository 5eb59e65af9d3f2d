/// How the totals of a pass cross processes without changing a bit: the in-process reducer
/// sums the shards in order, 0, 1, 2, …, each entry after what it holds; the processes own
/// consecutive shard ranges (`ProcessGroup.shardRange(of:)`), so process r takes the running
/// totals of processes 0 … r − 1, adds its own shards after them exactly as one process
/// would, and hands them on. The last process then broadcasts the totals of all shards.
///
/// Every process computes its kernels at the same time; only the additions, O(shards · P)
/// in all, run one process after another, and each process sends and receives O(P) values
/// a pass (P = K · rowStride + K + 5: `PassTotals`), never anything that grows with the rows. An MPI_SUM
/// allreduce would cost less latency, but its association depends on the process count and
/// the algorithm MPI picks, so the model would too.
struct ProcessChain {
  /// The processes.
  let processes: any ProcessGroup

  /// Whether there is more than one process.
  var isDistributed: Bool { processes.count > 1 }

  /// Receives the running totals of the processes before this one into `values` and
  /// returns true; returns false on the first process (its sums start at zero).
  func receivePreceding(_ values: UnsafeMutableBufferPointer<Double>) -> Bool {
    guard processes.rank > 0 else { return false }
    processes.receive(values, from: processes.rank - 1)
    return true
  }

  /// Hands this process's running totals on, then replaces `values` with the totals over
  /// all processes.
  func passOn(_ values: UnsafeMutableBufferPointer<Double>) {
    guard isDistributed else { return }
    if processes.rank < processes.count - 1 {
      processes.send(UnsafeBufferPointer(values), to: processes.rank + 1)
    }
    processes.broadcast(values, from: processes.count - 1)
  }
}

extension ProcessChain {
  /// Completes a `ShardTree` over the processes: each sends the complete nodes of its range
  /// of the shards to process 0 (their levels and first shards, then their values), which
  /// pushes them after its own in rank order, as if it had computed them, and totals the
  /// tree; every process then receives the totals from process 0. In one process: the
  /// tree's total. Each process sends O(log shards) nodes of P values.
  func finish(_ tree: ShardTree, into totals: UnsafeMutableBufferPointer<Double>, executor: ShardedExecutor) {
    guard isDistributed else {
      tree.total(into: totals, executor: executor)
      return
    }
    if processes.rank == 0 {
      for source in 1..<processes.count {
        var count = [0.0]
        count.withUnsafeMutableBufferPointer { processes.receive($0, from: source) }
        var header = [Double](repeating: 0, count: 2 * Int(count[0]))
        header.withUnsafeMutableBufferPointer { processes.receive($0, from: source) }
        for index in 0..<Int(count[0]) {
          let values = tree.buffer()
          processes.receive(values, from: source)
          tree.push(level: Int(header[2 * index]), start: Int(header[2 * index + 1]), values: values, executor: executor)
        }
      }
      tree.total(into: totals, executor: executor)
    } else {
      let nodes = tree.nodes
      [Double(nodes.count)].withUnsafeBufferPointer { processes.send($0, to: 0) }
      nodes.flatMap { [Double($0.level), Double($0.start)] }.withUnsafeBufferPointer { processes.send($0, to: 0) }
      for node in nodes { processes.send(UnsafeBufferPointer(node.values), to: 0) }
    }
    processes.broadcast(totals, from: 0)
  }
}
