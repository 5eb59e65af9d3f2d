import Synchronization
import Testing
@testable import SoftmaxRegression

@Suite("Phases of tasks in one dispatch")
struct PhaseRunnerTests {
  /// What the phases saw: how often each task ran, tasks that started before the phase
  /// before had finished, and calls of `next` that overlapped.
  final class Log: Sendable {
    let runs: Mutex<[[Int]]>
    let finishedTasks = Atomic<Int>(0)
    let early = Atomic<Int>(0)
    let insideNext = Atomic<Int>(0)
    let overlappingNext = Atomic<Int>(0)
    let nextCalls = Atomic<Int>(0)

    init(taskCounts: [Int]) {
      runs = Mutex(taskCounts.map { [Int](repeating: 0, count: $0) })
    }
  }

  @Test("each phase's tasks run exactly once, after every task of the phase before; next runs alone",
    arguments: [1, 2, 5])
  func phasesInOrder(threads: Int) {
    let taskCounts = [3, 0, 1, 40, 7, 200, 2]
    let log = Log(taskCounts: taskCounts)
    let runner = PhaseRunner()
    for round in 1...3 {
      log.nextCalls.store(0, ordering: .relaxed)
      log.finishedTasks.store(0, ordering: .relaxed)
      runner.run(on: ShardedExecutor(threadCount: threads)) {
        if log.insideNext.add(1, ordering: .acquiringAndReleasing).newValue != 1 {
          log.overlappingNext.add(1, ordering: .relaxed)
        }
        defer { log.insideNext.subtract(1, ordering: .acquiringAndReleasing) }
        let phase = log.nextCalls.add(1, ordering: .relaxed).oldValue
        guard phase < taskCounts.count else { return nil }
        let before = taskCounts[..<phase].reduce(0, +)
        return PhaseRunner.Phase(taskCount: taskCounts[phase]) { task in
          if log.finishedTasks.load(ordering: .acquiring) < before { log.early.add(1, ordering: .relaxed) }
          var work = 0
          for step in 0..<((task * 7919) % 5_000) { work &+= step }
          log.runs.withLock { $0[phase][task] += 1 + (work & 0) }
          log.finishedTasks.add(1, ordering: .acquiringAndReleasing)
        }
      }
      #expect(log.runs.withLock { $0 } == taskCounts.map { [Int](repeating: round, count: $0) })
      #expect(log.nextCalls.load(ordering: .relaxed) == taskCounts.count + 1)
    }
    #expect(log.early.load(ordering: .relaxed) == 0)
    #expect(log.overlappingNext.load(ordering: .relaxed) == 0)
  }
}
