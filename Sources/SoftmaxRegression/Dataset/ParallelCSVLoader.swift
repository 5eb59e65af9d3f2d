/// Loads CSV bytes on several threads: plans the chunks (`CSVChunkPlan`), parses them in
/// parallel (`CSVChunkParser`) into one preallocated matrix, then merges the chunks' labels in
/// chunk order, so the dataset is the one `CSVLoader` builds, bit for bit, whatever the
/// thread count or chunk size.
///
/// When any chunk meets an error, the file is read again by the serial `CSVLoader`, which
/// reports the first error in file order with its physical line and column; the parallel
/// pass never needs line numbers. Mapped pages a pass has finished with are released, so
/// the peak memory is about the matrix plus a few chunks in flight.
/// Cost: two reads of the bytes (planning is memory-bound, parsing compute-bound), each
/// spread over `executor.threadCount` workers.
struct ParallelCSVLoader {
  var loader: CSVLoader
  let executor: ShardedExecutor
  /// The bytes per chunk; a multiple of the page size keeps released ranges whole.
  let chunkSize: Int
  /// Drops the mapped pages of a byte range that has been read (nil for text in memory).
  var release: (@Sendable (Range<Int>) -> Void)?
  /// Called between waves of chunks with (bytes done, total bytes), and at the end.
  var progress: ((Int, Int) -> Void)?
  /// Asked between waves of chunks; false stops the load with `.cancelled`.
  var shouldContinue: (() -> Bool)? = nil
  /// Called on a worker with the rows of each chunk once they are parsed (a cache writer
  /// drops the pages it has written).
  var rowsParsed: (@Sendable (Range<Int>) -> Void)? = nil
  /// Whether the last `load` handed the file to the serial reader (tests check that valid
  /// files never need to).
  private(set) var fellBackToSerial = false

  /// The default chunk size: 4 MiB, large next to a row and small next to a large file.
  static let defaultChunkSize = 1 << 22

  mutating func load() throws(DatasetError) -> Dataset {
    let layout = try loader.readLayout()
    let bytes = loader.bytes
    let release = self.release ?? { _ in }
    let plan = CSVChunkPlan(
      bytes: bytes, bodyStart: layout.bodyStart, chunkSize: chunkSize, executor: executor,
      afterScanning: release)
    guard plan.rowCount > 0 && !plan.endsInsideQuotes,
      let dataset = try parse(plan, layout: layout, release: release)
    else {
      return try readSerially()
    }
    do {
      return try loader.schema.conform(dataset, file: loader.file)
    } catch where error.reason.isUnknownClass {
      return try readSerially()  // which names the line of the first unknown class
    }
  }

  /// The serial reader's verdict: its first error, or (were the plan ever wrong about a
  /// valid file) its dataset.
  private mutating func readSerially() throws(DatasetError) -> Dataset {
    fellBackToSerial = true
    loader.progress = progress
    loader.shouldContinue = shouldContinue
    return try loader.load()
  }

  private func parse(
    _ plan: CSVChunkPlan, layout: CSVLoader.Layout, release: @Sendable (Range<Int>) -> Void
  ) throws(DatasetError) -> Dataset? {
    let matrix: FeatureMatrix
    do {
      matrix = try FeatureMatrix(
        uninitializedRowCount: plan.rowCount, featureCount: layout.featureNames.count)
    } catch {
      throw error.located(in: loader.file)
    }
    let readsLabels = layout.roles.contains(.label)
    let readsWeights = layout.roles.contains(.weight)
    let dropsRows = loader.schema.missing == .drop
    let labelBuffer = UnsafeMutableBufferPointer<Int32>.allocate(capacity: max(1, plan.rowCount))
    let weightBuffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(1, plan.rowCount))
    let droppedBuffer = UnsafeMutableBufferPointer<Bool>.allocate(capacity: dropsRows ? plan.rowCount : 1)
    defer {
      labelBuffer.deallocate()
      weightBuffer.deallocate()
      droppedBuffer.deallocate()
    }
    guard
      let parsed = try parseRows(
        plan, layout: layout, matrix: matrix, labels: labelBuffer.baseAddress!,
        weights: weightBuffer.baseAddress!, dropped: dropsRows ? droppedBuffer.baseAddress! : nil,
        release: release)
    else { return nil }
    return try loader.makeDataset(
      RawRows(
        matrix: matrix, labels: readsLabels ? Array(labelBuffer.prefix(plan.rowCount)) : [],
        labelNames: parsed.labelNames,
        weights: readsWeights ? Array(weightBuffer.prefix(plan.rowCount)) : nil,
        dropped: dropsRows ? Array(droppedBuffer.prefix(plan.rowCount)) : [], chunks: parsed.chunks),
      layout: layout, executor: executor)
  }

  /// Parses the planned rows into `matrix` and the label, weight and drop buffers (one entry
  /// per row each, where the layout reads them), wherever they live: allocated memory, or a
  /// cache file being written. Returns the label names in order of first appearance, the
  /// labels rewritten as indices into them, and each chunk's rows with the codes of its text
  /// cells; nil when a chunk failed (the caller then takes the serial reader's verdict).
  func parseRows(
    _ plan: CSVChunkPlan, layout: CSVLoader.Layout, matrix: FeatureMatrix,
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
    guard try parseChunks(plan, target: target, outcomes: UnsafeSendableBuffer(outcomes), release: release)
    else { return nil }
    let chunks = plan.chunks.indices.map { index in
      RawRows.Chunk(
        rows: plan.chunks[index].firstRow..<plan.chunks[index].firstRow + plan.chunks[index].rowCount,
        codes: outcomes[index]!)
    }
    guard layout.roles.contains(.label) else { return ([], chunks) }
    return (mergeLabels(chunks, into: labels), chunks)
  }

  /// Parses every chunk, in waves between which progress is reported; true if all succeeded.
  private func parseChunks(
    _ plan: CSVChunkPlan, target: CSVChunkParser.Target,
    outcomes: UnsafeSendableBuffer<TextCodes?>, release: @Sendable (Range<Int>) -> Void
  ) throws(DatasetError) -> Bool {
    let chunks = plan.chunks
    let totalBytes = loader.bytes.count
    let waveSize =
      progress == nil && shouldContinue == nil ? chunks.count : max(4 * executor.threadCount, 8)
    let rowsParsed = self.rowsParsed
    var waveStart = 0
    while waveStart < chunks.count {
      let wave = waveStart..<min(chunks.count, waveStart + waveSize)
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
