import Testing
@testable import SoftmaxRegression

@Suite("Row prefetcher")
struct RowPrefetcherTests {
  /// Every address `requestNextLine()` gives until it gives nil (at most `limit`).
  func allRequests(_ prefetcher: inout RowPrefetcher, limit: Int = 100_000) -> [UnsafeRawPointer] {
    var requested: [UnsafeRawPointer] = []
    while requested.count < limit, let line = prefetcher.requestNextLine() { requested.append(line) }
    return requested
  }

  /// Rows out of order and far apart, as with a shuffled mini-batch.
  func scatteredRows(_ rowCount: Int, of rowTotal: Int) -> SIMD8<Int32> {
    var rows = SIMD8<Int32>(repeating: -1)
    for index in 0..<rowCount { rows[index] = Int32((index * 13 + 5) % rowTotal) }
    return rows
  }

  @Test("requests each cache line of the next tile's rows once, and no other line",
        arguments: [(104, 8), (784, 8), (16, 3), (8, 8), (12, 5), (100, 1)])
  func coversTheRows(rowStride: Int, rowCount: Int) {
    let rowTotal = 40
    // One float in: rows start off cache lines, as with storage that is not line-aligned.
    for misalignment in [0, 1] {
      let storage = UnsafeMutablePointer<Float>.allocate(capacity: rowTotal * rowStride + 16)
      defer { storage.deallocate() }
      let aligned = storage + (16 - Int(UInt(bitPattern: storage) % 64) / 4) % 16
      let features = UnsafePointer(aligned + misalignment)
      let rows = scatteredRows(rowCount, of: rowTotal)
      var prefetcher = RowPrefetcher(features: features, rowStride: rowStride, rows: rows, rowCount: rowCount)
      let requested = allRequests(&prefetcher)
      let lineOf = { (address: UnsafeRawPointer) in UInt(bitPattern: address) / 64 }
      var rowLines = Set<UInt>()
      var linesSpannedByRows = 0
      for index in 0..<rowCount {
        let start = UnsafeRawPointer(features + Int(rows[index]) * rowStride)
        let lines = Set(stride(from: 0, to: rowStride * 4, by: 4).map { lineOf(start + $0) })
        rowLines.formUnion(lines)
        linesSpannedByRows += lines.count
      }
      #expect(requested.allSatisfy { UInt(bitPattern: $0) % 64 == 0 }, "line addresses")
      #expect(Set(requested.map(lineOf)) == rowLines, "exactly the rows' lines")
      // Neighbouring rows may share a line; within a row, each line is requested once.
      #expect(requested.count == linesSpannedByRows, "no line twice for one row")
      let bound = RowPrefetcher.maximumLinesPerRow(features: features, rowStride: rowStride)
      #expect(requested.count <= rowCount * bound, "the bound on lines per row holds")
    }
  }

  /// The kernel's loops for one tile (`GradientKernel.accumulate`): 2 quads × 2 passes
  /// (logits, gradient) × ⌈K/2⌉ class loops of rowStride/8 iterations, each cut into
  /// segments with one request at the start of each.
  /// Returns, per request that gave a line, the index of its segment, and the segment count.
  func simulateTile(rowStride: Int, classCount: Int, prefetcher: inout RowPrefetcher, segment: Int)
    -> (requestSegments: [Int], segmentCount: Int)
  {
    let loops = 4 * ((classCount + 1) / 2)
    let iterations = rowStride / 8
    var segmentIndex = 0
    var requestSegments: [Int] = []
    for _ in 0..<loops {
      var iteration = 0
      while iteration < iterations {
        if prefetcher.requestNextLine() != nil { requestSegments.append(segmentIndex) }
        segmentIndex += 1
        iteration = min(iterations, iteration + segment)
      }
    }
    return (requestSegments, segmentIndex)
  }

  @Test("the kernel's segments request every line of the next tile, spread over the tile",
        arguments: [(104, 10), (784, 10), (784, 2), (16, 3), (8, 2), (24, 2), (2048, 3), (104, 50)])
  func spreadOverTheTile(rowStride: Int, classCount: Int) {
    let rowTotal = 40
    let features = UnsafeMutableRawPointer.allocate(byteCount: rowTotal * rowStride * 4, alignment: 64)
      .bindMemory(to: Float.self, capacity: rowTotal * rowStride)
    defer { features.deallocate() }
    let rows = scatteredRows(8, of: rowTotal)
    let iterations = 4 * ((classCount + 1) / 2) * (rowStride / 8)
    let labels = [Int32](repeating: 0, count: rowTotal)
    let weights = [Float](repeating: 0, count: classCount * rowStride + classCount)
    let segment = labels.withUnsafeBufferPointer { labels in
      weights.withUnsafeBufferPointer { weights in
        GradientKernel(
          features: features, rowStride: rowStride, labels: labels.baseAddress!, classCount: classCount,
          weights: weights.baseAddress!, bias: weights.baseAddress! + classCount * rowStride
        ).prefetchSegmentIterations
      }
    }
    var prefetcher = RowPrefetcher(features: features, rowStride: rowStride, rows: rows, rowCount: 8)
    let (requestSegments, segmentCount) = simulateTile(
      rowStride: rowStride, classCount: classCount, prefetcher: &prefetcher, segment: segment)
    let lineBound = 8 * RowPrefetcher.maximumLinesPerRow(features: features, rowStride: rowStride)
    if iterations >= lineBound {
      #expect(prefetcher.requestNextLine() == nil, "every line requested within the tile")
    } else {
      // Fewer iterations than lines (tiny rows, few classes): a line in every segment.
      #expect(requestSegments.count == segmentCount)
    }
    // Spread: the last request comes in the second half of the tile's segments, and no
    // segment asks for more than one line.
    let last = requestSegments.last ?? 0
    #expect(2 * last >= segmentCount - 2, "not all at the start: \(last) of \(segmentCount)")
    #expect(Set(requestSegments).count == requestSegments.count)
  }

  @Test("a tile without rows requests nothing")
  func emptyTile() {
    let features = UnsafeMutablePointer<Float>.allocate(capacity: 8)
    defer { features.deallocate() }
    var prefetcher = RowPrefetcher(features: features, rowStride: 8, rows: SIMD8(), rowCount: 0)
    #expect(allRequests(&prefetcher).isEmpty)
  }
}
