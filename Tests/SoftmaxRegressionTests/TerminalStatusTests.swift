import Foundation
import Testing

/// A terminal just precise enough to check the live status line: printable characters,
/// carriage return, line feed, and CSI sequences (only `ESC [ 2 K`, erase the line, acts).
/// A character past the last column wraps onto a new row, as on a real terminal.
struct TerminalScreen {
  let width: Int
  private(set) var rows: [[Character]] = [[]]
  private(set) var column = 0

  init(width: Int) { self.width = width }

  mutating func feed(_ text: String) {
    var scalars = text.unicodeScalars.makeIterator()
    while let scalar = scalars.next() {
      switch scalar {
      case "\r":
        column = 0
      case "\n":
        rows.append([])
      case "\u{1B}":
        guard scalars.next() == "[" else { continue }
        var parameters = ""
        while let next = scalars.next() {
          if (0x40...0x7E).contains(next.value) {
            if next == "K" && parameters == "2" { rows[rows.count - 1] = [] }
            break
          }
          parameters.unicodeScalars.append(next)
        }
      default:
        if column >= width {
          rows.append([])
          column = 0
        }
        var row = rows[rows.count - 1]
        while row.count < column { row.append(" ") }
        if column < row.count { row[column] = Character(scalar) } else { row.append(Character(scalar)) }
        rows[rows.count - 1] = row
        column += 1
      }
    }
  }

  /// The rows as text, trailing blanks removed.
  var lines: [String] { rows.map { String($0).replacingOccurrences(of: " +$", with: "", options: .regularExpression) } }
}

/// The C library's pseudo-terminal calls, looked up at run time: Swift's Glibc module does
/// not declare them (they sit behind `_XOPEN_SOURCE`).
struct PseudoTerminalCalls {
  let openMaster: @convention(c) (Int32) -> Int32
  let grant: @convention(c) (Int32) -> Int32
  let unlock: @convention(c) (Int32) -> Int32
  let slaveName: @convention(c) (Int32) -> UnsafeMutablePointer<CChar>?

  init() throws {
    let library = dlopen(nil, RTLD_NOW)
    func symbol<T>(_ name: String, as type: T.Type) throws -> T {
      let address = try #require(dlsym(library, name), "\(name) not found")
      return unsafeBitCast(address, to: type)
    }
    openMaster = try symbol("posix_openpt", as: (@convention(c) (Int32) -> Int32).self)
    grant = try symbol("grantpt", as: (@convention(c) (Int32) -> Int32).self)
    unlock = try symbol("unlockpt", as: (@convention(c) (Int32) -> Int32).self)
    slaveName = try symbol("ptsname", as: (@convention(c) (Int32) -> UnsafeMutablePointer<CChar>?).self)
  }
}

/// Runs `softmax` with stderr on a pseudo-terminal of `columns` columns; returns the exit
/// status and the raw bytes written to the terminal.
/// With `resize`, the terminal is resized to `resize.columns` once the output holds
/// `resize.after`; `resizedAt` is then the output's length (in bytes) at that moment.
func runOnPseudoTerminal(
  _ arguments: [String], columns: UInt16, resize: (after: String, columns: UInt16)? = nil
) throws -> (status: Int32, output: String, resizedAt: Int?) {
  let pty = try PseudoTerminalCalls()
  let master = pty.openMaster(O_RDWR | O_NOCTTY)
  try #require(master >= 0, "posix_openpt failed: errno \(errno)")
  defer { close(master) }
  try #require(pty.grant(master) == 0 && pty.unlock(master) == 0)
  let name = try #require(pty.slaveName(master).map { String(cString: $0) })
  // Close-on-exec, so that no other test's child inherits an end of this terminal and
  // keeps it open (the reads below end only when every copy of the slave is closed).
  _ = fcntl(master, F_SETFD, FD_CLOEXEC)
  let slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC)
  try #require(slave >= 0)
  var size = winsize(ws_row: 24, ws_col: columns, ws_xpixel: 0, ws_ypixel: 0)
  try #require(ioctl(slave, UInt(TIOCSWINSZ), &size) == 0)
  let process = Process()
  process.executableURL = URL(fileURLWithPath: SoftmaxTool.executable)
  process.arguments = arguments
  process.standardOutput = Pipe()
  process.standardError = FileHandle(fileDescriptor: slave, closeOnDealloc: false)
  try process.run()
  close(slave)  // the child holds its own copy; reads end (EIO) when it exits
  var output = Data()
  var buffer = [UInt8](repeating: 0, count: 4096)
  var resizedAt: Int? = nil
  while true {
    let count = read(master, &buffer, buffer.count)
    if count <= 0 { break }
    output.append(contentsOf: buffer[0..<count])
    if let resize, resizedAt == nil, String(decoding: output, as: UTF8.self).contains(resize.after) {
      var smaller = winsize(ws_row: 24, ws_col: resize.columns, ws_xpixel: 0, ws_ypixel: 0)
      _ = ioctl(master, UInt(TIOCSWINSZ), &smaller)
      resizedAt = output.count
    }
  }
  process.waitUntilExit()
  return (process.terminationStatus, String(decoding: output, as: UTF8.self), resizedAt)
}

@Suite("The live status line on a terminal", .serialized)
struct TerminalStatusTests {
  let temporary = TemporaryDirectory()

  @Test("fits the terminal's width, never wraps, and is erased at the end", arguments: [60, 80, 200])
  func statusLineFitsWidth(columns: Int) throws {
    let model = temporary.path + "/model-\(columns).json"
    let run = try runOnPseudoTerminal(
      ["train", dataFile("digits.csv"), "--validation", "0.2", "--max-epochs", "10", "--threads", "2", "-o", model],
      columns: UInt16(columns))
    #expect(run.status == 0, "\(run.output)")
    // Every live line (drawn after a carriage return and an erase, and erased by the next
    // one without a line feed) must be shorter than the terminal: a wrapped one leaves rows
    // the next erase does not reach.
    let drawn = run.output.components(separatedBy: "\r\u{1B}[2K").dropFirst()
      .filter { !$0.isEmpty && !$0.contains("\n") }
    #expect(drawn.contains { $0.hasPrefix("epoch ") }, "no status line was drawn")
    for line in drawn { #expect(line.count < columns, "\(line.count) characters: \(line)") }
    var screen = TerminalScreen(width: columns)
    screen.feed(run.output)
    if columns >= 200 {
      #expect(drawn.contains { $0.contains("validation loss") && $0.contains("max|∇J|") && $0.contains("rows/s") })
    }
    let final = screen.lines.joined(separator: "\n")
    #expect(!final.contains("ETA") && !final.contains("elapsed"), "left on screen:\n\(final)")
    #expect(final.contains("done"), "\(final)")
  }

  @Test("follows a resize: lines drawn after the window narrows fit the new width")
  func followsResize() throws {
    let model = temporary.path + "/model-resize.json"
    let run = try runOnPseudoTerminal(
      ["train", dataFile("digits.csv"), "--validation", "0.2", "--max-epochs", "12", "--threads", "2", "-o", model],
      columns: 200, resize: (after: "\u{1B}[2Kepoch ", columns: 50))
    #expect(run.status == 0)
    let resizedAt = try #require(run.resizedAt, "no status line before the end")
    let after = String(decoding: Array(run.output.utf8).dropFirst(resizedAt), as: UTF8.self)
    // The first line after the resize may have been drawn before it; the rest may not.
    let later = after.components(separatedBy: "\r\u{1B}[2K").dropFirst(2).filter { !$0.isEmpty && !$0.contains("\n") }
    #expect(!later.isEmpty, "no line drawn after the resize")
    for line in later { #expect(line.count < 50, "\(line.count) characters after the resize: \(line)") }
  }
}
