#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A whole file mapped read-only into memory, unmapped when the value is released.
///
/// Readers that have finished with a range call `release(_:)`, which tells the kernel to
/// drop those pages from this process (they stay in the page cache, and reading them again
/// maps them again), so a file parsed front to back never holds all of its pages resident.
/// Cost: one `open`, `fstat` and `mmap`; pages are read on first touch.
final class MappedFile: @unchecked Sendable {
  // @unchecked: the mapping is read-only for its whole life; `release` only affects
  // residency, never contents.

  /// The file's bytes; empty for an empty file.
  let bytes: UnsafeRawBufferPointer
  private let pageSize: Int
  /// Kept open for `evict`'s `posix_fadvise`.
  private let descriptor: Int32

  /// Why a file could not be mapped.
  enum Failure: Error {
    case notARegularFile
    case system(String)
  }

  /// Maps the regular file at `path`, read-only. Anything else (a FIFO, a device, a
  /// directory) is refused before it is opened, so a FIFO never blocks the caller.
  init(path: String) throws(Failure) {
    var pathStatus = stat()
    guard stat(path, &pathStatus) == 0 else { throw .system(Self.lastError()) }
    guard pathStatus.st_mode & S_IFMT == S_IFREG else { throw .notARegularFile }
    // O_NONBLOCK: should the path be swapped for a FIFO after the check, opening it still
    // returns at once (fstat below then refuses it); it changes nothing for a regular file.
    let descriptor = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
    guard descriptor >= 0 else { throw .system(Self.lastError()) }
    var status = stat()
    guard fstat(descriptor, &status) == 0 else {
      let why = Self.lastError()
      close(descriptor)
      throw .system(why)
    }
    guard (status.st_mode & S_IFMT) == S_IFREG else {
      close(descriptor)
      throw .notARegularFile
    }
    self.descriptor = descriptor
    pageSize = max(4096, Int(sysconf(Int32(_SC_PAGESIZE))))
    let size = Int(status.st_size)
    guard size > 0 else {
      bytes = UnsafeRawBufferPointer(start: nil, count: 0)
      return
    }
    guard let address = mmap(nil, size, PROT_READ, MAP_PRIVATE, descriptor, 0),
      address != MAP_FAILED
    else {
      let why = Self.lastError()
      close(descriptor)
      throw .system(why)
    }
    _ = madvise(address, size, MADV_SEQUENTIAL)
    bytes = UnsafeRawBufferPointer(start: address, count: size)
  }

  deinit {
    if let base = bytes.baseAddress { munmap(UnsafeMutableRawPointer(mutating: base), bytes.count) }
    close(descriptor)
  }

  /// Asks the kernel to start reading the pages of `range` now (read-ahead of what is read
  /// next).
  func prefetch(_ range: Range<Int>) {
    guard let (start, end) = wholePages(range, rounding: .outward) else { return }
    _ = madvise(UnsafeMutableRawPointer(mutating: bytes.baseAddress! + start), end - start, MADV_WILLNEED)
  }

  /// Drops the pages of `range` from this process and from the page cache: for a file
  /// larger than memory, read front to back every pass, what was read is the page least
  /// needed next.
  func evict(_ range: Range<Int>) {
    release(range)
    guard let (start, end) = wholePages(range, rounding: .inward) else { return }
    _ = posix_fadvise(descriptor, off_t(start), off_t(end - start), Int32(POSIX_FADV_DONTNEED))
  }

  private enum Rounding { case inward, outward }

  private func wholePages(_ range: Range<Int>, rounding: Rounding) -> (Int, Int)? {
    guard bytes.baseAddress != nil else { return nil }
    let start = rounding == .inward ? (range.lowerBound + pageSize - 1) / pageSize * pageSize : range.lowerBound / pageSize * pageSize
    let roundedEnd = rounding == .inward ? range.upperBound / pageSize * pageSize : (range.upperBound + pageSize - 1) / pageSize * pageSize
    let end = min(bytes.count, range.upperBound == bytes.count ? range.upperBound : roundedEnd)
    return start < end ? (start, end) : nil
  }

  /// Drops the whole pages inside `range` (byte offsets) from this process's memory.
  /// Contents are unaffected: a later read faults the pages in again from the page cache.
  func release(_ range: Range<Int>) {
    guard let base = bytes.baseAddress else { return }
    let start = (range.lowerBound + pageSize - 1) / pageSize * pageSize
    let end = range.upperBound == bytes.count ? range.upperBound : range.upperBound / pageSize * pageSize
    guard start < end else { return }
    _ = madvise(UnsafeMutableRawPointer(mutating: base + start), end - start, MADV_DONTNEED)
  }

  /// The data file at `path`, mapped, or the `DatasetError` that says why not.
  static func dataFile(_ path: String) throws(DatasetError) -> MappedFile {
    do {
      return try MappedFile(path: path)
    } catch {
      switch error {
      case .notARegularFile: throw DatasetError(file: path, reason: .notARegularFile)
      case .system(let why): throw DatasetError(file: path, reason: .unreadableFile(why))
      }
    }
  }

  private static func lastError() -> String {
    String(cString: strerror(errno))
  }
}
