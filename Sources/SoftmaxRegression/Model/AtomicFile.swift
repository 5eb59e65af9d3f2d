import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Writes files so that readers see the old content or the complete new content, never a
/// partial file: bytes go to a temporary file in the same directory, which is flushed to
/// disk (`fsync`) and then renamed over the destination (atomic on POSIX file systems).
public enum AtomicFile {
  /// Why a write failed.
  public struct WriteError: Error, CustomStringConvertible, LocalizedError, Sendable {
    /// The destination path.
    public let path: String
    /// The failing step and the system's reason.
    public let reason: String
    /// `cannot write PATH: REASON`.
    public var description: String { "cannot write \(path): \(reason)" }
    /// The same message, for `LocalizedError`.
    public var errorDescription: String? { description }
  }

  /// Writes `bytes` to `path` atomically. Cost: O(bytes) plus one fsync.
  public static func write(_ bytes: [UInt8], to path: String) throws(WriteError) {
    let writer = try Writer(path: path)
    do {
      try writer.append(bytes)
      try writer.commit()
    } catch {
      writer.abandon()
      throw error
    }
  }

  /// Checks, before long work, that `path` can be created or replaced: creates and removes
  /// a temporary file beside it. Cost: two system calls.
  public static func checkWritable(_ path: String) throws(WriteError) {
    let writer = try Writer(path: path)
    writer.abandon()
  }

  /// Fails early when the file system holding `path` has fewer than `byteCount` bytes free
  /// for this user (a full disk found before hours of work, not after). Cost: one `statvfs`.
  public static func checkSpace(_ path: String, byteCount: Int) throws(WriteError) {
    let slash = path.lastIndex(of: "/")
    let directory = slash.map { String(path[...$0]) } ?? "."
    var info = statvfs()
    guard statvfs(directory, &info) == 0 else { return }
    let available = Int(info.f_bavail) &* Int(info.f_frsize)
    guard available >= byteCount else {
      throw WriteError(
        path: path,
        reason: "not enough free space: it needs \(byteCount) bytes and \(available) are free")
    }
  }

  /// A file being written: `append` as often as needed, then `commit` (or `abandon`).
  public final class Writer {
    /// The destination path.
    public let path: String
    private let temporaryPath: String
    private var descriptor: Int32
    private var buffer: [UInt8] = []
    private static let bufferLimit = 1 << 20

    /// Creates the temporary file beside `path`.
    public init(path: String) throws(WriteError) {
      self.path = path
      let slash = path.lastIndex(of: "/")
      let directory = slash.map { String(path[...$0]) } ?? ""
      let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
      guard !name.isEmpty else { throw WriteError(path: path, reason: "the path names a directory") }
      var isDirectory = stat()
      if stat(path, &isDirectory) == 0 && (isDirectory.st_mode & S_IFMT) == S_IFDIR {
        throw WriteError(path: path, reason: "it is a directory")
      }
      temporaryPath = "\(directory).\(name).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
      descriptor = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
      guard descriptor >= 0 else {
        throw WriteError(path: path, reason: Self.systemError("cannot create a file in its directory"))
      }
      buffer.reserveCapacity(Self.bufferLimit)
    }

    deinit {
      if descriptor >= 0 { abandon() }
    }

    /// Appends bytes (buffered).
    public func append(_ bytes: [UInt8]) throws(WriteError) {
      buffer += bytes
      if buffer.count >= Self.bufferLimit { try flush() }
    }

    /// Appends raw bytes (buffered, flushed in 1 MiB pieces).
    public func append(_ bytes: UnsafeRawBufferPointer) throws(WriteError) {
      var offset = 0
      while offset < bytes.count {
        let take = min(bytes.count - offset, Self.bufferLimit - buffer.count)
        buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[offset..<offset + take]))
        offset += take
        if buffer.count >= Self.bufferLimit { try flush() }
      }
    }

    /// Appends the UTF-8 of `text` (buffered).
    public func append(_ text: String) throws(WriteError) {
      buffer.append(contentsOf: text.utf8)
      if buffer.count >= Self.bufferLimit { try flush() }
    }

    private func flush() throws(WriteError) {
      var offset = 0
      while offset < buffer.count {
        let written = buffer.withUnsafeBytes { bytes in
          Glibc.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
        }
        if written < 0 {
          if errno == EINTR { continue }
          throw WriteError(path: path, reason: Self.systemError("write failed"))
        }
        offset += written
      }
      buffer.removeAll(keepingCapacity: true)
    }

    /// Flushes, syncs and renames the temporary file over the destination.
    public func commit() throws(WriteError) {
      try flush()
      guard fsync(descriptor) == 0 else {
        throw WriteError(path: path, reason: Self.systemError("fsync failed"))
      }
      let closed = close(descriptor)
      descriptor = -1
      guard closed == 0 else {
        unlink(temporaryPath)
        throw WriteError(path: path, reason: Self.systemError("close failed"))
      }
      guard rename(temporaryPath, path) == 0 else {
        let reason = Self.systemError("rename failed")
        unlink(temporaryPath)
        throw WriteError(path: path, reason: reason)
      }
    }

    /// Removes the temporary file; the destination is untouched.
    public func abandon() {
      if descriptor >= 0 {
        close(descriptor)
        descriptor = -1
      }
      unlink(temporaryPath)
    }

    private static func systemError(_ step: String) -> String {
      "\(step): \(String(cString: strerror(errno)))"
    }
  }
}
