#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif
import Dispatch
import Synchronization

/// The signal that asked the process to stop (SIGINT or SIGTERM), or 0.
///
/// A signal handler may only do async-signal-safe work: it stores the signal number in this
/// lock-free atomic and restores the default action, so a second Ctrl-C ends the process at
/// once. Training checks the flag after every epoch.
let receivedSignal = Atomic<Int32>(0)

enum Interruption {
  /// Routes SIGINT and SIGTERM to `receivedSignal`, and unblocks them: a process started by
  /// another program can inherit a mask that blocks them (seen with Foundation's `Process`
  /// from a test runner's thread), and then no handler would ever run.
  static func install() {
    var unblocked = sigset_t()
    sigemptyset(&unblocked)
    sigaddset(&unblocked, SIGINT)
    sigaddset(&unblocked, SIGTERM)
    pthread_sigmask(SIG_UNBLOCK, &unblocked, nil)
    for signalNumber in [SIGINT, SIGTERM] {
      signal(signalNumber) { number in
        receivedSignal.store(number, ordering: .relaxed)
        signal(number, SIG_DFL)
      }
    }
  }

  /// The signal received so far, if any.
  static var received: Int32? {
    let number = receivedSignal.load(ordering: .relaxed)
    return number == 0 ? nil : number
  }

  /// Throws `CLIError.interrupted` (exit 128 + signal) saying what was `kept`, when a
  /// signal has arrived.
  static func check(_ kept: String) throws(CLIError) {
    guard let signal = received else { return }
    throw .interrupted(signal: signal, "interrupted by \(name(signal)); \(kept)")
  }

  /// Runs `work` on another thread and waits for it, looking at the flag every 50 ms: a
  /// signal during long work that cannot look itself (encoding a large model) ends the
  /// wait with `CLIError.interrupted`, saying what was `kept`; the work's result is dropped.
  static func waiting<Value: Sendable>(
    _ kept: String, _ work: @escaping @Sendable () throws(CLIError) -> Value
  ) throws(CLIError) -> Value {
    let outcome = Mutex<Result<Value, CLIError>?>(nil)
    let done = DispatchSemaphore(value: 0)
    DispatchQueue.global().async {
      let result = Result { () throws(CLIError) -> Value in try work() }
      outcome.withLock { $0 = result }
      done.signal()
    }
    while done.wait(timeout: .now() + .milliseconds(50)) == .timedOut {
      if let signal = received {
        throw .interrupted(signal: signal, "interrupted by \(name(signal)) \(kept)")
      }
    }
    // The result is stored before the semaphore is signalled.
    guard let result = outcome.withLock({ $0 }) else { throw .failure("the work ended without a result") }
    return try result.get()
  }

  static func name(_ signalNumber: Int32) -> String {
    signalNumber == SIGINT ? "SIGINT" : signalNumber == SIGTERM ? "SIGTERM" : "signal \(signalNumber)"
  }
}
