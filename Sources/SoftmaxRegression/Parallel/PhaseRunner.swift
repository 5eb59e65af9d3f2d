#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif
import Synchronization

/// Runs a sequence of parallel phases (each a number of independent tasks) on an executor's
/// threads within one dispatch, the threads waiting for the next phase awake instead of
/// returning to the pool.
///
/// Why: each `ShardedExecutor.forEachShard` wakes its workers, and on a virtual machine a
/// sleeping worker takes tens of microseconds to wake (measured here: two threads gave no
/// speedup on 60 µs of work). The blocked pass runs three short steps per block of 256
/// rows; as separate dispatches, that wake-up cost 40–60 ms an epoch on 2 threads, more than
/// the work itself at 100 classes.
///
/// How: the phase's task count, the tasks claimed and a generation share one atomic word, so
/// a claim succeeds only within the phase it read. The thread that finishes a phase's last
/// task runs `next` (the serial work between phases) and publishes the next phase; the
/// others spin on the word meanwhile (yielding after a while, in case threads outnumber
/// cores). Nothing waits for a thread that has not started: a late worker just joins the
/// phase that is current, so no phase can wait forever on one. Tasks must not use the
/// executor themselves. What each task computes does not depend on which thread runs it.
final class PhaseRunner: @unchecked Sendable {
  // @unchecked: `phase` and `next` are written only by the thread between two phases, before
  // the release store that publishes the next phase, and read after acquiring it.

  /// One phase: `taskCount` calls of `task`, in any order and on any threads.
  struct Phase: Sendable {
    let taskCount: Int
    let task: @Sendable (Int) -> Void
  }

  private static let countBits = 24
  private static let countMask = (1 << countBits) - 1
  /// Task count (bits 24–47), tasks claimed (0–23), generation (48–62); -1 when done.
  private let word = Atomic<Int>(0)
  private let finished = Atomic<Int>(0)
  private var phase: Phase?
  private var next: (@Sendable () -> Phase?)?

  init() {}

  /// Runs the phases `next` returns, one after the other, until it returns nil: each call of
  /// `next` after every task of the phase before has finished, on one thread at a time.
  /// Task counts must stay below 2²⁴.
  func run(on executor: ShardedExecutor, _ next: @escaping @Sendable () -> Phase?) {
    guard executor.threadCount > 1 else {
      while let phase = next() {
        for task in 0..<phase.taskCount { phase.task(task) }
      }
      return
    }
    self.next = next
    finished.store(0, ordering: .relaxed)
    publish(nextNonEmptyPhase(), generation: 0)
    executor.forEachShard(executor.threadCount) { _ in self.work() }
    self.next = nil
    phase = nil
  }

  private func work() {
    var spins = 0
    while true {
      let current = word.load(ordering: .acquiring)
      guard current >= 0 else { return }
      let claimed = current & Self.countMask
      let taskCount = (current >> Self.countBits) & Self.countMask
      guard claimed < taskCount else {
        spins += 1
        if spins >= 1_000 {
          spins = 0
          sched_yield()
        }
        continue
      }
      guard word.compareExchange(expected: current, desired: current + 1, ordering: .acquiring).exchanged
      else { continue }
      spins = 0
      guard let phase else { return }
      phase.task(claimed)
      if finished.add(1, ordering: .acquiringAndReleasing).newValue == taskCount {
        finished.store(0, ordering: .relaxed)
        publish(nextNonEmptyPhase(), generation: (current >> (2 * Self.countBits)) + 1)
      }
    }
  }

  /// The next phase with tasks, or nil when `next` has none left.
  private func nextNonEmptyPhase() -> Phase? {
    while let phase = next?() {
      if phase.taskCount > 0 { return phase }
    }
    return nil
  }

  private func publish(_ next: Phase?, generation: Int) {
    phase = next
    guard let next else { return word.store(-1, ordering: .releasing) }
    let wrapped = generation & ((1 << (63 - 2 * Self.countBits)) - 1)
    word.store((wrapped << (2 * Self.countBits)) | (next.taskCount << Self.countBits), ordering: .releasing)
  }
}
