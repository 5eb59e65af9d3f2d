/// How the data rows of a CSV file are divided into chunks that parse independently.
///
/// The body (the bytes after the header row) is cut at fixed byte offsets, the multiples of
/// `chunkSize`. A cut may fall anywhere, also inside a quoted field, so each chunk is first
/// scanned, in parallel, under both assumptions about the quote state at its start: it counts
/// the row ends (line breaks outside quotes that close a non-empty line) it would have either
/// way and notes where the last one lies. The parity of its quotes tells the next chunk's state,
/// so one ordered sweep over the chunks fixes the real state at every cut (`""` escapes flip the
/// state twice and cancel). A chunk then owns the rows that end inside it: they start just past
/// the last row end of an earlier chunk and number exactly `rowCount`.
///
/// The plan is exact for well-formed RFC 4180 text. For malformed text the plan may be wrong
/// after the first fault, but the chunk whose rows contain that fault starts at a true row
/// start and meets it, so parsing fails and the caller falls back to the serial reader.
/// Cost: one read of the body, spread over the workers; memory O(chunks).
struct CSVChunkPlan {
  /// One chunk's share of the rows.
  struct Chunk {
    /// The byte range the cut gave this chunk.
    var bytes: Range<Int>
    /// Where its first row starts (at or before `bytes.lowerBound`), or the end of the body.
    var rowsStart: Int
    /// The number of rows it owns.
    var rowCount: Int
    /// The index of its first row in the whole file.
    var firstRow: Int
  }

  /// The chunks in file order.
  let chunks: [Chunk]
  /// The number of data rows in the file.
  let rowCount: Int
  /// Whether a quoted field is still open at the end of the file (a syntax error).
  let endsInsideQuotes: Bool

  /// Row ends and quote parity of one chunk under both start states (index 0: outside quotes).
  struct Scan {
    var rowEnds: (Int, Int) = (0, 0)
    /// The offset of the line break that ends the chunk's last row, or -1.
    var lastRowEnd: (Int, Int) = (-1, -1)
    var oddQuotes = false
  }

  /// Plans the chunks of `bytes[bodyStart...]`, scanning them with `executor`.
  init(
    bytes: UnsafeRawBufferPointer, bodyStart: Int, chunkSize: Int, executor: ShardedExecutor,
    afterScanning: @Sendable (Range<Int>) -> Void = { _ in }
  ) {
    let ranges = Self.cut(bodyStart..<bytes.count, chunkSize: chunkSize)
    let scans = Self.scan(ranges, of: bytes, bodyStart: bodyStart, executor: executor, afterScanning: afterScanning)
    self.init(bytes: bytes, bodyStart: bodyStart, ranges: ranges, scans: scans)
  }

  /// Scans `ranges` of `bytes` on `executor` (`scan(_:_:bodyStart:)`), in parallel.
  static func scan(
    _ ranges: [Range<Int>], of bytes: UnsafeRawBufferPointer, bodyStart: Int, executor: ShardedExecutor,
    afterScanning: @Sendable (Range<Int>) -> Void = { _ in }
  ) -> [Scan] {
    let scans = UnsafeMutableBufferPointer<Scan>.allocate(capacity: max(1, ranges.count))
    defer { scans.deallocate() }
    scans.initialize(repeating: Scan())
    let shared = SharedScans(bytes: bytes, scans: scans)
    executor.forEachShard(ranges.count) { index in
      shared.scans[index] = Self.scan(shared.bytes, ranges[index], bodyStart: bodyStart)
      afterScanning(ranges[index])
    }
    return Array(scans.prefix(ranges.count))
  }

  /// The plan of the chunks `ranges` (`cut(_:chunkSize:)` of the body) from their `scans`,
  /// fixing the quote state at every cut in one ordered sweep.
  init(bytes: UnsafeRawBufferPointer, bodyStart: Int, ranges: [Range<Int>], scans: [Scan]) {
    var chunks: [Chunk] = []
    chunks.reserveCapacity(ranges.count)
    var insideQuotes = false
    var rowsStart = bodyStart
    var rowCount = 0
    for (index, range) in ranges.enumerated() {
      let scan = scans[index]
      var owned = insideQuotes ? scan.rowEnds.1 : scan.rowEnds.0
      let lastEnd = insideQuotes ? scan.lastRowEnd.1 : scan.lastRowEnd.0
      insideQuotes = insideQuotes != scan.oddQuotes
      if index == ranges.count - 1 && !insideQuotes && Self.hasUnterminatedLastRow(bytes, bodyStart) {
        owned += 1
      }
      chunks.append(Chunk(bytes: range, rowsStart: rowsStart, rowCount: owned, firstRow: rowCount))
      rowCount += owned
      if lastEnd >= 0 { rowsStart = lastEnd + 1 }
    }
    self.chunks = chunks
    self.rowCount = rowCount
    self.endsInsideQuotes = insideQuotes
  }

  /// The rows (numbered in the file) of the consecutive chunks `chunks`.
  func rows(of chunks: Range<Int>) -> Range<Int> {
    guard !chunks.isEmpty else { return 0..<0 }
    let last = self.chunks[chunks.upperBound - 1]
    return self.chunks[chunks.lowerBound].firstRow..<last.firstRow + last.rowCount
  }

  /// The body cut at the multiples of `chunkSize` (file offsets, so cuts fall on page
  /// boundaries when `chunkSize` is a multiple of the page size).
  static func cut(_ body: Range<Int>, chunkSize: Int) -> [Range<Int>] {
    guard !body.isEmpty else { return [body] }
    var ranges: [Range<Int>] = []
    var start = body.lowerBound
    while start < body.upperBound {
      let end = min(body.upperBound, (start / chunkSize + 1) * chunkSize)
      ranges.append(start..<end)
      start = end
    }
    return ranges
  }

  /// Whether the file's last line is a row without a line break after it.
  private static func hasUnterminatedLastRow(_ bytes: UnsafeRawBufferPointer, _ bodyStart: Int)
    -> Bool
  {
    guard bytes.count > bodyStart else { return false }
    return !isLineBreak(bytes[bytes.count - 1])
  }

  @inline(__always)
  static func isLineBreak(_ byte: UInt8) -> Bool {
    byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r")
  }

  /// Counts the row ends in `range` under both start states. A row end is a line break whose
  /// previous byte is not a line break (that would make an empty line, or the LF of a CRLF).
  /// Blocks of 32 bytes without a quote are counted with SIMD.
  static func scan(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, bodyStart: Int) -> Scan {
    var scan = Scan()
    var parity = 0
    var position = range.lowerBound
    if position == 0 && !range.isEmpty {
      // The file's first byte (a file without header or BOM): a line break there ends no
      // row (the line before it is empty), so only a quote counts.
      if bytes[0] == UInt8(ascii: "\"") { parity = 1 }
      position = 1
    }
    while position + 32 <= range.upperBound {
      let block = load(bytes, position)
      let breaks = Self.breaks(block)
      let quotes = zeroBytes(block ^ Self.quotes)
      if !isZero(breaks | quotes) {
        if !isZero(quotes) {
          scanScalar(bytes, position..<position + 32, &scan, &parity)
        } else {
          let ends = breaks & ~Self.breaks(load(bytes, position - 1))
          let count =
            ends[0].nonzeroBitCount + ends[1].nonzeroBitCount + ends[2].nonzeroBitCount
            + ends[3].nonzeroBitCount
          if count > 0 {
            scan.add(count, parity: parity, last: lastRowEnd(bytes, position..<position + 32))
          }
        }
      }
      position += 32
    }
    scanScalar(bytes, position..<range.upperBound, &scan, &parity)
    scan.oddQuotes = parity == 1
    return scan
  }

  // Blocks of 32 bytes are tested as four 64-bit words in vector registers, with the
  // exact zero-byte test of SWAR code: plain integer arithmetic compiles to single AVX2
  // instructions, where SIMD comparison masks were compiled lane by lane.
  // (Computed properties: static stored constants cost a `swift_once` check per use.)
  private static var lineFeeds: SIMD4<UInt64> { SIMD4(repeating: 0x0A0A_0A0A_0A0A_0A0A) }
  private static var carriageReturns: SIMD4<UInt64> { SIMD4(repeating: 0x0D0D_0D0D_0D0D_0D0D) }
  private static var quotes: SIMD4<UInt64> { SIMD4(repeating: 0x2222_2222_2222_2222) }
  private static var lowSevenBits: SIMD4<UInt64> { SIMD4(repeating: 0x7F7F_7F7F_7F7F_7F7F) }

  @inline(__always)
  private static func load(_ bytes: UnsafeRawBufferPointer, _ offset: Int) -> SIMD4<UInt64> {
    bytes.loadUnaligned(fromByteOffset: offset, as: SIMD4<UInt64>.self)
  }

  /// 0x80 in each byte that is zero, 0 elsewhere (exact: no carries cross bytes).
  @inline(__always)
  private static func zeroBytes(_ words: SIMD4<UInt64>) -> SIMD4<UInt64> {
    let low = (words & lowSevenBits) &+ lowSevenBits
    return ~(low | words | lowSevenBits)
  }

  /// 0x80 in each byte that is LF or CR.
  @inline(__always)
  private static func breaks(_ words: SIMD4<UInt64>) -> SIMD4<UInt64> {
    zeroBytes(words ^ lineFeeds) | zeroBytes(words ^ carriageReturns)
  }

  @inline(__always)
  private static func isZero(_ words: SIMD4<UInt64>) -> Bool {
    (words[0] | words[1] | words[2] | words[3]) == 0
  }

  private static func scanScalar(
    _ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, _ scan: inout Scan, _ parity: inout Int
  ) {
    for position in range {
      let byte = bytes[position]
      if byte == UInt8(ascii: "\"") {
        parity ^= 1
      } else if isLineBreak(byte) && !isLineBreak(bytes[position - 1]) {
        scan.add(1, parity: parity, last: position)
      }
    }
  }

  private static func lastRowEnd(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> Int {
    var position = range.upperBound - 1
    while !(isLineBreak(bytes[position]) && !isLineBreak(bytes[position - 1])) { position -= 1 }
    return position
  }
}

extension CSVChunkPlan.Scan {
  /// The scan as five numbers, to send to other processes.
  var values: [Double] {
    [rowEnds.0, rowEnds.1, lastRowEnd.0, lastRowEnd.1, oddQuotes ? 1 : 0].map(Double.init)
  }

  /// The scan `values` describe.
  init(values: ArraySlice<Double>) {
    let numbers = values.map { Int($0) }
    self.init(
      rowEnds: (numbers[0], numbers[1]), lastRowEnd: (numbers[2], numbers[3]), oddQuotes: numbers[4] != 0)
  }

  fileprivate mutating func add(_ count: Int, parity: Int, last: Int) {
    if parity == 0 {
      rowEnds.0 += count
      lastRowEnd.0 = last
    } else {
      rowEnds.1 += count
      lastRowEnd.1 = last
    }
  }
}

/// The scanned bytes and per-chunk results, shared with the workers; each worker writes only
/// its own chunk's slot.
private struct SharedScans: @unchecked Sendable {
  let bytes: UnsafeRawBufferPointer
  let scans: UnsafeMutableBufferPointer<CSVChunkPlan.Scan>
}
