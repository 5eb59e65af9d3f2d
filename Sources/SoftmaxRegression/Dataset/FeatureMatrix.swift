#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A dense, row-major Float32 matrix whose rows are padded to a multiple of 8 floats.
///
/// Row `i` starts at `baseAddress + i * rowStride`; columns `featureCount..<rowStride` of
/// every row are zero, so SIMD8 kernels can read whole 32-byte chunks without a scalar tail
/// and the padding contributes nothing to dot products. Storage is 64-byte aligned.
/// Memory: `rowCount * rowStride * 4` bytes.
///
/// The storage is a reference type, written only while the matrix is built (by a loader,
/// which owns it then) and read-only afterwards; a matrix mapped from a cache (`isMapped`)
/// is never written at all.
public final class FeatureMatrix: @unchecked Sendable {
  // @unchecked: the buffer is written only while the matrix is built, before it is shared.

  /// The number of rows (examples).
  public let rowCount: Int
  /// The number of meaningful columns (features) in each row.
  public let featureCount: Int
  /// The distance in floats between consecutive rows: `featureCount` rounded up to 8.
  public let rowStride: Int
  let storage: UnsafeMutablePointer<Float>
  /// The mapping that holds `storage` (a cache read, or a cache being written); nil when the
  /// matrix owns an allocation.
  private let mapping: AnyObject?

  /// The padded row length for `featureCount` features: the next multiple of 8.
  public static func paddedStride(forFeatureCount featureCount: Int) -> Int {
    max(8, (featureCount + 7) / 8 * 8)
  }

  /// Allocates a zero-filled matrix. Cost: O(rowCount · rowStride).
  /// - Throws: `DatasetError` with reason `.outOfMemory` when the memory cannot be had.
  public convenience init(rowCount: Int, featureCount: Int) throws(DatasetError) {
    try self.init(uninitializedRowCount: rowCount, featureCount: featureCount)
    storage.initialize(repeating: 0, count: max(1, rowCount * rowStride))
  }

  /// Allocates a matrix whose every element, padding included, the caller will write
  /// before reading it. Pages are touched first by the writers (in parallel for the CSV
  /// loader), not by a zero fill. Cost: O(1).
  /// - Throws: `DatasetError` (file "<memory>") with reason `.outOfMemory`, naming the size
  ///   and the limits in force, instead of the runtime's abort.
  init(uninitializedRowCount rowCount: Int, featureCount: Int) throws(DatasetError) {
    precondition(rowCount >= 0 && featureCount >= 0)
    let stride = Self.paddedStride(forFeatureCount: featureCount)
    let (count, overflow) = max(1, rowCount).multipliedReportingOverflow(by: stride)
    let byteCount = overflow ? Int.max : count.multipliedReportingOverflow(by: 4).partialValue
    var address: UnsafeMutableRawPointer? = nil
    guard !overflow, count <= Int.max / 4, posix_memalign(&address, 64, byteCount) == 0,
      let address
    else {
      throw DatasetError(
        file: "<memory>",
        reason: .outOfMemory(
          "cannot allocate \(overflow ? "more than \(Int.max)" : "\(byteCount)") bytes for the "
            + "\(rowCount) × \(stride) feature matrix"
            + (SystemMemory.limitsDescription.map { " (\($0))" } ?? "")))
    }
    self.rowCount = rowCount
    self.featureCount = featureCount
    self.rowStride = stride
    storage = address.bindMemory(to: Float.self, capacity: count)
    mapping = nil
    streamsFromDisk = false
    offset = 0
  }

  /// Whether passes read this matrix from disk: mapped, and larger than the memory it may
  /// keep (see `streamsFromDisk(byteCount:)`). Passes then read ahead of their shards and
  /// drop what they have read (`willRead`, `didRead`).
  var streamsFromDisk: Bool  // set at construction; tests force it on small files
  private let offset: Int

  /// A matrix stored inside a read-only mapping, at a 64-byte aligned `offset`; it is
  /// never written.
  /// The caller has checked that the range holds `rowCount` padded rows. Cost: O(1).
  init(mapping: MappedFile, offset: Int, rowCount: Int, featureCount: Int) {
    self.streamsFromDisk = Self.streamsFromDisk(
      byteCount: rowCount * Self.paddedStride(forFeatureCount: featureCount) * 4)
    self.offset = offset
    self.rowCount = rowCount
    self.featureCount = featureCount
    self.rowStride = Self.paddedStride(forFeatureCount: featureCount)
    self.mapping = mapping
    let base = UnsafeMutableRawPointer(mutating: mapping.bytes.baseAddress!) + offset
    storage = base.bindMemory(to: Float.self, capacity: max(1, rowCount * rowStride))
  }

  /// A matrix the caller writes in place inside `owner`'s memory (a cache file being written
  /// through a shared mapping), at 64-byte aligned `storage` valid for `rowCount` padded rows.
  init(
    writingInto storage: UnsafeMutablePointer<Float>, rowCount: Int, featureCount: Int,
    owner: AnyObject
  ) {
    self.rowCount = rowCount
    self.featureCount = featureCount
    self.rowStride = Self.paddedStride(forFeatureCount: featureCount)
    self.mapping = owner
    self.storage = storage
    self.streamsFromDisk = false
    self.offset = 0
  }

  /// A matrix of which each process of a load in shares writes only its own rows: the
  /// storage is reserved address space (an anonymous private mapping), so a page costs
  /// memory only once a row on it is written, and rows never written read as zeros.
  /// Cost: O(1).
  /// - Throws: `DatasetError` (file "<memory>") with reason `.outOfMemory` when the address
  ///   space cannot be had.
  init(reservingRowCount rowCount: Int, featureCount: Int) throws(DatasetError) {
    let stride = Self.paddedStride(forFeatureCount: featureCount)
    let (count, overflow) = max(1, rowCount).multipliedReportingOverflow(by: stride)
    guard !overflow, count <= Int.max / 4, let pages = ReservedPages(byteCount: count * 4) else {
      throw DatasetError(
        file: "<memory>",
        reason: .outOfMemory("cannot reserve address space for the \(rowCount) × \(stride) feature matrix"))
    }
    self.rowCount = rowCount
    self.featureCount = featureCount
    self.rowStride = stride
    storage = pages.base.bindMemory(to: Float.self, capacity: count)
    mapping = pages
    streamsFromDisk = false
    offset = 0
  }

  /// Whether a mapped matrix of `byteCount` bytes should be streamed from disk: it is over
  /// three quarters of the memory this process may use (the cgroup limit, or the memory
  /// available), so keeping it cached would only make the kernel evict in a worse order.
  static func streamsFromDisk(byteCount: Int) -> Bool {
    let budget = min(SystemMemory.cgroupLimit ?? .max, SystemMemory.available ?? .max)
    return budget < .max && byteCount > budget / 4 * 3
  }

  /// Read-ahead hint: the rows `rows` are read soon. Nothing unless `streamsFromDisk`.
  func willRead(rows: Range<Int>) {
    guard streamsFromDisk, let file = mapping as? MappedFile else { return }
    file.prefetch(byteRange(rows))
  }

  /// The rows `rows` have been read this pass: dropped from memory when `streamsFromDisk`.
  func didRead(rows: Range<Int>) {
    guard streamsFromDisk, let file = mapping as? MappedFile else { return }
    file.evict(byteRange(rows))
  }

  private func byteRange(_ rows: Range<Int>) -> Range<Int> {
    let clamped = rows.clamped(to: 0..<rowCount)
    return offset + clamped.lowerBound * rowStride * 4..<offset + clamped.upperBound * rowStride * 4
  }

  deinit {
    if mapping == nil { free(storage) }
  }

  /// Whether the rows live in a read-only file mapping (a `.smx` cache) rather than in an
  /// allocation this matrix owns.
  var isMapped: Bool { mapping is MappedFile }

  /// The value at `row`, `column` (both zero-based). Cost: O(1).
  public subscript(row: Int, column: Int) -> Float {
    precondition(row >= 0 && row < rowCount && column >= 0 && column < featureCount)
    return storage[row * rowStride + column]
  }

  /// The start of row `row`; valid for `rowStride` floats.
  func rowPointer(_ row: Int) -> UnsafeMutablePointer<Float> {
    storage + row * rowStride
  }
}

/// Zero-filled address space that takes memory only where it is written: an anonymous
/// private mapping, unmapped when the last matrix over it goes.
final class ReservedPages: @unchecked Sendable {
  // @unchecked: the owner of an address range; it never reads or writes it itself.
  let base: UnsafeMutableRawPointer
  let byteCount: Int

  init?(byteCount: Int) {
    guard
      let address = mmap(nil, byteCount, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0),
      address != MAP_FAILED
    else { return nil }
    base = address
    self.byteCount = byteCount
  }

  deinit { munmap(base, byteCount) }
}
