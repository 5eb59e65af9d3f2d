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

  init(quiet: Bool, maxEpochs: Int) {
    self.maxEpochs = maxEpochs
    if quiet {
      mode = .silent
    } else {
      mode = isatty(STDERR_FILENO) == 1 ? .liveLine : .plainLines
    }
  }

  /// Loading progress: live on a terminal, at most ten times a second.
  mutating func loading(
    _ file: String, bytesDone: Int, totalBytes: Int, seconds: Double, activity: String = "loading"
  ) {
    guard mode == .liveLine else { return }
    let megabytes = Double(bytesDone) / 1e6
    let rate = seconds > 0 ? megabytes / seconds : 0
    let total = totalBytes > 0 ? " of \(Format.fixed(Double(totalBytes) / 1e6, 1))" : ""  // 0: a stream
    show(
      Self.truncated(
        "\(activity) \(file): \(Format.fixed(megabytes, 1))\(total) MB (\(Format.fixed(rate, 0)) MB/s)",
        width: Self.usableWidth()))
  }

  /// One epoch: a rewritten status line on a terminal (at most ten times a second), or one
  /// plain line.
  mutating func epoch(_ epoch: TrainingReport.Epoch) {
    switch mode {
    case .silent:
      return
    case .plainLines:
      Console.error(Self.plainLine(epoch))
    case .liveLine:
      show(Self.statusLine(epoch, maxEpochs: maxEpochs, width: Self.usableWidth()))
    }
  }

  /// Ends a live line: the status is erased completely (what follows, a summary, says
  /// how it ended), so no `ETA` is left on the screen.
  mutating func finish() {
    if lineIsOpen {
      Console.errorWithoutNewline("\r\u{1B}[2K")
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

  /// The live status line, at most `width` columns: the fields of the plain line plus
  /// elapsed time and an ETA bounded by `maxEpochs` (training usually stops sooner, on
  /// convergence). Fields that do not fit are left out, least important first.
  static func statusLine(_ epoch: TrainingReport.Epoch, maxEpochs: Int, width: Int) -> String {
    var fields: [StatusField] = [
      .init("epoch \(epoch.epoch)", priority: 0),
      .init("objective \(Format.fixed(epoch.objective, 6))", priority: 1),
      .init("max|∇J| \(Format.scientific(epoch.gradientMax))", priority: 5),
      .init("accuracy \(Format.fixed(epoch.accuracy, 4))", priority: 3),
    ]
    if let loss = epoch.validationLoss, let accuracy = epoch.validationAccuracy {
      fields.append(.init("validation loss \(Format.fixed(loss, 6))", priority: 2))
      fields.append(.init("validation accuracy \(Format.fixed(accuracy, 4))", priority: 6))
    }
    fields.append(.init("\(Format.rate(epoch.rowsPerSecond))rows/s", priority: 8))
    let elapsed = epoch.elapsedSeconds
    fields.append(.init("elapsed \(Format.duration(elapsed))", priority: 7))
    if epoch.epoch > 0 && maxEpochs > epoch.epoch {
      let remaining = elapsed / Double(epoch.epoch) * Double(maxEpochs - epoch.epoch)
      fields.append(.init("ETA ≤ \(Format.duration(remaining))", priority: 4))
    }
    return StatusField.fit(fields, width: width)
  }

  /// `text` cut to at most `width` columns (every character we print is one column wide).
  static func truncated(_ text: String, width: Int) -> String {
    text.count <= width ? text : String(text.prefix(max(0, width - 1))) + "…"
  }

  /// Draws `text` unless a line was drawn less than 0.1 s ago (the next one will be; the
  /// last is erased by `finish` anyway, and the summary says how the run ended).
  private mutating func show(_ text: String) {
    let now = clock.now
    if let lastDraw, now - lastDraw < .milliseconds(100) { return }
    lastDraw = now
    draw(text)
  }

  /// The columns a live line may use: one less than the terminal's width, asked at each
  /// draw (so a resized window is followed), because a character in the last column leaves
  /// some terminals about to wrap.
  static func usableWidth() -> Int {
    var size = winsize()
    let columns = ioctl(STDERR_FILENO, UInt(TIOCGWINSZ), &size) == 0 && size.ws_col > 0 ? Int(size.ws_col) : 80
    return max(columns - 1, 20)
  }

  private mutating func draw(_ text: String) {
    // Carriage return, then erase the line: the status is rewritten in place.
    Console.errorWithoutNewline("\r\u{1B}[2K" + text)
    lineIsOpen = true
  }
}

/// One field of the live status line, and the rule for fitting fields into a width.
struct StatusField {
  let text: String
  /// 0 is kept first; larger numbers are dropped first.
  let priority: Int

  init(_ text: String, priority: Int) {
    self.text = text
    self.priority = priority
  }

  static let separator = "  "

  /// The fields that fit in `width`, taken by priority and shown in their given order;
  /// the first field alone is truncated when even it does not fit.
  static func fit(_ fields: [StatusField], width: Int) -> String {
    var kept = Set<Int>()
    var used = 0
    for index in fields.indices.sorted(by: { fields[$0].priority < fields[$1].priority }) {
      let cost = fields[index].text.count + (kept.isEmpty ? 0 : separator.count)
      if used + cost <= width {
        kept.insert(index)
        used += cost
      }
    }
    let line = fields.indices.filter(kept.contains).map { fields[$0].text }.joined(separator: separator)
    return ProgressDisplay.truncated(line.isEmpty ? fields.first?.text ?? "" : line, width: width)
  }
}
