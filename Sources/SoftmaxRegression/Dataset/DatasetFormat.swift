#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A file format datasets are read from. Adding a format is one conforming type and one
/// line in `DatasetFormats.all`; its reader chooses columns as the schema asks where it can,
/// and the result goes through `Dataset.Schema.conform` like every other reader's.
protocol DatasetFormat: Sendable {
  /// Whether the file at `path` is in this format, judged from its first bytes. Must not
  /// block: only a regular file may be opened to look.
  func recognizes(path: String) -> Bool

  /// Reads the file at `path` as `schema` asks.
  func load(
    path: String, schema: Dataset.Schema, threadCount: Int,
    progress: ((_ bytesDone: Int, _ totalBytes: Int) -> Void)?, shouldContinue: (() -> Bool)?
  ) throws(DatasetError) -> Dataset
}

/// The formats `Dataset(contentsOf:)` tries, in order: the first that recognises a file reads it.
enum DatasetFormats {
  static let all: [any DatasetFormat] = [BinaryCacheFormat(), GzipCSVFormat(), CSVFormat()]

  /// The format of the file at `path` (CSV, the last, takes anything).
  static func format(of path: String) -> any DatasetFormat {
    all.first { $0.recognizes(path: path) } ?? CSVFormat()
  }

  /// The first `count` bytes of a regular file, or nil (not regular, unreadable, shorter).
  static func leadingBytes(of path: String, count: Int) -> [UInt8]? {
    var status = stat()
    guard stat(path, &status) == 0, status.st_mode & S_IFMT == S_IFREG else { return nil }
    let descriptor = open(path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else { return nil }
    defer { close(descriptor) }
    var bytes = [UInt8](repeating: 0, count: count)
    let read = bytes.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, count, 0) }
    return read == count ? bytes : nil
  }
}

/// The binary cache (`DatasetCache`), recognised by its magic bytes.
struct BinaryCacheFormat: DatasetFormat {
  func recognizes(path: String) -> Bool {
    DatasetFormats.leadingBytes(of: path, count: DatasetCache.magic.count) == DatasetCache.magic
  }

  func load(
    path: String, schema: Dataset.Schema, threadCount: Int,
    progress: ((_ bytesDone: Int, _ totalBytes: Int) -> Void)?, shouldContinue: (() -> Bool)?
  ) throws(DatasetError) -> Dataset {
    try Dataset(cacheAt: path, schema: schema)
  }
}

/// CSV text (`Dataset(csvAt:)`, or `Dataset(csvStreamAt:)` for a pipe, FIFO or device): any
/// file no other format recognises.
struct CSVFormat: DatasetFormat {
  func recognizes(path: String) -> Bool { true }

  func load(
    path: String, schema: Dataset.Schema, threadCount: Int,
    progress: ((_ bytesDone: Int, _ totalBytes: Int) -> Void)?, shouldContinue: (() -> Bool)?
  ) throws(DatasetError) -> Dataset {
    if StreamInput.isStream(path) {
      return try Dataset(
        csvStreamAt: path, schema: schema, threadCount: threadCount, progress: progress,
        shouldContinue: shouldContinue)
    }
    return try Dataset(
      csvAt: path, schema: schema, threadCount: threadCount, progress: progress,
      shouldContinue: shouldContinue)
  }
}

/// Gzip-compressed CSV (`.csv.gz`), recognised by its magic bytes: decompressed to a
/// temporary file (`GzipInput`), read as CSV, the temporary file removed; errors name the
/// compressed file (lines are those of the text inside).
struct GzipCSVFormat: DatasetFormat {
  func recognizes(path: String) -> Bool { GzipInput.recognizes(path: path) }

  func load(
    path: String, schema: Dataset.Schema, threadCount: Int,
    progress: ((_ bytesDone: Int, _ totalBytes: Int) -> Void)?, shouldContinue: (() -> Bool)?
  ) throws(DatasetError) -> Dataset {
    let text = try GzipInput.decompressToTemporaryFile(
      path: path, shouldContinue: shouldContinue ?? { true }, progress: progress)
    defer { unlink(text) }
    do {
      return try Dataset(
        csvAt: text, schema: schema, threadCount: threadCount, progress: nil,
        shouldContinue: shouldContinue)
    } catch {
      throw error.located(in: path)
    }
  }
}

extension Dataset {
  /// When the file at `path` is gzip-compressed, its text decompressed into a new temporary
  /// file (in `$TMPDIR`; the caller removes it), for callers that read the text as a file
  /// (a streaming conversion, a size estimate); nil for any other file.
  /// - Throws: `DatasetError` naming `path`: a damaged or truncated stream (with the byte
  ///   offset), no room, or `.cancelled`.
  public static func decompressedCopy(
    ofGzip path: String, shouldContinue: (() -> Bool)? = nil,
    progress: ((_ bytesDone: Int, _ totalBytes: Int) -> Void)? = nil
  ) throws(DatasetError) -> String? {
    guard GzipInput.recognizes(path: path) else { return nil }
    return try GzipInput.decompressToTemporaryFile(
      path: path, shouldContinue: shouldContinue ?? { true }, progress: progress)
  }
}
