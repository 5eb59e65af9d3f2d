#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

import Synchronization

/// Where the CLI writes: results to stdout, progress and errors to stderr.
///
/// A failed write to standard output (a full disk behind `> file`, `> /dev/full`, a closed
/// descriptor) is remembered: the command then exits 1 with "cannot write to standard
/// output" instead of 0 with a silently truncated result. Failures on stderr are ignored
/// (there is nowhere left to report them).
enum Console {
  /// The errno of the first failed write to standard output, or 0.
  private static let outputFailure = Atomic<Int32>(0)

  static func output(_ text: String) {
    if !writeAll(Array((text + "\n").utf8), to: STDOUT_FILENO) { recordOutputFailure() }
  }

  /// Writes `bytes` to standard output.
  /// - Throws: `CLIError.failure` when the write fails.
  static func writeOutput(_ bytes: [UInt8]) throws(CLIError) {
    guard writeAll(bytes, to: STDOUT_FILENO) else {
      recordOutputFailure()
      throw .failure(outputFailureMessage ?? "cannot write to standard output")
    }
  }

  /// "cannot write to standard output: REASON" after a failed write, else nil.
  static var outputFailureMessage: String? {
    let code = outputFailure.load(ordering: .relaxed)
    guard code != 0 else { return nil }
    return "cannot write to standard output: \(String(cString: strerror(code)))"
  }

  private static func recordOutputFailure() {
    _ = outputFailure.compareExchange(
      expected: 0, desired: errno == 0 ? EIO : errno, ordering: .relaxed)
  }

  static func error(_ text: String) {
    _ = writeAll(Array((text + "\n").utf8), to: STDERR_FILENO)
  }

  static func errorWithoutNewline(_ text: String) {
    _ = writeAll(Array(text.utf8), to: STDERR_FILENO)
  }

  /// Writes go straight to the file descriptors (unbuffered), so there is nothing to flush.
  static func flush() {}

  /// Writes every byte; false when the descriptor refuses one.
  private static func writeAll(_ bytes: [UInt8], to descriptor: Int32) -> Bool {
    var offset = 0
    errno = 0
    while offset < bytes.count {
      let written = bytes.withUnsafeBytes { buffer in
        write(descriptor, buffer.baseAddress! + offset, buffer.count - offset)
      }
      if written < 0 && errno == EINTR { continue }
      guard written > 0 else { return false }
      offset += written
    }
    return true
  }
}

/// A minimal JSON writer for the CLI's machine-readable output, keeping key order.
indirect enum JSON {
  /// The version of every JSON object the commands print (`json_version`): keys are only
  /// ever added within a version, never renamed or removed.
  static let outputVersion = 1

  case object([(String, JSON)])
  case array([JSON])
  case string(String)
  case number(Double)
  /// A Float32 in its shortest round-tripping form (`0.1`, not `0.10000000149011612`).
  case float(Float)
  case integer(Int)
  case bool(Bool)
  case null

  var text: String {
    switch self {
    case .object(let pairs):
      return "{" + pairs.map { "\(JSON.string($0.0).text): \($0.1.text)" }.joined(separator: ", ") + "}"
    case .array(let items):
      return "[" + items.map(\.text).joined(separator: ", ") + "]"
    case .string(let value):
      return "\"" + Self.escape(value) + "\""
    case .number(let value):
      return value.isFinite ? "\(value)" : "null"
    case .float(let value):
      return value.isFinite ? "\(value)" : "null"
    case .integer(let value):
      return "\(value)"
    case .bool(let value):
      return value ? "true" : "false"
    case .null:
      return "null"
    }
  }

  private static func escape(_ value: String) -> String {
    var result = ""
    for scalar in value.unicodeScalars {
      switch scalar {
      case "\"": result += "\\\""
      case "\\": result += "\\\\"
      case "\n": result += "\\n"
      case "\r": result += "\\r"
      case "\t": result += "\\t"
      case _ where scalar.value < 0x20:
        let hex = String(scalar.value, radix: 16)
        result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
      default: result.unicodeScalars.append(scalar)
      }
    }
    return result
  }
}

/// Formats numbers for people.
enum Format {
  /// `value` with `digits` digits after the point.
  static func fixed(_ value: Double, _ digits: Int) -> String {
    guard value.isFinite else { return "\(value)" }
    var scaled = (abs(value) * pow(10, Double(digits))).rounded()
    if scaled >= 1e18 { return "\(value)" }
    let negative = value < 0 && scaled != 0
    var fraction = ""
    for _ in 0..<digits {
      let digit = Int(scaled.truncatingRemainder(dividingBy: 10))
      fraction = String(digit) + fraction
      scaled = (scaled / 10).rounded(.down)
    }
    let integer = String(Int(scaled))
    return (negative ? "-" : "") + integer + (digits > 0 ? "." + fraction : "")
  }

  /// `value` in scientific notation with `digits` significant digits after the first.
  static func scientific(_ value: Double, _ digits: Int = 2) -> String {
    guard value.isFinite, value != 0 else { return value == 0 ? "0" : "\(value)" }
    var exponent = Int(log10(abs(value)).rounded(.down))
    var mantissa = value / pow(10, Double(exponent))
    if abs(mantissa) >= 10 - 0.5 * pow(10, -Double(digits)) {
      mantissa /= 10
      exponent += 1
    }
    return fixed(mantissa, digits) + "e" + (exponent < 0 ? "-" : "+") + String(abs(exponent))
  }

  /// A duration like `0.42 s`, `12.3 s`, `4 min 05 s`.
  static func duration(_ seconds: Double) -> String {
    guard seconds.isFinite else { return "?" }
    if seconds < 10 { return fixed(seconds, 2) + " s" }
    if seconds < 60 { return fixed(seconds, 1) + " s" }
    let whole = Int(seconds.rounded())
    let remainder = whole % 60
    return "\(whole / 60) min \(remainder < 10 ? "0" : "")\(remainder) s"
  }

  /// A rate like `1.23 M` rows/s.
  static func rate(_ value: Double) -> String {
    if value >= 1e9 { return fixed(value / 1e9, 2) + " G" }
    if value >= 1e6 { return fixed(value / 1e6, 2) + " M" }
    if value >= 1e3 { return fixed(value / 1e3, 2) + " k" }
    return fixed(value, 0) + " "
  }
}
