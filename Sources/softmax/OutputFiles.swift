#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif
import SoftmaxRegression

/// The rules every command applies to the files it writes: `-` is standard output, no output
/// may be one of the command's inputs, and each is checked before any long work.
enum OutputFiles {
  /// The path that means standard output.
  static let standardOutput = "-"

  /// Checks, before any work, that no output is an input (the same file, by device and
  /// inode, whatever the path) and that each output can be written.
  /// - Throws: `CLIError.usage` when an output is an input; `.failure` when one cannot be
  ///   written.
  static func check(outputs: [String], inputs: [String]) throws(CLIError) {
    for output in outputs where output != standardOutput {
      guard let outputIdentity = identity(output) else { continue }
      for input in inputs where identity(input) == outputIdentity {
        let same = input == output ? "'\(output)'" : "'\(output)' (the same file as '\(input)')"
        throw .usage(
          "the output \(same) is also an input; writing it would destroy the input", usage: nil)
      }
    }
    for output in outputs where output != standardOutput {
      do { try AtomicFile.checkWritable(output) } catch { throw .failure(error.description) }
    }
  }

  /// Writes `bytes` to `path`: atomically to a file, directly to a device or FIFO, or to
  /// standard output for `-`.
  static func write(_ bytes: [UInt8], to path: String) throws(CLIError) {
    if path == standardOutput {
      try Console.writeOutput(bytes)
      return
    }
    do {
      try AtomicFile.write(bytes, to: path) { Interruption.received == nil }
    } catch {
      try Interruption.check("\(path) left as it was")
      throw .failure(error.description)
    }
  }

  /// The device and inode of a regular file at `path` (links followed), or nil when there
  /// is none. Devices and FIFOs are not compared: writing one does not destroy another.
  private static func identity(_ path: String) -> [UInt64]? {
    var status = stat()
    guard stat(path, &status) == 0, status.st_mode & S_IFMT == S_IFREG else { return nil }
    return [UInt64(status.st_dev), UInt64(status.st_ino)]
  }
}
