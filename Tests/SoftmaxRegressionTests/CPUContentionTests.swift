import Foundation
import Testing
import SoftmaxRegression

/// Needs a machine where nothing else starts processes while it runs: the rest of the suite
/// does (the command-line tests), and those count, rightly, as other work. So it runs in the
/// long runs (`SOFTMAX_LONG_TESTS=1`, which CI runs with a filter of their own), not in a
/// plain `swift test`.
@Suite(
  "CPU contention seen by benchmarks", .serialized,
  .enabled(if: TestScale.isLong && FileManager.default.fileExists(atPath: "/proc/stat")))
struct CPUContentionTests {
  /// Other cores used while `body` runs.
  func otherCores(during body: () throws -> Void) rethrows -> Double {
    let contention = CPUContention()
    try body()
    return contention.otherCores ?? -1
  }

  @Test("a spinning process beside the measurement counts as other work; this process's own work does not")
  func separatesOwnWork() throws {
    // A busy loop in another process for 0.6 s while this one sleeps 0.5 s (measured before
    // the child ends, so its CPU time is not yet this process's children's).
    let spinner = Process()
    spinner.executableURL = URL(fileURLWithPath: "/bin/sh")
    spinner.arguments = ["-c", "end=$(( $(date +%s%N) + 600000000 )); while [ $(date +%s%N) -lt $end ]; do :; done"]
    let withSpinner = try otherCores {
      try spinner.run()
      usleep(500_000)
    }
    spinner.waitUntilExit()
    // The same time spent spinning in this process.
    let ownSpin = otherCores {
      let clock = ContinuousClock()
      let end = clock.now + .milliseconds(500)
      var counter = 0
      while clock.now < end { counter &+= 1 }
      #expect(counter > 0)
    }
    #expect(withSpinner > 0.5, "a spinning process: \(withSpinner) other cores")
    #expect(ownSpin < withSpinner - 0.4, "own work counted as other work: \(ownSpin) vs \(withSpinner)")
  }
}
