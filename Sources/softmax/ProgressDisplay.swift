#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif
import SoftmaxRegression

/// How `train` reports progress on stderr: a live status line rewritten in place when
/// stderr is a terminal, one plain line per epoch when it is not (a log file, a pipe), and
/// nothing with `--quiet`.
struct ProgressDisplay {
  enum Mode {
    case liveLine
    case plainLines
    case silent
  }

  let mode: Mode
  let maxEpochs: Int
  private let clock = ContinuousClock()
  private var lastDraw: ContinuousClock.Instant? = nil
  private var lineIsOpen = false
  /// A status the throttle skipped; drawn by `finish` so the last state is always shown.
  private var pending: String? = nil

  init(quiet: Bool, maxEpochs: Int) {
    self.maxEpochs = maxEpochs
    if quiet {
      mode = .silent
    } else {
      mode = isatty(STDERR_FILENO) == 1 ? .liveLine : .plainLines
    }
  }

  /// Loading progress: live on a terminal, at most ten times a second.
  mutating func loading(_ file: String, bytesDone: Int, totalBytes: Int, seconds: Double) {
    guard mode == .liveLine else { return }
    let megabytes = Double(bytesDone) / 1e6
    let rate = seconds > 0 ? megabytes / seconds : 0
    let total = totalBytes > 0 ? " of \(Format.fixed(Double(totalBytes) / 1e6, 1))" : ""  // 0: a stream
    show("loading \(file): \(Format.fixed(megabytes, 1))\(total) MB (\(Format.fixed(rate, 0)) MB/s)")
  }

  /// One epoch: a rewritten status line on a terminal (at most ten times a second, and
  /// always the last), or one plain line.
  mutating func epoch(_ epoch: TrainingReport.Epoch) {
    switch mode {
    case .silent:
      return
    case .plainLines:
      Console.error(Self.plainLine(epoch))
    case .liveLine:
      show(Self.statusLine(epoch, maxEpochs: maxEpochs))
    }
  }

  /// Ends a live line so that what follows starts on a fresh line.
  mutating func finish() {
    if let pending {
      draw(pending)
      self.pending = nil
    }
    if lineIsOpen {
      Console.error("")
      lineIsOpen = false
    }
    lastDraw = nil
  }

  /// A plain epoch line, for logs.
  static func plainLine(_ epoch: TrainingReport.Epoch) -> String {
    var line = "epoch \(String(epoch.epoch).padding(5)) objective \(Format.fixed(epoch.objective, 6))  "
      + "max|∇J| \(Format.scientific(epoch.gradientMax))  accuracy \(Format.fixed(epoch.accuracy, 4))  "
    if let loss = epoch.validationLoss, let accuracy = epoch.validationAccuracy {
      line += "validation loss \(Format.fixed(loss, 6)) accuracy \(Format.fixed(accuracy, 4))  "
    }
    return line + "\(Format.rate(epoch.rowsPerSecond))rows/s"
  }

  /// The live status line: the plain line plus elapsed time and an ETA bounded by
  /// `maxEpochs` (training usually stops sooner, on convergence).
  static func statusLine(_ epoch: TrainingReport.Epoch, maxEpochs: Int) -> String {
    let elapsed = epoch.elapsedSeconds
    var line = plainLine(epoch) + "  elapsed \(Format.duration(elapsed))"
    if epoch.epoch > 0 && maxEpochs > epoch.epoch {
      let remaining = elapsed / Double(epoch.epoch) * Double(maxEpochs - epoch.epoch)
      line += "  ETA ≤ \(Format.duration(remaining))"
    }
    return line
  }

  /// Draws `text` unless a line was drawn less than 0.1 s ago; then keeps it pending.
  private mutating func show(_ text: String) {
    let now = clock.now
    if let lastDraw, now - lastDraw < .milliseconds(100) {
      pending = text
      return
    }
    lastDraw = now
    pending = nil
    draw(text)
  }

  private mutating func draw(_ text: String) {
    // Carriage return, then erase the line: the status is rewritten in place.
    Console.errorWithoutNewline("\r\u{1B}[2K" + text)
    lineIsOpen = true
  }
}
