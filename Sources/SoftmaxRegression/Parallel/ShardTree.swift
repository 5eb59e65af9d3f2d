/// A fixed pairwise summation of per-shard totals (`PassTotals`' flat layout), whose shape
/// depends on the shard count alone: a node at level l covers the aligned shards
/// k·2^l ..< (k+1)·2^l and holds its left half plus its right half; the nodes left at the
/// end (one per set bit of the shard count) are added from the right. So the sum does not
/// depend on who computed which node, and processes that each hold a contiguous range of the
/// shards can build the complete nodes inside their range at the same time, then hand them
/// to process 0, which pushes them as if they were its own (`ProcessChain.finish(_:into:)`).
///
/// This is how the blocked pass for wide models (`WideGradientPass`) combines its shards:
/// unlike the in-order chain, no process waits for another's running totals before adding
/// its own, and a process keeps one buffer per level: O(log shards · P) memory, not
/// O(shards · P). The fingerprint slot is kept when both halves agree, else set to
/// `PassTotals.mismatch`. Each addition is spread over the executor's threads by ranges of
/// entries: the same bits for any thread count.
final class ShardTree: @unchecked Sendable {
  // @unchecked: used by one thread at a time; the additions write disjoint ranges.

  /// A complete node: the shards start ..< start + 2^level.
  struct Node {
    var level: Int
    var start: Int
    var values: UnsafeMutableBufferPointer<Double>
  }

  /// The values a node holds (P + 5 in `PassTotals`' layout).
  let valueCount: Int
  /// The index of the fingerprint, combined by agreement instead of added.
  let fingerprintIndex: Int
  private(set) var nodes: [Node] = []
  private var spare: [UnsafeMutableBufferPointer<Double>] = []

  init(valueCount: Int, fingerprintIndex: Int) {
    self.valueCount = valueCount
    self.fingerprintIndex = fingerprintIndex
  }

  deinit {
    for node in nodes { node.values.deallocate() }
    for buffer in spare { buffer.deallocate() }
  }

  /// Whether two nodes, (level, first shard), are the halves of one node: the same level,
  /// adjacent, and `left` aligned to twice its size.
  private static func areSiblings(left: (level: Int, start: Int), right: (level: Int, start: Int)) -> Bool {
    left.level == right.level && left.start + (1 << left.level) == right.start && left.start % (2 << left.level) == 0
  }

  /// How many complete nodes a process holds after pushing the shards `shards` alone: what
  /// it sends to process 0 (`ProcessChain.finish(_:into:executor:)`).
  static func nodeCount(afterPushing shards: Range<Int>) -> Int {
    var nodes: [(level: Int, start: Int)] = []
    for shard in shards {
      var node = (level: 0, start: shard)
      while let left = nodes.last, areSiblings(left: left, right: node) {
        nodes.removeLast()
        node = (left.level + 1, left.start)
      }
      nodes.append(node)
    }
    return nodes.count
  }

  /// The bytes of the buffers it holds (nodes and spares).
  var byteCount: Int { (nodes.count + spare.count) * valueCount * 8 }

  /// Empties the tree for a new pass (its buffers are kept, zeroed).
  func reset() {
    for node in nodes { node.values.update(repeating: 0) }
    spare += nodes.map(\.values)
    nodes.removeAll(keepingCapacity: true)
  }

  /// A zeroed buffer to fill with a node's values; hand it back through
  /// `push(level:start:values:)`. (Spare buffers are zeroed as they are merged, while their
  /// lines are in cache, rather than by a pass of their own.)
  func buffer() -> UnsafeMutableBufferPointer<Double> {
    if let buffer = spare.popLast() { return buffer }
    let buffer = UnsafeMutableBufferPointer<Double>.allocate(capacity: valueCount)
    buffer.initialize(repeating: 0)
    return buffer
  }

  /// Adds the complete node at `level`, `start` (its `values` from `buffer()`), which must
  /// follow every node pushed so far; merges it with its left neighbours while they are
  /// its aligned siblings.
  func push(level: Int, start: Int, values: UnsafeMutableBufferPointer<Double>, executor: ShardedExecutor) {
    for merge in pushDeferringMerges(level: level, start: start, values: values) { merge.run(on: executor) }
  }

  /// `push(level:start:values:executor:)` with its additions left to the caller (the
  /// blocked pass runs them as phases of its own dispatch): each merge returned must be
  /// completed, in order, before the tree is used again.
  func pushDeferringMerges(level: Int, start: Int, values: UnsafeMutableBufferPointer<Double>) -> [Merge] {
    var node = Node(level: level, start: start, values: values)
    var merges: [Merge] = []
    while let left = nodes.last, Self.areSiblings(left: (left.level, left.start), right: (node.level, node.start)) {
      nodes.removeLast()
      merges.append(Merge(values: node.values, into: left.values, fingerprintIndex: fingerprintIndex))
      spare.append(node.values)
      node = Node(level: left.level + 1, start: left.start, values: left.values)
    }
    nodes.append(node)
    return merges
  }

  /// The total of all shards pushed (all of them, 0 ..< count): the remaining nodes added
  /// from the right, into `totals`.
  func total(into totals: UnsafeMutableBufferPointer<Double>, executor: ShardedExecutor) {
    guard let last = nodes.last else {
      totals.update(repeating: 0)
      return
    }
    _ = totals.update(fromContentsOf: last.values)
    for node in nodes.dropLast().reversed() {
      Merge(values: node.values, into: totals, fingerprintIndex: fingerprintIndex).run(on: executor)
    }
    // The nodes are zeroed now but for the last; `reset()` zeroes them all again, cheaply.
  }

  /// One addition of the tree, target ← target + values (or values + target, the same bits:
  /// addition commutes), by ranges of entries that any threads may add in any order;
  /// `values` is left zeroed. The fingerprint is combined, by agreement, when it is made.
  struct Merge: @unchecked Sendable {
    // @unchecked: the chunks write disjoint ranges; the buffers outlive the merge.
    private let values: UnsafeMutableBufferPointer<Double>
    private let target: UnsafeMutableBufferPointer<Double>
    private let fingerprintIndex: Int
    private static let chunk = 1 << 16

    init(values: UnsafeMutableBufferPointer<Double>, into target: UnsafeMutableBufferPointer<Double>, fingerprintIndex: Int) {
      let agree = target[fingerprintIndex].bitPattern == values[fingerprintIndex].bitPattern
      target[fingerprintIndex] = agree ? target[fingerprintIndex] : Double(bitPattern: PassTotals.mismatch)
      values[fingerprintIndex] = 0
      self.values = values
      self.target = target
      self.fingerprintIndex = fingerprintIndex
    }

    /// The ranges of entries to add.
    var chunkCount: Int { (values.count + Self.chunk - 1) / Self.chunk }

    /// Adds range `piece` (the fingerprint excepted).
    func addChunk(_ piece: Int) {
      let range = piece * Self.chunk..<min(values.count, (piece + 1) * Self.chunk)
      add(range.clamped(to: 0..<fingerprintIndex))
      add(range.clamped(to: (fingerprintIndex + 1)..<values.count))
    }

    private func add(_ range: Range<Int>) {
      for index in range {
        target[index] += values[index]
        values[index] = 0
      }
    }

    /// Every range, spread over the executor's threads.
    func run(on executor: ShardedExecutor) {
      executor.forEachShard(chunkCount) { self.addChunk($0) }
    }
  }
}
