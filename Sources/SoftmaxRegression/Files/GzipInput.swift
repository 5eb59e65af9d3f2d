#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif
import CZlib

/// Gzip-compressed data (`.csv.gz`, recognised by its magic bytes 1F 8B), decompressed with
/// zlib into a temporary file, which is then mapped and read like any file: memory stays
/// bounded whatever the size (the text goes to disk, in `$TMPDIR`, not to memory), and the
/// parallel loader, the streaming conversion and training from disk all apply.
///
/// Concatenated gzip members (as `cat a.gz b.gz` makes) are read one after another. A
/// damaged or truncated stream is an error naming the file and the compressed byte offset.
enum GzipInput {
  /// The first two bytes of every gzip file.
  static let magic: [UInt8] = [0x1F, 0x8B]

  /// Whether the regular file at `path` starts with the gzip magic bytes.
  static func recognizes(path: String) -> Bool {
    DatasetFormats.leadingBytes(of: path, count: magic.count) == magic
  }

  /// Decompresses `path` into a new temporary file and returns its path (the caller unlinks
  /// it). `progress` gets the compressed bytes read and the compressed size.
  /// - Throws: `DatasetError` naming `path`: unreadable, a damaged stream (with its byte
  ///   offset), no room for the text, or `.cancelled`.
  static func decompressToTemporaryFile(
    path: String, shouldContinue: () -> Bool, progress: ((Int, Int) -> Void)?
  ) throws(DatasetError) -> String {
    let input = try MappedFile.dataFile(path)
    let directory = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
    var template = Array("\(directory)/softmax-gunzip-XXXXXX".utf8CString)
    let descriptor = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
    guard descriptor >= 0 else {
      throw DatasetError(file: path, reason: .unreadableFile("cannot create a temporary file in \(directory): \(String(cString: strerror(errno)))"))
    }
    let temporary = String(cString: template.withUnsafeBufferPointer { $0.baseAddress! })
    do {
      defer { close(descriptor) }
      try withExtendedLifetime(input) { () throws(DatasetError) in
        try inflate(input.bytes, from: path, into: descriptor, shouldContinue: shouldContinue, progress: progress)
      }
    } catch {
      unlink(temporary)
      throw error
    }
    return temporary
  }

  private static func inflate(
    _ bytes: UnsafeRawBufferPointer, from path: String, into descriptor: Int32,
    shouldContinue: () -> Bool, progress: ((Int, Int) -> Void)?
  ) throws(DatasetError) {
    var stream = z_stream()
    // 15 + 32: a window of 2^15 and automatic gzip/zlib header detection.
    guard inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
      throw DatasetError(file: path, reason: .unreadableFile("zlib could not start"))
    }
    defer { inflateEnd(&stream) }
    let outputSize = 1 << 20
    let output = UnsafeMutablePointer<UInt8>.allocate(capacity: outputSize)
    defer { output.deallocate() }
    let base = UnsafeMutablePointer(mutating: bytes.baseAddress!.assumingMemoryBound(to: UInt8.self))
    var offset = 0  // compressed bytes handed to zlib
    var ended = false  // the last member is complete
    while true {
      if stream.avail_in == 0 {
        guard offset < bytes.count else { break }
        guard shouldContinue() else { throw DatasetError(file: path, reason: .cancelled) }
        let chunk = min(bytes.count - offset, 1 << 20)
        stream.next_in = base + offset
        stream.avail_in = UInt32(chunk)
        offset += chunk
        progress?(offset, bytes.count)
      }
      stream.next_out = output
      stream.avail_out = UInt32(outputSize)
      let status = CZlib.inflate(&stream, Z_NO_FLUSH)
      try write(output, count: outputSize - Int(stream.avail_out), to: descriptor, path: path)
      switch status {
      case Z_STREAM_END:
        ended = true
        if stream.avail_in > 0 || offset < bytes.count {
          inflateReset(&stream)  // another member follows (`cat a.gz b.gz`)
          ended = false
        }
      case Z_OK, Z_BUF_ERROR:
        ended = false
      default:
        let position = offset - Int(stream.avail_in)
        let why = stream.msg.map { String(cString: $0) } ?? "zlib status \(status)"
        throw DatasetError(
          file: path, reason: .unreadableFile("the gzip stream is damaged at compressed byte \(position): \(why)"))
      }
    }
    guard ended else {
      throw DatasetError(
        file: path, reason: .unreadableFile("the gzip stream is truncated: it ends at byte \(bytes.count) inside a member"))
    }
  }

  private static func write(
    _ bytes: UnsafePointer<UInt8>, count: Int, to descriptor: Int32, path: String
  ) throws(DatasetError) {
    var offset = 0
    while offset < count {
      let written = systemWrite(descriptor, bytes + offset, count - offset)
      if written < 0 {
        if errno == EINTR { continue }
        throw DatasetError(file: path, reason: .unreadableFile("cannot write the decompressed text: \(String(cString: strerror(errno)))"))
      }
      offset += written
    }
  }
}

/// `write(2)` (the name `write` is this type's).
private func systemWrite(_ descriptor: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
  write(descriptor, bytes, count)
}
