#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Reads a file that cannot be mapped — a pipe, a FIFO, a terminal, standard input
/// (`/dev/stdin`) — to its end, into memory.
///
/// The descriptor is non-blocking and waited on with `poll` in steps of 100 ms, so a FIFO
/// with no writer yet, or a silent pipe, never blocks the process: `shouldContinue` is
/// asked between steps (a Ctrl-C stops the read within 100 ms), and a FIFO is read only once
/// a writer has connected. Memory: the whole text, as a growing buffer.
enum StreamInput {
  /// The bytes of the stream at `path` to its end.
  /// - Throws: `DatasetError` naming `path`: unreadable, or `.cancelled` when
  ///   `shouldContinue` said stop.
  static func readAll(
    path: String, shouldContinue: () -> Bool, progress: ((Int) -> Void)?
  ) throws(DatasetError) -> [UInt8] {
    let descriptor = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
    guard descriptor >= 0 else { throw failure(path) }
    defer { close(descriptor) }
    var bytes: [UInt8] = []
    let chunk = 1 << 20
    var waiting = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
    while true {
      guard shouldContinue() else { throw DatasetError(file: path, reason: .cancelled) }
      let ready = poll(&waiting, 1, 100)
      if ready < 0 && errno != EINTR { throw failure(path) }
      guard ready > 0 else { continue }
      let start = bytes.count
      bytes.append(contentsOf: repeatElement(0, count: chunk))
      let count = bytes.withUnsafeMutableBytes { read(descriptor, $0.baseAddress! + start, chunk) }
      if count < 0 {
        bytes.removeLast(chunk)
        if errno == EAGAIN || errno == EINTR { continue }
        throw failure(path)
      }
      bytes.removeLast(chunk - count)
      if count == 0 { return bytes }
      progress?(bytes.count)
    }
  }

  private static func failure(_ path: String) -> DatasetError {
    DatasetError(file: path, reason: .unreadableFile(String(cString: strerror(errno))))
  }

  /// Whether `path` names something to read as a stream: it exists and is neither a regular
  /// file nor a directory (a pipe, a FIFO, a character device).
  static func isStream(_ path: String) -> Bool {
    var status = stat()
    guard stat(path, &status) == 0 else { return false }
    let type = status.st_mode & S_IFMT
    return type == S_IFIFO || type == S_IFCHR || type == S_IFSOCK
  }
}
