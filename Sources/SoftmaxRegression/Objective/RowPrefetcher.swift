import CPrefetch

/// Prefetches the rows of the kernel's next 8-row tile, one cache line per `step()`, so that
/// reading them from memory overlaps the current tile's arithmetic.
///
/// Without it the first pass over each row (the logits) waited on memory: in a logits-only
/// probe at D = 784, 42 ms per pass was 20 ms of pure reading plus 22 ms of pure arithmetic,
/// not the larger of the two. Prefetching a whole tile in one burst did not help (the miss
/// buffers fill and the core stalls); prefetches spread evenly over the tile's logit
/// iterations did (−14% at D = 784, −23% at D = 104 in that probe; −11% and −6% per epoch in
/// the kernel). Cost per `step()`: a compare and a decrement, and once per `pace` steps one
/// prefetch instruction and a few integer operations.
struct RowPrefetcher {
  private let features: UnsafePointer<Float>
  private let rowStride: Int
  /// Cache lines per row, one more than its length needs, as rows need not start on a line.
  private let linesPerRow: Int
  /// The rows of the next tile; only the first `rowCount` are used.
  private let rows: SIMD8<Int32>
  private let rowCount: Int
  /// Calls of `step()` per prefetch.
  private let pace: Int
  private var stepsUntilNext = 1
  private var rowIndex = 0
  private var linesLeftInRow = 0
  private var nextLine: UnsafeRawPointer

  /// A prefetcher for `rows[0..<rowCount]` of `features` (row-major, `rowStride` floats)
  /// that requests a line every `pace` calls of `step()` (see `pace(rowStride:steps:)`).
  init(features: UnsafePointer<Float>, rowStride: Int, rows: SIMD8<Int32>, rowCount: Int, pace: Int) {
    self.features = features
    self.rowStride = rowStride
    self.linesPerRow = Self.linesPerRow(rowStride: rowStride)
    self.rows = rows
    self.rowCount = rowCount
    self.pace = max(1, pace)
    nextLine = UnsafeRawPointer(features)
    if rowCount > 0 { startRow(0) }
  }

  /// The pace that spreads a full tile's lines (8 rows) evenly over `steps` calls.
  static func pace(rowStride: Int, steps: Int) -> Int {
    max(1, steps / (8 * linesPerRow(rowStride: rowStride)))
  }

  private static func linesPerRow(rowStride: Int) -> Int {
    (rowStride * MemoryLayout<Float>.stride + 63) / 64 + 1
  }

  /// Requests the next cache line when its turn has come; returns the address requested,
  /// or nil (not this step, or no lines left).
  @inline(__always) @discardableResult
  mutating func step() -> UnsafeRawPointer? {
    // Wrapping arithmetic: the counters stay within 0...max(pace, linesPerRow, 8).
    guard rowIndex < rowCount else { return nil }
    stepsUntilNext &-= 1
    guard stepsUntilNext == 0 else { return nil }
    stepsUntilNext = pace
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

  private mutating func startRow(_ index: Int) {
    nextLine = UnsafeRawPointer(features + Int(rows[index]) * rowStride)
    linesLeftInRow = linesPerRow
  }
}
