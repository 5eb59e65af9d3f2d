import Foundation
import Synchronization
import Testing
@testable import SoftmaxRegression

/// Processes simulated by threads of this test process: each rank is a thread with its own
/// `Trainer`, and messages go through FIFO mailboxes, one per (sender, receiver) pair.
/// Collectives are built from them as an MPI library would (minimum and maximum through
/// rank 0), so the trainer's chain, votes and checks run exactly as under mpirun.
final class ThreadWorld: Sendable {
  let count: Int
  private let mailboxes: [Mailbox]

  /// Messages from one rank to another, first in first out. An `NSLock` (a pthread mutex,
  /// which ThreadSanitizer follows) guards them.
  final class Mailbox: @unchecked Sendable {
    private var messages: [[Double]] = []
    private let lock = NSLock()
    let arrived = DispatchSemaphore(value: 0)

    func append(_ message: [Double]) { lock.withLock { messages.append(message) } }
    func removeFirst() -> [Double] { lock.withLock { messages.removeFirst() } }
  }

  init(count: Int) {
    self.count = count
    mailboxes = (0..<(count * count)).map { _ in Mailbox() }
  }

  func post(_ values: [Double], from source: Int, to destination: Int) {
    let box = mailboxes[source * count + destination]
    box.append(values)
    box.arrived.signal()
  }

  func take(from source: Int, to destination: Int) -> [Double] {
    let box = mailboxes[source * count + destination]
    box.arrived.wait()
    return box.removeFirst()
  }

  /// Runs `body(rank)` for every rank on its own thread and returns the results by rank.
  func run<Result: Sendable>(_ body: @escaping @Sendable (ThreadRank) -> Result) -> [Result] {
    let results = Mutex<[Int: Result]>([:])
    let done = DispatchSemaphore(value: 0)
    for rank in 0..<count {
      let thread = Thread { [self] in
        let result = body(ThreadRank(world: self, rank: rank))
        results.withLock { $0[rank] = result }
        done.signal()
      }
      thread.stackSize = 8 << 20
      thread.start()
    }
    for _ in 0..<count { done.wait() }
    return results.withLock { dictionary in (0..<count).map { dictionary[$0]! } }
  }
}

/// One rank of a `ThreadWorld`.
struct ThreadRank: ProcessGroup {
  let world: ThreadWorld
  let rank: Int
  var count: Int { world.count }

  func send(_ values: UnsafeBufferPointer<Double>, to destination: Int) {
    world.post(Array(values), from: rank, to: destination)
  }

  func receive(_ values: UnsafeMutableBufferPointer<Double>, from source: Int) {
    let message = world.take(from: source, to: rank)
    precondition(message.count == values.count, "a message of the wrong length")
    _ = values.update(fromContentsOf: message)
  }

  func broadcast(_ values: UnsafeMutableBufferPointer<Double>, from root: Int) {
    if rank == root {
      for other in 0..<count where other != root { send(UnsafeBufferPointer(values), to: other) }
    } else {
      receive(values, from: root)
    }
  }

  func minimum(_ values: inout [Int64]) { combine(&values, by: min) }
  func maximum(_ values: inout [Int64]) { combine(&values, by: max) }

  private func combine(_ values: inout [Int64], by pick: (Int64, Int64) -> Int64) {
    var bits = values.map { Double(bitPattern: UInt64(bitPattern: $0)) }
    if rank == 0 {
      for other in 1..<max(1, count) {
        let theirs = world.take(from: other, to: 0)
        for index in bits.indices {
          let mine = Int64(bitPattern: bits[index].bitPattern)
          let their = Int64(bitPattern: theirs[index].bitPattern)
          bits[index] = Double(bitPattern: UInt64(bitPattern: pick(mine, their)))
        }
      }
      for other in 1..<max(1, count) { world.post(bits, from: 0, to: other) }
    } else {
      world.post(bits, from: rank, to: 0)
      bits = world.take(from: 0, to: rank)
    }
    values = bits.map { Int64(bitPattern: $0.bitPattern) }
  }
}

@Suite("Training across processes (simulated by threads)")
struct ProcessChainTests {
  /// 3,000 rows: three shards (1,024, 1,024, 952), split unevenly by two processes, one
  /// each by three, and leaving one of four idle.
  static let dataset: Dataset = {
    var random = SplitMix64(seed: 41)
    let rows = (0..<3000).map { _ in (0..<5).map { _ in random.nextGaussian() } }
    let labels = rows.map { row in row[0] + 0.5 * row[1] > 0.3 ? "b" : (row[2] > 0 ? "a" : "c") }
    let weights = (0..<3000).map { _ in Float(1 + random.next() % 4) / 2 }
    return try! Dataset(rows: rows, labels: labels, weights: weights)
  }()

  static func modelBytes(_ options: TrainingOptions, processes: Int, data: Dataset = dataset) -> [[UInt8]] {
    let world = ThreadWorld(count: processes)
    return world.run { rank in
      let trainer = Trainer(options: options, processes: rank)
      return (try? trainer.fit(data).model.fileBytes()) ?? []
    }
  }

  static func options(_ configure: (inout TrainingOptions) -> Void) -> TrainingOptions {
    var options = TrainingOptions()
    options.maxEpochs = 8
    configure(&options)
    return options
  }

  static let cases: [TrainingOptions] = [
    options { $0.solver = .lbfgs },
    options { $0.solver = .sgd; $0.maxEpochs = 3; $0.validationFraction = 0.2; $0.earlyStoppingPatience = 2 },
    options { $0.solver = .gd; $0.classWeight = .balanced },
    options { $0.solver = .newton; $0.maxEpochs = 4 },
  ]

  @Test("the model is byte-identical to one process's for 2, 3 and 4 processes × 1 or 2 threads", arguments: cases)
  func sameModelAsOneProcess(options: TrainingOptions) throws {
    var single = options
    single.threadCount = 1
    let expected = try Trainer(options: single).fit(Self.dataset).model.fileBytes()
    for (processes, threads) in [(2, 1), (3, 2), (4, 1)] {
      var spread = options
      spread.threadCount = threads
      let models = Self.modelBytes(spread, processes: processes)
      for (rank, model) in models.enumerated() {
        #expect(model == expected, "\(processes) processes × \(threads) threads: rank \(rank)")
      }
    }
  }

  @Test("more processes than shards: the idle ones pass the totals on")
  func moreProcessesThanShards() throws {
    let iris = try Dataset(contentsOf: dataFile("iris.csv"))
    let options = Self.options { $0.solver = .lbfgs; $0.threadCount = 1 }
    let expected = try Trainer(options: options).fit(iris).model.fileBytes()
    #expect(Self.modelBytes(options, processes: 3, data: iris).allSatisfy { $0 == expected })
  }

  @Test("each process reads its share of a cache: the chained checksum, the chained standardisation, the same model")
  func sharedCache() throws {
    let temporary = TemporaryDirectory()
    let path = temporary.path + "/data.smx"
    try Self.dataset.writeCache(to: path, weightName: "w")
    let options = Self.options {
      $0.solver = .lbfgs
      $0.validationFraction = 0.2
      $0.threadCount = 1
      $0.classWeight = .balanced
    }
    let expected = try Trainer(options: options).fit(try Dataset(cacheAt: path, schema: .training(weightColumn: "w")))
      .model.fileBytes()
    for processes in [2, 3] {
      let models = ThreadWorld(count: processes).run { rank in
        do {
          let data = try Dataset(cacheAt: path, schema: .training(weightColumn: "w"), processes: rank)
          return try Trainer(options: options, processes: rank).fit(data).model.fileBytes()
        } catch {
          return Array("\(error)".utf8)
        }
      }
      for (rank, model) in models.enumerated() {
        #expect(model == expected, "\(processes) processes, rank \(rank): \(String(decoding: model.prefix(200), as: UTF8.self))")
      }
    }
  }

  @Test("a damaged byte in the last process's share of a cache: every process finds the checksum wrong")
  func sharedCacheChecksum() throws {
    let temporary = TemporaryDirectory()
    let path = temporary.path + "/data.smx"
    try Self.dataset.writeCache(to: path)
    var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
    let header = bytes.withUnsafeBytes { CacheHeader(decoding: $0) }
    let rowsOfLast = Int(header.rowCount) - 10
    let matrixOffset = Int(header.matrixOffset)
    bytes[matrixOffset + rowsOfLast * 8 * 4] ^= 0x01  // a row of the last process (stride 8)
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    let errors = ThreadWorld(count: 3).run { rank in
      do {
        _ = try Dataset(cacheAt: path, processes: rank)
        return "read"
      } catch {
        return "\(error)"
      }
    }
    for error in errors { #expect(error.contains("checksum mismatch"), "\(error)") }
  }

  @Test("the processes' shares of a cache are consecutive and cover every row", arguments: [1, 2, 3, 7])
  func sharesCoverRows(processes: Int) {
    for rowCount in [1, 1000, 1025, 5000, 600_000] {
      let world = ThreadWorld(count: processes)
      let shares = (0..<processes).map { ThreadRank(world: world, rank: $0).shareOfRows(rowCount) }
      #expect(shares.first?.lowerBound == 0 && shares.last?.upperBound == rowCount)
      for (left, right) in zip(shares, shares.dropFirst()) { #expect(left.upperBound == right.lowerBound) }
    }
  }

  @Test("processes holding other labels stop before the first pass, all of them")
  func differentLabelsRefused() {
    let world = ThreadWorld(count: 2)
    var random = SplitMix64(seed: 5)
    let rows = (0..<300).map { _ in (0..<3).map { _ in random.nextGaussian() } }
    let labels = rows.map { $0[0] > 0 ? "x" : "y" }
    var other = labels
    other[17] = other[17] == "x" ? "y" : "x"
    let otherLabels = other
    let errors = world.run { rank in
      let data = try! Dataset(rows: rows, labels: rank.rank == 1 ? otherLabels : labels)
      do {
        _ = try Trainer(options: Self.options { $0.solver = .lbfgs }, processes: rank).fit(data)
        return "trained"
      } catch {
        return "\(error)"
      }
    }
    for error in errors { #expect(error.contains("read different data"), "\(error)") }
  }

  /// The blocked pass for wide models combines its shards in a fixed tree (`ShardTree`):
  /// each process builds the nodes inside its range at the same time, process 0 the rest.
  @Test("the blocked pass gives one process's bits for 2, 3, 4 and 7 processes (more than shards) × 1 or 2 threads")
  func blockedPassAcrossProcesses() throws {
    var random = SplitMix64(seed: 23)
    let rows = (0..<5000).map { _ in (0..<40).map { _ in random.nextGaussian() } }
    let labels = rows.map { row in "c\(Int(abs(row[0] * 3 + row[1] * 2)) % 12)" }
    // Shards' weights far apart in scale, so that their sums in Double round, and only one
    // association of the shards gives one process's bits.
    let scales: [Float] = [1, 3e-8, 7e4, 1e-3, 5e7]
    let weights = (0..<5000).map { row in scales[row / 1024] * Float(1 + random.next() % 7) / 3 }
    let data = try Dataset(rows: rows, labels: labels, weights: weights)
    let layout = ParameterLayout(classCount: data.classCount, featureCount: data.featureCount)
    let point = randomParameters(layout, seed: 4, scale: 0.1)
    let single = try SoftmaxObjective(dataset: data, lambda: 0.01, rowWeights: weights, executor: ShardedExecutor(threadCount: 1))
    single.passKind = .blocked
    let expected = single.valueAndGradient(point)
    for (processes, threads) in [(2, 1), (3, 2), (4, 1), (7, 1)] {
      let results = ThreadWorld(count: processes).run { rank in
        let objective = try! SoftmaxObjective(
          dataset: data, lambda: 0.01, rowWeights: weights, executor: ShardedExecutor(threadCount: threads), processes: rank)
        objective.passKind = .blocked
        let (value, gradient) = objective.valueAndGradient(point)
        return (value, gradient, objective.processesDiverged)
      }
      for (rank, result) in results.enumerated() {
        let same = result.0.bitPattern == expected.0.bitPattern && result.1.map(\.bitPattern) == expected.1.map(\.bitPattern)
        #expect(same && !result.2, "\(processes) processes × \(threads) threads, rank \(rank)")
      }
    }
  }

  @Test("the shard tree's node count, as the benchmark reports it, is the tree's own after pushing a range")
  func shardTreeNodeCount() {
    let executor = ShardedExecutor(threadCount: 1)
    for range in [0..<0, 0..<1, 2..<5, 1..<8, 3..<17, 0..<196, 98..<196, 65..<130] {
      let tree = ShardTree(valueCount: 6, fingerprintIndex: 5)
      for shard in range { tree.push(level: 0, start: shard, values: tree.buffer(), executor: executor) }
      #expect(ShardTree.nodeCount(afterPushing: range) == tree.nodes.count, "\(range)")
      #expect(tree.nodes.count <= 2 * (Int.bitWidth - max(1, range.count).leadingZeroBitCount), "\(range)")
    }
  }

  /// The passes' totals are the same on every process by construction (the last one
  /// broadcasts them); each pass also compares the point it was evaluated at: the fused
  /// pass in its chain, the blocked one where the tree joins two nodes.
  @Test(
    "a pass at different points in different processes is NaN on all, and marks the objective diverged",
    arguments: [false, true])
  func passAtDifferentPoints(blocked: Bool) throws {
    let data = Self.dataset
    let layout = ParameterLayout(classCount: data.classCount, featureCount: data.featureCount)
    let point = randomParameters(layout, seed: 8)
    var moved = point
    moved[3] = moved[3].nextUp
    let nudged = moved
    let kind: SoftmaxObjective.PassKind = blocked ? .blocked : .fused
    let single = try SoftmaxObjective(dataset: data, lambda: 0.01, executor: ShardedExecutor(threadCount: 1))
    single.passKind = kind
    let expected = single.valueAndGradient(point)
    for (processes, odd) in [(2, 1), (3, 0), (3, 2)] {
      let results = ThreadWorld(count: processes).run { rank in
        let objective = try! SoftmaxObjective(
          dataset: data, lambda: 0.01, executor: ShardedExecutor(threadCount: 1), processes: rank)
        objective.passKind = kind
        let same = objective.valueAndGradient(point)
        let sameDiverged = objective.processesDiverged
        let parted = objective.valueAndGradient(rank.rank == odd ? nudged : point)
        return (same.0, same.1, sameDiverged, parted.0, objective.processesDiverged)
      }
      for (rank, result) in results.enumerated() {
        #expect(result.0.bitPattern == expected.0.bitPattern && result.1 == expected.1, "\(processes) processes, rank \(rank)")
        #expect(!result.2)
        #expect(result.3.isNaN && result.4, "\(processes) processes (rank \(odd) moved), rank \(rank)")
      }
    }
  }
}
