/// Parses one CSV text on several threads along a `CSVChunkPlan`: the chunks in parallel
/// (`CSVChunkParser`) into one preallocated matrix, then the chunks' labels merged in chunk
/// order, so the rows are those `CSVLoader` reads, bit for bit, whatever the thread count or
/// chunk size. `CSVParts` drives it, part after part, and hands any failure to the serial
/// reader, which reports the first error with its line and column; this pass never needs
/// line numbers. Mapped pages a pass has finished with are released, so the peak memory is
/// about the matrix plus a few chunks in flight.
struct ParallelCSVLoader {
  var loader: CSVLoader
  let executor: ShardedExecutor
  /// The bytes per chunk; a multiple of the page size keeps released ranges whole.
  let chunkSize: Int
  /// Called between waves of chunks with (bytes done, total bytes), and at the end.
  var progress: ((Int, Int) -> Void)? = nil
  /// Asked between waves of chunks; false stops the load with `.cancelled`.
  var shouldContinue: (() -> Bool)? = nil
  /// Called on a worker with the rows of each chunk once they are parsed (a cache writer
  /// drops the pages it has written).
  var rowsParsed: (@Sendable (Range<Int>) -> Void)? = nil

  /// The default chunk size: 4 MiB, large next to a row and small next to a large file.
  static let defaultChunkSize = 1 << 22

  /// Parses the planned rows into `matrix` and the label, weight and drop buffers (one entry
  /// per row each, where the layout reads them), wherever they live: allocated memory, or a
  /// cache file being written. Returns the label names in order of first appearance, the
  /// labels rewritten as indices into them, and each chunk's rows with the codes of its text
  /// cells; nil when a chunk failed (the caller then takes the serial reader's verdict).
  /// Only the chunks `owned` are read (all by default): the names and codes are theirs.
  func parseRows(
    _ plan: CSVChunkPlan, owned: Range<Int>? = nil, layout: CSVLoader.Layout, matrix: FeatureMatrix,
    labels: UnsafeMutablePointer<Int32>, weights: UnsafeMutablePointer<Float>,
    dropped: UnsafeMutablePointer<Bool>? = nil, release: @Sendable (Range<Int>) -> Void
  ) throws(DatasetError) -> (labelNames: [String], chunks: [RawRows.Chunk])? {
    let outcomes = UnsafeMutableBufferPointer<TextCodes?>.allocate(capacity: plan.chunks.count)
    outcomes.initialize(repeating: nil)
    let encodingValues = UnsafeMutableBufferPointer<Double>.allocate(capacity: max(1, 2 * matrix.featureCount))
    _ = encodingValues.initialize(from: layout.encoding.offset + layout.encoding.scale)
    defer {
      encodingValues.deallocate()
      outcomes.deinitialize()
      outcomes.deallocate()
    }
    let target = CSVChunkParser.Target(
      bytes: loader.bytes, loader: loader, layout: layout, matrix: matrix, labels: labels,
      weights: weights, dropped: dropped, encodingValues: UnsafePointer(encodingValues.baseAddress!),
      checksStoredValues: layout.encoding.mayOverflow(magnitudeUpTo: DecimalParser.fieldMagnitudeLimit))
    let owned = owned ?? plan.chunks.indices
    guard
      try parseChunks(plan, owned: owned, target: target, outcomes: UnsafeSendableBuffer(outcomes), release: release)
    else { return nil }
    let chunks = owned.map { index in
      RawRows.Chunk(
        rows: plan.chunks[index].firstRow..<plan.chunks[index].firstRow + plan.chunks[index].rowCount,
        codes: outcomes[index]!)
    }
    guard layout.roles.contains(.label) else { return ([], chunks) }
    return (mergeLabels(chunks, into: labels), chunks)
  }

  /// Parses every chunk, in waves between which progress is reported; true if all succeeded.
  private func parseChunks(
    _ plan: CSVChunkPlan, owned: Range<Int>, target: CSVChunkParser.Target,
    outcomes: UnsafeSendableBuffer<TextCodes?>, release: @Sendable (Range<Int>) -> Void
  ) throws(DatasetError) -> Bool {
    let chunks = plan.chunks
    let totalBytes = loader.bytes.count
    let waveSize =
      progress == nil && shouldContinue == nil ? chunks.count : max(4 * executor.threadCount, 8)
    let rowsParsed = self.rowsParsed
    var waveStart = owned.lowerBound
    while waveStart < owned.upperBound {
      let wave = waveStart..<min(owned.upperBound, waveStart + waveSize)
      executor.forEachShard(wave.count) { offset in
        let index = wave.lowerBound + offset
        var parser = CSVChunkParser(target: target)
        let nextRowsStart = index + 1 < chunks.count ? chunks[index + 1].rowsStart : totalBytes
        let parsed = parser.parse(chunks[index], nextRowsStart: nextRowsStart)
        outcomes.buffer[index] = parsed ? parser.codes : nil
        release(chunks[index].bytes)
        rowsParsed?(chunks[index].firstRow..<chunks[index].firstRow + chunks[index].rowCount)
      }
      guard wave.allSatisfy({ outcomes.buffer[$0] != nil }) else { return false }
      progress?(chunks[wave.upperBound - 1].bytes.upperBound, totalBytes)
      if let shouldContinue, !shouldContinue() { throw DatasetError(file: loader.file, reason: .cancelled) }
      waveStart = wave.upperBound
    }
    return true
  }

  /// Rewrites chunk-local label indices as indices into the returned names, which are in
  /// order of first appearance in the file (as the serial reader interns them).
  private func mergeLabels(_ chunks: [RawRows.Chunk], into labels: UnsafeMutablePointer<Int32>) -> [String] {
    var interner = LabelInterner()
    for chunk in chunks {
      let global = chunk.codes.labels.names.map { interner.index(of: $0) }
      if global.indices.allSatisfy({ global[$0] == Int32($0) }) { continue }
      for row in chunk.rows { labels[row] = global[Int(labels[row])] }
    }
    return interner.names
  }
}
