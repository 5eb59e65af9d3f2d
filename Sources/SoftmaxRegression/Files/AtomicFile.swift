import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Writes files so that readers see the old content or the complete new content, never a
/// partial file: bytes go to a temporary file in the same directory, which is flushed to
/// disk (`fsync`) and then renamed over the destination (atomic on POSIX file systems).
///
/// - An existing file keeps its permission bits; a new one gets 0666 less the umask.
/// - A symbolic link is written through: its target is replaced, the link stays a link.
/// - A character device or FIFO (`/dev/null`, `/dev/stdout`, a named pipe) is written
///   directly, never replaced: there is nothing to rename over, and replacing a device node
///   would destroy it.
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
  /// - Parameter shouldContinue: asked before each MiB is written; false stops the write,
  ///   which then throws and leaves `path` as it was.
  public static func write(
    _ bytes: [UInt8], to path: String, shouldContinue: @escaping () -> Bool = { true }
  ) throws(WriteError) {
    let writer = try Writer(path: path)
    writer.shouldContinue = shouldContinue
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
    if isDeviceOrPipe(path) {
      // Opening a FIFO for writing would wait for a reader: ask for permission only.
      guard access(path, W_OK) == 0 else {
        throw WriteError(path: path, reason: "not writable: \(String(cString: strerror(errno)))")
      }
      return
    }
    let writer = try Writer(path: path)
    writer.abandon()
  }

  /// Whether `path` (links followed) exists and is neither a regular file nor a directory:
  /// a device, FIFO or socket, which writers write in place.
  public static func isDeviceOrPipe(_ path: String) -> Bool {
    var status = stat()
    guard stat(path, &status) == 0 else { return false }
    let kind = status.st_mode & S_IFMT
    return kind != S_IFREG && kind != S_IFDIR
  }

  /// Fails early when the file system holding `path` has fewer than `byteCount` bytes free
  /// for this user (a full disk found before hours of work, not after). Cost: one `statvfs`.
  /// A device or FIFO is not checked: its directory's file system says nothing about it.
  public static func checkSpace(_ path: String, byteCount: Int) throws(WriteError) {
    guard !isDeviceOrPipe(path) else { return }
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
    /// The temporary file renamed over the destination, or nil when writing directly to a
    /// device or FIFO.
    private let temporaryPath: String?
    /// The file replaced by the rename (`path`, or the target of the link at `path`).
    private let replacedPath: String
    private var descriptor: Int32
    private var buffer: [UInt8] = []
    /// Whether bytes went to the file by `append`: it is then not mapped.
    private var hasAppended = false
    private static let bufferLimit = 1 << 20
    /// Asked before each 1 MiB reaches the file: when it returns false, the write fails
    /// with "interrupted" (and the caller abandons the file). The CLI stops long writes on
    /// SIGINT and SIGTERM this way, leaving no temporary file behind.
    public var shouldContinue: () -> Bool = { true }

    /// Creates the temporary file beside the destination, or opens a device or FIFO.
    public init(path: String) throws(WriteError) {
      self.path = path
      guard !path.isEmpty else { throw WriteError(path: path, reason: "the path is empty") }
      var status = stat()
      let exists = stat(path, &status) == 0  // follows links
      let kind = status.st_mode & S_IFMT
      if exists && kind == S_IFDIR {
        throw WriteError(path: path, reason: "it is a directory")
      }
      if exists && kind != S_IFREG {
        // A device, FIFO or socket: written in place (O_NONBLOCK is not used, so opening a
        // FIFO waits for its reader, as any writer would).
        temporaryPath = nil
        replacedPath = path
        descriptor = open(path, O_WRONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw WriteError(path: path, reason: Self.systemError("cannot open")) }
        return
      }
      let target = try Self.resolvingLinks(path)
      replacedPath = target
      let slash = target.lastIndex(of: "/")
      let directory = slash.map { String(target[...$0]) } ?? ""
      let name = slash.map { String(target[target.index(after: $0)...]) } ?? target
      guard !name.isEmpty else { throw WriteError(path: path, reason: "the path names a directory") }
      Self.removeStaleTemporaries(directory: directory, name: name)
      let temporary = "\(directory).\(name).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
      temporaryPath = temporary
      // Read and write: `mapForWriting` may map it.
      descriptor = open(temporary, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
      guard descriptor >= 0 else {
        throw WriteError(path: path, reason: Self.systemError("cannot create a file in its directory"))
      }
      if exists { _ = fchmod(descriptor, status.st_mode & 0o7777) }
      buffer.reserveCapacity(Self.bufferLimit)
    }

    /// Removes `.NAME.tmp-PID-*` files beside the destination whose writing process no
    /// longer exists (killed with SIGKILL, or a power loss, mid-write): only this type
    /// makes such names, and a live process's file (`kill(pid, 0)` succeeds, or says it
    /// exists) is never touched.
    private static func removeStaleTemporaries(directory: String, name: String) {
      let prefix = ".\(name).tmp-"
      guard let entries = try? FileManager.default.contentsOfDirectory(atPath: directory.isEmpty ? "." : directory)
      else { return }
      for entry in entries where entry.hasPrefix(prefix) {
        let rest = entry.dropFirst(prefix.count)
        guard let dash = rest.firstIndex(of: "-"), let pid = Int32(rest[..<dash]), pid > 0,
          pid != getpid()
        else { continue }
        if kill(pid, 0) != 0 && errno == ESRCH { unlink(directory + entry) }
      }
    }

    /// The path a rename must replace so that a link at `path` stays a link: the link's
    /// final target (relative targets resolved against the link's directory). Fails on a
    /// loop of links.
    private static func resolvingLinks(_ path: String) throws(WriteError) -> String {
      var current = path
      for _ in 0..<40 {
        var status = stat()
        guard lstat(current, &status) == 0, status.st_mode & S_IFMT == S_IFLNK else { return current }
        var target = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let length = readlink(current, &target, target.count - 1)
        guard length >= 0 else { throw WriteError(path: path, reason: systemError("cannot read the link")) }
        let destination = String(decoding: target[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        if destination.hasPrefix("/") {
          current = destination
        } else {
          let directory = current.lastIndex(of: "/").map { String(current[...$0]) } ?? ""
          current = directory + destination
        }
      }
      throw WriteError(path: path, reason: "too many levels of symbolic links")
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
      guard shouldContinue() else { throw WriteError(path: path, reason: "interrupted") }
      if !buffer.isEmpty { hasAppended = true }
      var offset = 0
      while offset < buffer.count {
        let written = buffer.withUnsafeBytes { bytes in
          systemWrite(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
        }
        if written < 0 {
          if errno == EINTR { continue }
          throw WriteError(path: path, reason: Self.systemError("write failed"))
        }
        offset += written
      }
      buffer.removeAll(keepingCapacity: true)
    }

    /// Sizes the temporary file to `length` bytes (zeros) and maps it shared and writable,
    /// for a writer that fills it in place (in parallel, or larger than memory); nil when the
    /// destination is a device or FIFO, or `append` was used. `commit` syncs what the mapping
    /// wrote (unmap it first).
    public func mapForWriting(length: Int) throws(WriteError) -> WritableMapping? {
      guard temporaryPath != nil, buffer.isEmpty, !hasAppended else { return nil }
      guard ftruncate(descriptor, off_t(length)) == 0 else {
        throw WriteError(path: path, reason: Self.systemError("cannot size the file"))
      }
      guard length > 0 else { return nil }
      guard let address = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_SHARED, descriptor, 0),
        address != MAP_FAILED
      else { throw WriteError(path: path, reason: Self.systemError("cannot map the file")) }
      return WritableMapping(bytes: UnsafeMutableRawBufferPointer(start: address, count: length))
    }

    /// Flushes, syncs and renames the temporary file over the destination (a device or
    /// FIFO is only flushed and closed).
    public func commit() throws(WriteError) {
      try flush()
      guard let temporaryPath else {
        let closed = close(descriptor)
        descriptor = -1
        guard closed == 0 else { throw WriteError(path: path, reason: Self.systemError("close failed")) }
        return
      }
      guard fsync(descriptor) == 0 else {
        throw WriteError(path: path, reason: Self.systemError("fsync failed"))
      }
      let closed = close(descriptor)
      descriptor = -1
      guard closed == 0 else {
        unlink(temporaryPath)
        throw WriteError(path: path, reason: Self.systemError("close failed"))
      }
      guard rename(temporaryPath, replacedPath) == 0 else {
        let reason = Self.systemError("rename failed")
        unlink(temporaryPath)
        throw WriteError(path: path, reason: reason)
      }
    }

    /// Removes the temporary file; the destination is untouched. (What was already written
    /// to a device or FIFO cannot be taken back.)
    public func abandon() {
      if descriptor >= 0 {
        close(descriptor)
        descriptor = -1
      }
      if let temporaryPath { unlink(temporaryPath) }
    }

    private static func systemError(_ step: String) -> String {
      "\(step): \(String(cString: strerror(errno)))"
    }
  }

  /// A file mapped shared and writable (`Writer.mapForWriting`), unmapped when released.
  public final class WritableMapping: @unchecked Sendable {
    // @unchecked: writers fill disjoint ranges; the owner reads only after they finish.

    /// The mapped bytes.
    public let bytes: UnsafeMutableRawBufferPointer
    private let pageSize = max(4096, Int(sysconf(Int32(_SC_PAGESIZE))))

    init(bytes: UnsafeMutableRawBufferPointer) {
      self.bytes = bytes
    }

    deinit {
      if let base = bytes.baseAddress { munmap(base, bytes.count) }
    }

    /// Drops the whole pages inside `range` from this process: they are in the page cache
    /// (written back by the kernel, or by `commit`'s fsync), so memory stays bounded however
    /// large the file. Reading them again faults them in again.
    public func release(_ range: Range<Int>) {
      guard let base = bytes.baseAddress else { return }
      let start = (range.lowerBound + pageSize - 1) / pageSize * pageSize
      let end = range.upperBound == bytes.count ? range.upperBound : range.upperBound / pageSize * pageSize
      guard start < end else { return }
      _ = madvise(base + start, end - start, MADV_DONTNEED)
    }
  }
}

/// `write(2)`, under a name that `AtomicFile.write` does not shadow (and that builds with
/// Glibc and Darwin alike).
private func systemWrite(_ descriptor: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
  write(descriptor, bytes, count)
}
