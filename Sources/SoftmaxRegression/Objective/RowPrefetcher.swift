import CPrefetch

/// Prefetches the rows of the kernel's next 8-row tile, one cache line per request, so that
/// reading them from memory overlaps the current tile's arithmetic.
///
/// The kernel's inner loops run in segments of `iterationsPerLine` iterations (8 floats
/// each) and request one line at the start of each segment, over the logit and the gradient
/// loops of the whole tile, so the requests are spread evenly and a tile's loops request
/// every line of the next tile's rows.
///
/// Why spread, and why over the whole tile: without prefetching, the first pass over each
/// row (the logits) waited on memory (in a logits-only probe at D = 784, 42 ms per pass was
/// 20 ms of pure reading plus 22 ms of pure arithmetic, not the larger of the two).
/// Prefetching a tile in one burst did not help: the core's miss buffers fill and it stalls.
/// Requests spread over the logit loops only helped (−11% per epoch at D = 784), but at
/// that rate about 20 lines were in flight, close to the 24 L1 miss buffers the weight loads
/// also need; spread over the logit and gradient loops (half the rate), an epoch at D = 784
/// took another 4% less. Cost per segment: a compare, and while lines are left one prefetch
/// instruction and a few integer operations.
struct RowPrefetcher {
  private let features: UnsafePointer<Float>
  private let rowStride: Int
  /// The rows of the next tile; only the first `rowCount` are used.
  private let rows: SIMD8<Int32>
  private let rowCount: Int
  private var rowIndex = 0
  private var linesLeftInRow = 0
  private var nextLine: UnsafeRawPointer

  /// A prefetcher for `rows[0..<rowCount]` of `features` (row-major, `rowStride` floats).
  init(features: UnsafePointer<Float>, rowStride: Int, rows: SIMD8<Int32>, rowCount: Int) {
    self.features = features
    self.rowStride = rowStride
    self.rows = rows
    self.rowCount = rowCount
    nextLine = UnsafeRawPointer(features)
    if rowCount > 0 { startRow(0) }
  }

  /// The segment length, in loop iterations, that spreads a full tile's lines (8 rows of
  /// `features`) evenly over `iterations` loop iterations: `iterations` / lines, at least 1.
  /// Loops of `n` iterations cut into segments of this length request ⌈n / length⌉ lines,
  /// so loops totalling `iterations` request every line when there are no more lines than
  /// iterations.
  static func iterationsPerLine(features: UnsafePointer<Float>, rowStride: Int, iterations: Int) -> Int {
    max(1, iterations / (8 * maximumLinesPerRow(features: features, rowStride: rowStride)))
  }

  /// The most cache lines a row can span: its length in lines when every row starts on a
  /// line (64-byte aligned storage, rows a multiple of 64 bytes), else one more.
  static func maximumLinesPerRow(features: UnsafePointer<Float>, rowStride: Int) -> Int {
    let rowBytes = rowStride * MemoryLayout<Float>.stride
    let rowsStartOnLines = UInt(bitPattern: features) % 64 == 0 && rowBytes % 64 == 0
    return (rowBytes + 63) / 64 + (rowsStartOnLines ? 0 : 1)
  }

  /// Requests the next cache line, if any is left; returns its address (nil when none is).
  @inline(__always) @discardableResult
  mutating func requestNextLine() -> UnsafeRawPointer? {
    // Wrapping arithmetic: the counters stay within 0...max(lines per row, 8).
    guard rowIndex < rowCount else { return nil }
    let line = nextLine
    softmax_prefetch_for_reading(line)
    nextLine += 64
    linesLeftInRow &-= 1
    if linesLeftInRow == 0 {
      rowIndex &+= 1
      if rowIndex < rowCount { startRow(rowIndex) }
    }
    return line
  }

  /// Points at the first line of row `rows[index]` and counts the lines it spans. Inlined:
  /// as a call inside the kernel's loops it made the loops spill their accumulators.
  @inline(__always)
  private mutating func startRow(_ index: Int) {
    let start = UnsafeRawPointer(features + Int(rows[index]) * rowStride)
    let offsetInLine = Int(UInt(bitPattern: start) % 64)
    nextLine = start - offsetInLine
    linesLeftInRow = (offsetInLine + rowStride * MemoryLayout<Float>.stride + 63) / 64
  }
}
