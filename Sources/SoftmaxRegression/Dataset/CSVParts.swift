#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// One or more CSV texts read as one dataset: the rows of each in the order given, as a file
/// holding them all under one header would load. Every part must have the same header; the
/// columns' kinds and the stored encoding come from the first
/// `ColumnEncoding.sampleRowCount` rows across the parts, categorical levels and missing-value
/// fills from all rows, classes from all labels. Errors name the part and its own line.
///
/// Each part is planned (`CSVChunkPlan`) when the reader is made, then parsed on all
/// threads (`ParallelCSVLoader`) straight into one matrix at its rows' place (a matrix in
/// memory, or a cache file being written), part after part. When a part cannot be planned or
/// a chunk fails, the parts are read again by the serial `CSVLoader`, which reports the first
/// error in part order with its line and column. One text is the common case
/// (`Dataset(csvAt:)`, a stream, text in memory). Memory: the matrix and 9 bytes a row for
/// labels, weights and drops, plus the chunks in flight.
struct CSVParts {
  /// A text to read: its bytes, the name its errors give, and how to drop the pages read.
  struct Source {
    var bytes: UnsafeRawBufferPointer
    var file: String
    var release: @Sendable (Range<Int>) -> Void = { _ in }
  }

  struct Part {
    var loader: CSVLoader
    var layout: CSVLoader.Layout
    var plan: CSVChunkPlan
    var release: @Sendable (Range<Int>) -> Void
    /// The index of its first row among all parts' rows.
    var firstRow: Int
    /// The index of its first chunk among all parts' chunks.
    var firstChunk: Int
    /// The bytes of the parts before it (for progress).
    var bytesBefore: Int
  }

  let schema: Dataset.Schema
  let executor: ShardedExecutor
  let chunkSize: Int
  /// The processes that read the parts in shares (`load()`); one by default.
  let processes: any ProcessGroup
  /// The chunks, numbered over all parts, whose rows this process reads: all of them in
  /// one process.
  let ownedChunks: Range<Int>
  let parts: [Part]
  /// The planned data rows of all parts.
  let rowCount: Int
  private let totalBytes: Int
  /// Called between waves of chunks with (bytes done, total bytes) over all parts.
  var progress: ((Int, Int) -> Void)? = nil
  /// Asked between waves of chunks; false stops the read with `.cancelled`.
  var shouldContinue: (() -> Bool)? = nil
  /// Whether the last `load` handed the parts to the serial reader (tests check that valid
  /// files never need to).
  private(set) var fellBackToSerial = false

  /// Reads the parts' headers (each must equal the first's), samples their first rows and
  /// plans every part's chunks on `executor`.
  /// - Throws: `DatasetError` naming the part: a header unlike the first part's, or the
  ///   header's own errors.
  init(
    _ sources: [Source], schema: Dataset.Schema, executor: ShardedExecutor,
    chunkSize: Int = ParallelCSVLoader.defaultChunkSize, processes: any ProcessGroup = SingleProcess()
  ) throws(DatasetError) {
    self.schema = schema
    self.executor = executor
    self.chunkSize = chunkSize
    // A schema that names the features reorders the columns of every row: read whole.
    let processes: any ProcessGroup = schema.featureNames == nil ? processes : SingleProcess()
    // Class counts are checked once, over all parts, by `load`.
    var partSchema = schema
    partSchema.checksClassCount = false
    guard !sources.isEmpty else { throw DatasetError(file: "<no files>", reason: .emptyFile) }
    var read: (loaders: [CSVLoader], layouts: [CSVLoader.Layout])? = nil
    var failure: DatasetError? = nil
    do { read = try Self.readLayouts(sources, schema: partSchema) } catch { failure = error }
    // The plans below are collective: every process goes on to them, or none does.
    try processes.settle(failure, file: sources[0].file)
    guard let (loaders, layouts) = read else { throw DatasetError(file: sources[0].file, reason: .emptyFile) }
    if processes.count > 1, !processes.agree(on: Self.identity(of: sources)) {
      throw DatasetError(
        file: sources[0].file,
        reason: .inconsistentShape(
          "the processes see different files at this path (sizes, first or last bytes differ); every host must read the same data"))
    }
    let (plans, ownedChunks) = Self.plans(
      sources, bodyStarts: layouts.map(\.bodyStart), chunkSize: chunkSize, executor: executor, processes: processes)
    var parts: [Part] = []
    var rows = 0
    var bytes = 0
    var chunks = 0
    for (index, source) in sources.enumerated() {
      parts.append(
        Part(
          loader: loaders[index], layout: layouts[index], plan: plans[index], release: source.release,
          firstRow: rows, firstChunk: chunks, bytesBefore: bytes))
      rows += plans[index].rowCount
      chunks += plans[index].chunks.count
      bytes += source.bytes.count
    }
    self.parts = parts
    self.rowCount = rows
    self.totalBytes = bytes
    self.processes = processes
    self.ownedChunks = ownedChunks
  }

  /// What processes compare before reading in shares, so that a host with another copy of
  /// a file stops them all: every part's size and its first and last 64 kB.
  private static func identity(of sources: [Source]) -> [UInt64] {
    sources.flatMap { source in
      let edge = min(source.bytes.count, 1 << 16)
      return [UInt64(source.bytes.count)] + source.bytes.prefix(edge).map(UInt64.init)
        + source.bytes.suffix(edge).map(UInt64.init)
    }
  }

  /// Each part's loader and layout: the headers (each must equal the first's), and the
  /// sample of the first rows over the parts that fixes the columns' kinds and encoding.
  private static func readLayouts(
    _ sources: [Source], schema: Dataset.Schema
  ) throws(DatasetError) -> ([CSVLoader], [CSVLoader.Layout]) {
    var loaders = sources.map { CSVLoader(bytes: $0.bytes, file: $0.file, schema: schema) }
    var sample: CSVLoader.ColumnSample? = nil
    var unsampled = ColumnEncoding.sampleRowCount
    let firstHeader = try loaders[0].readHeader().names
    for index in loaders.indices {
      if index > 0, try loaders[index].readHeader().names != firstHeader {
        throw DatasetError(
          file: sources[index].file, line: 1,
          reason: .inconsistentShape("its header differs from that of \(sources[0].file), the first part"))
      }
      if unsampled > 0 { unsampled -= try loaders[index].addSample(to: &sample, limit: unsampled) }
    }
    var layouts: [CSVLoader.Layout] = []
    for index in sources.indices {
      loaders[index].sharedSample = sample
      layouts.append(try loaders[index].readLayout())
    }
    return (loaders, layouts)
  }

  /// Every part's chunk plan, and the chunks (numbered over all parts) this process owns.
  /// The cuts of all parts, in order, are divided among the processes in near-equal
  /// consecutive ranges (`ProcessGroup.shardRange(of:)`); each scans its own, and the
  /// scans (five numbers a chunk) are exchanged, so every process holds every plan having
  /// read only its share of the bytes. One process scans and owns them all.
  private static func plans(
    _ sources: [Source], bodyStarts: [Int], chunkSize: Int, executor: ShardedExecutor,
    processes: any ProcessGroup
  ) -> ([CSVChunkPlan], Range<Int>) {
    let cuts = zip(sources, bodyStarts).map { source, start in
      CSVChunkPlan.cut(start..<source.bytes.count, chunkSize: chunkSize)
    }
    let owned = processes.shardRange(of: cuts.reduce(0) { $0 + $1.count })
    var ownScans: [Double] = []
    var partFirst = 0
    for (index, ranges) in cuts.enumerated() {
      let mine = owned.clamped(to: partFirst..<partFirst + ranges.count)
      let scans = CSVChunkPlan.scan(
        Array(ranges[(mine.lowerBound - partFirst)..<(mine.upperBound - partFirst)]),
        of: sources[index].bytes, bodyStart: bodyStarts[index], executor: executor,
        afterScanning: sources[index].release)
      ownScans += scans.flatMap(\.values)
      partFirst += ranges.count
    }
    let all = processes.count > 1 ? processes.allGather(ownScans).flatMap { $0 } : ownScans
    var position = 0
    let plans = cuts.indices.map { index in
      let scans = cuts[index].indices.map { offset in
        CSVChunkPlan.Scan(values: all[(position + 5 * offset)..<(position + 5 * offset + 5)])
      }
      position += 5 * cuts[index].count
      return CSVChunkPlan(
        bytes: sources[index].bytes, bodyStart: bodyStarts[index], ranges: cuts[index], scans: scans)
    }
    return (plans, owned)
  }

  /// The first part's layout: every part's, since their headers and sample are shared.
  var layout: CSVLoader.Layout { parts[0].layout }

  /// The name errors about the whole give: the first part's.
  var file: String { parts[0].loader.file }

  /// Whether the rows need `TableAssembler` (levels, fills, drops) after the parse.
  var needsAssembly: Bool { parts[0].loader.needsAssembly }

  /// Whether every part has a plan the parallel parse can follow.
  var isPlanned: Bool { parts.allSatisfy { $0.plan.rowCount > 0 && !$0.plan.endsInsideQuotes } }

  /// The dataset of all parts, conformed to the schema.
  /// Over several processes (`processes`), each holds the values of its own share of the
  /// rows only (`loadShares()`).
  mutating func load() throws(DatasetError) -> Dataset {
    if processes.count > 1 && isPlanned { return try loadShares() }
    let rows: RawRows
    if let parsed = try parallelRows() { rows = parsed } else { rows = try serialRows() }
    return try dataset(of: rows)
  }

  /// The dataset of the rows read, conformed to the schema; `held` as in `TableAssembler`.
  mutating func dataset(of rows: RawRows, held: Range<Int>? = nil) throws(DatasetError) -> Dataset {
    guard
      let dataset = try parts[0].loader.makeDataset(
        rows, layout: layout, executor: executor, held: held, processes: held == nil ? SingleProcess() : processes)
    else {
      // Too many levels: a part's own cell past the limit, located by the serial reader, or
      // (only with several parts) a column whose levels cross it only over the parts.
      if !fellBackToSerial { _ = try serialRows() }
      throw tooManyLevels(rows)
    }
    do throws(DatasetError) {
      return try schema.conform(dataset, file: file)
    } catch where error.reason.isUnknownClass {
      try throwFirstUnknownClass()
      throw error
    }
  }

  /// Parses every part into `matrix` (the rows of all parts, in order) and one entry per
  /// row of `labels`, `weights` and `dropped` (where the layout reads them), wherever they
  /// live: allocated memory, or a cache file being written. Returns the label names in order
  /// of first appearance over the parts, the labels rewritten as indices into them, and each
  /// chunk's rows (numbered among all rows) with the codes of its text cells; nil when a part
  /// cannot be planned or a chunk failed (the serial reader then gives the verdict).
  /// `rowsParsed` is called on a worker with each chunk's rows once they are written.
  func parse(
    into matrix: FeatureMatrix, labels: UnsafeMutablePointer<Int32>, weights: UnsafeMutablePointer<Float>,
    dropped: UnsafeMutablePointer<Bool>?, rowsParsed: (@Sendable (Range<Int>) -> Void)? = nil
  ) throws(DatasetError) -> (labelNames: [String], chunks: [RawRows.Chunk])? {
    guard isPlanned else { return nil }
    var interner = LabelInterner()
    var chunks: [RawRows.Chunk] = []
    let hasLabels = layout.roles.contains(.label)
    for part in parts {
      let owned = ownedChunks.clamped(to: part.firstChunk..<part.firstChunk + part.plan.chunks.count)
      guard !owned.isEmpty else { continue }
      let local = (owned.lowerBound - part.firstChunk)..<(owned.upperBound - part.firstChunk)
      let first = part.firstRow
      let view = FeatureMatrix(
        writingInto: matrix.rowPointer(first), rowCount: part.plan.rowCount, featureCount: matrix.featureCount,
        owner: matrix)
      guard
        let parsed = try parser(for: part, rowsParsed: rowsParsed).parseRows(
          part.plan, owned: local, layout: part.layout, matrix: view, labels: labels + first,
          weights: weights + first, dropped: dropped.map { $0 + first }, release: part.release)
      else { return nil }
      if hasLabels {
        let global = parsed.labelNames.map { interner.index(of: $0) }
        if !global.indices.allSatisfy({ global[$0] == Int32($0) }) {
          let rows = part.plan.rows(of: local)
          // A dropped row's label is a placeholder 0, which may name nothing.
          for row in first + rows.lowerBound..<first + rows.upperBound where global.indices.contains(Int(labels[row])) {
            labels[row] = global[Int(labels[row])]
          }
        }
      }
      chunks += parsed.chunks.map { RawRows.Chunk(rows: $0.rows.lowerBound + first..<$0.rows.upperBound + first, codes: $0.codes) }
    }
    return (interner.names, chunks)
  }

  /// The parallel loader of one part, reporting progress and parsed rows over all parts.
  private func parser(for part: Part, rowsParsed: (@Sendable (Range<Int>) -> Void)?) -> ParallelCSVLoader {
    var parser = ParallelCSVLoader(loader: part.loader, executor: executor, chunkSize: chunkSize)
    let (before, total, first) = (part.bytesBefore, totalBytes, part.firstRow)
    if let progress { parser.progress = { done, _ in progress(before + done, total) } }
    parser.shouldContinue = shouldContinue
    if let rowsParsed {
      parser.rowsParsed = { rows in rowsParsed(rows.lowerBound + first..<rows.upperBound + first) }
    }
    return parser
  }

  /// All rows parsed in parallel into one new matrix; nil as `parse` says.
  private func parallelRows() throws(DatasetError) -> RawRows? {
    guard isPlanned else { return nil }
    let matrix: FeatureMatrix
    do {
      matrix = try FeatureMatrix(uninitializedRowCount: rowCount, featureCount: layout.featureNames.count)
    } catch {
      throw error.located(in: file)
    }
    let readsLabels = layout.roles.contains(.label)
    let readsWeights = layout.roles.contains(.weight)
    let dropsRows = schema.missing == .drop
    let labels = UnsafeMutableBufferPointer<Int32>.allocate(capacity: max(1, rowCount))
    let weights = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(1, rowCount))
    let dropped = UnsafeMutableBufferPointer<Bool>.allocate(capacity: dropsRows ? rowCount : 1)
    defer {
      labels.deallocate()
      weights.deallocate()
      dropped.deallocate()
    }
    guard
      let parsed = try parse(
        into: matrix, labels: labels.baseAddress!, weights: weights.baseAddress!,
        dropped: dropsRows ? dropped.baseAddress! : nil)
    else { return nil }
    return RawRows(
      matrix: matrix, labels: readsLabels ? Array(labels.prefix(rowCount)) : [], labelNames: parsed.labelNames,
      weights: readsWeights ? Array(weights.prefix(rowCount)) : nil,
      dropped: dropsRows ? Array(dropped.prefix(rowCount)) : [], chunks: parsed.chunks)
  }

  /// The serial reader's verdict: the first error in part order, or (were a plan ever
  /// wrong about a valid file) the rows of all parts.
  mutating func serialRows() throws(DatasetError) -> RawRows {
    fellBackToSerial = true
    var pieces: [RawRows] = []
    for part in parts {
      var loader = part.loader
      let (before, total) = (part.bytesBefore, totalBytes)
      if let progress { loader.progress = { done, _ in progress(before + done, total) } }
      loader.shouldContinue = shouldContinue
      pieces.append(try loader.loadRows().0)
    }
    return pieces.count == 1 ? pieces[0] : try RawRows(concatenating: pieces, file: file)
  }

  /// Throws the first label outside the schema's classes, in part order, with its line.
  func throwFirstUnknownClass() throws(DatasetError) {
    for part in parts {
      var loader = part.loader
      _ = try loader.loadRows()
    }
  }

  /// The error for a categorical column whose levels pass `schema.maxLevels` only over
  /// several parts: it names the part where they do, and the column.
  func tooManyLevels(_ rows: RawRows) -> DatasetError {
    for slot in layout.categoricalSlots {
      var interner = LabelInterner()
      for chunk in rows.chunks {
        for name in chunk.codes.levels[slot].names { _ = interner.index(of: name) }
        guard interner.names.count > schema.maxLevels else { continue }
        let part = parts.last { $0.firstRow <= chunk.rows.lowerBound } ?? parts[0]
        let column = layout.slotColumns[slot]
        return DatasetError(
          file: part.loader.file, column: column + 1, columnName: layout.header[column],
          reason: .tooManyLevels(limit: schema.maxLevels))
      }
    }
    return DatasetError(file: file, reason: .inconsistentShape("the rows could not be assembled"))
  }
}

extension CSVParts {
  /// Runs `body` on the files at `paths` mapped as sources; a gzip-compressed file is
  /// decompressed into an unlinked temporary file first, its errors naming `path`.
  static func withSources<Result>(
    _ paths: [String], shouldContinue: (() -> Bool)?,
    _ body: ([Source]) throws(DatasetError) -> Result
  ) throws(DatasetError) -> Result {
    var files: [MappedFile] = []
    var sources: [Source] = []
    for path in paths {
      let text = try Dataset.decompressedCopy(ofGzip: path, shouldContinue: shouldContinue)
      defer { if let text { unlink(text) } }
      let file = try MappedFile.dataFile(text ?? path)
      files.append(file)
      sources.append(Source(bytes: file.bytes, file: path, release: { file.release($0) }))
    }
    return try withExtendedLifetime(files) { () throws(DatasetError) -> Result in try body(sources) }
  }
}
