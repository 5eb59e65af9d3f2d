import Testing
@testable import SoftmaxRegression

@Suite("Row prefetcher")
struct RowPrefetcherTests {
  /// The addresses `steps` calls of `step()` request.
  func requests(_ prefetcher: inout RowPrefetcher, steps: Int) -> [UnsafeRawPointer] {
    (0..<steps).compactMap { _ in prefetcher.step() }
  }

  @Test("requests every cache line of the next tile's rows, only those, spread over the steps",
        arguments: [(104, 8, 130), (784, 8, 980), (16, 3, 40), (8, 8, 2)])
  func coversTheRows(rowStride: Int, rowCount: Int, steps: Int) {
    let rowTotal = 40
    let features = UnsafeMutablePointer<Float>.allocate(capacity: rowTotal * rowStride)
    defer { features.deallocate() }
    // Rows out of order and far apart, as with a shuffled mini-batch.
    var rows = SIMD8<Int32>(repeating: -1)
    for index in 0..<rowCount { rows[index] = Int32((index * 13 + 5) % rowTotal) }
    let pace = RowPrefetcher.pace(rowStride: rowStride, steps: steps * 8 / rowCount)
    var prefetcher = RowPrefetcher(
      features: features, rowStride: rowStride, rows: rows, rowCount: rowCount, pace: pace)
    let requested = requests(&prefetcher, steps: steps + 1000)
    let lineOf = { (address: UnsafeRawPointer) in UInt(bitPattern: address) / 64 }
    let requestedLines = Set(requested.map(lineOf))
    var rowLines = Set<UInt>()
    for index in 0..<rowCount {
      let start = UnsafeRawPointer(features + Int(rows[index]) * rowStride)
      for byte in stride(from: 0, to: rowStride * 4, by: 4) { rowLines.insert(lineOf(start + byte)) }
    }
    #expect(rowLines.isSubset(of: requestedLines), "every line of every row")
    // At most one line past the end of each row (rows need not start on a line).
    #expect(requestedLines.subtracting(rowLines).count <= rowCount)
    // Spread: the last request comes within the given steps when they suffice, and requests
    // are evenly spaced.
    var replay = RowPrefetcher(
      features: features, rowStride: rowStride, rows: rows, rowCount: rowCount, pace: pace)
    var stepsUsed = 0
    for step in 1...(steps + 1000) where replay.step() != nil { stepsUsed = step }
    #expect(stepsUsed <= max(steps, requested.count))
    #expect(stepsUsed * 2 > min(steps, 1000), "not all at the start")
  }

  @Test("a tile without rows requests nothing")
  func emptyTile() {
    let features = UnsafeMutablePointer<Float>.allocate(capacity: 8)
    defer { features.deallocate() }
    var prefetcher = RowPrefetcher(features: features, rowStride: 8, rows: SIMD8(), rowCount: 0, pace: 1)
    #expect(requests(&prefetcher, steps: 100).isEmpty)
  }
}
