#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Converts CSV files (one, or the parts of one dataset: see `CSVParts`) to a binary cache
/// (`DatasetCache`) with memory bounded whatever their size: the rows are parsed in parallel
/// straight into the cache file, mapped shared and writable, and the pages of both files are
/// dropped from the process as each chunk is done. The bytes are those `Dataset.writeCache`
/// writes for the same data, and the errors are the CSV reader's (file, line, column), since
/// a file that fails is read again by it.
///
/// Peak memory: the chunks in flight (4 MiB of text and their rows per thread), the labels
/// and weights once as arrays (4 bytes per row each, for the schema step), and the page
/// cache, which the kernel reclaims. Cost: the parallel load, one pass to order the labels,
/// one checksum pass over the file; and, when the class names make the metadata cross a 4 KiB
/// page (rare), one pass to move the matrix. Data whose table needs assembling (categorical
/// columns, missing-value rules) is loaded into memory and written from there.
struct CacheConverter {
  let csvPaths: [String]
  let cachePath: String
  let schema: Dataset.Schema
  let threadCount: Int
  var chunkSize = ParallelCSVLoader.defaultChunkSize
  var progress: ((Int, Int) -> Void)? = nil
  var shouldContinue: (() -> Bool)? = nil

  /// What a conversion wrote.
  struct Summary {
    var rowCount: Int
    var featureCount: Int
    var classCount: Int
  }

  /// Why a conversion failed: the data, or the output.
  enum Failure: Error {
    case data(DatasetError)
    case output(AtomicFile.WriteError)
  }

  func convert() throws(Failure) -> Summary {
    let streamed: Result<Summary?, Failure>
    do {
      streamed = try CSVParts.withSources(csvPaths, shouldContinue: shouldContinue) {
        sources throws(DatasetError) -> Result<Summary?, Failure> in
        var reader = try CSVParts(
          sources, schema: schema, executor: ShardedExecutor(threadCount: threadCount), chunkSize: chunkSize)
        reader.progress = progress
        reader.shouldContinue = shouldContinue
        // Levels to merge, cells to fill or rows to drop change the matrix after the parse.
        guard !reader.needsAssembly && reader.isPlanned else { return .success(nil) }
        return Result { () throws(Failure) -> Summary? in try write(reader) }
      }
    } catch {
      throw .data(error)
    }
    guard let summary = try streamed.get() else { return try convertInMemory() }
    return summary
  }

  /// The whole dataset in memory, then `writeCache`: for what the fast path does not take
  /// (a table to assemble, a destination that cannot be mapped, a file the chunk plan cannot
  /// cut), and for the serial reader's located error when a chunk fails.
  private func convertInMemory() throws(Failure) -> Summary {
    let dataset: Dataset
    do {
      dataset = try Dataset(
        csvParts: csvPaths, schema: schema, threadCount: threadCount, progress: progress,
        shouldContinue: shouldContinue)
    } catch { throw .data(error) }
    do {
      try dataset.writeCache(to: cachePath, weightName: schema.weightColumn) {
        shouldContinue?() ?? true
      }
    } catch { throw .output(error) }
    return Summary(
      rowCount: dataset.rowCount, featureCount: dataset.featureCount, classCount: dataset.classCount)
  }

  /// Parses every part into the mapped cache file and completes it; nil when the destination
  /// cannot be mapped or a chunk failed (the file is then abandoned).
  private func write(_ reader: CSVParts) throws(Failure) -> Summary? {
    let writer: AtomicFile.Writer
    do { writer = try AtomicFile.Writer(path: cachePath) } catch { throw .output(error) }
    do {
      let summary = try write(reader, writer: writer)
      if summary == nil { writer.abandon() }
      return summary
    } catch {
      writer.abandon()
      throw error
    }
  }

  private func write(_ reader: CSVParts, writer: AtomicFile.Writer) throws(Failure) -> Summary? {
    let layout = reader.layout
    let rowCount = reader.rowCount
    let featureCount = layout.featureNames.count
    let stride = FeatureMatrix.paddedStride(forFeatureCount: featureCount)
    let isLabeled = layout.roles.contains(.label)
    let isWeighted = layout.roles.contains(.weight)
    // The class names are known only after the parse: lay the file out without them first.
    let provisional = DatasetCache.layout(
      rowCount: rowCount, rowStride: stride, isLabeled: isLabeled, isWeighted: isWeighted,
      metadataLength: DatasetCache.metadataBytes(
        featureNames: layout.featureNames, classNames: [], labelName: labelName(layout),
        weightName: isWeighted ? schema.weightColumn ?? "weight" : nil, encoding: layout.encoding
      ).count)
    let mapping: AtomicFile.WritableMapping
    do {
      try AtomicFile.checkSpace(cachePath, byteCount: provisional.fileLength)
      guard let mapped = try writer.mapForWriting(length: provisional.fileLength) else { return nil }
      mapping = mapped
    } catch { throw .output(error) }
    let base = mapping.bytes.baseAddress!
    let matrix = FeatureMatrix(
      writingInto: (base + provisional.matrixOffset).bindMemory(to: Float.self, capacity: rowCount * stride),
      rowCount: rowCount, featureCount: featureCount, owner: mapping)
    let scratch = UnsafeMutableRawPointer.allocate(byteCount: 8, alignment: 8)
    defer { scratch.deallocate() }
    let labels = (isLabeled ? base + provisional.labelsOffset : scratch).assumingMemoryBound(to: Int32.self)
    let weights = (isWeighted ? base + provisional.weightsOffset : scratch).assumingMemoryBound(to: Float.self)
    let rowBytes = stride * 4
    let matrixOffset = provisional.matrixOffset
    let labelNames: [String]
    do {
      guard
        let parsed = try reader.parse(
          into: matrix, labels: labels, weights: weights, dropped: nil,
          rowsParsed: { rows in
            mapping.release(matrixOffset + rows.lowerBound * rowBytes..<matrixOffset + rows.upperBound * rowBytes)
          })
      else { return nil }
      labelNames = parsed.labelNames
    } catch { throw .data(error) }
    // The one schema step, on a view of the file: the classes in their order, checked.
    var interner = LabelInterner()
    for name in labelNames { _ = interner.index(of: name) }
    let (classNames, remap) = interner.sortedClasses()
    var labelArray: [Int32] = []
    if isLabeled {
      labelArray = (0..<rowCount).map { remap[Int(labels[$0])] }
      for row in 0..<rowCount { labels[row] = labelArray[row].littleEndian }
    }
    let weightArray = isWeighted ? (0..<rowCount).map { weights[$0] } : nil
    let view = Dataset(
      features: matrix, encoding: layout.encoding, labels: labelArray, classNames: classNames,
      featureNames: layout.featureNames, labelName: labelName(layout), rowWeights: weightArray)
    let dataset: Dataset
    do { dataset = try schema.conform(view, file: reader.file) } catch { throw .data(error) }
    try finish(dataset, mapping: mapping, provisional: provisional, writer: writer)
    return Summary(rowCount: rowCount, featureCount: featureCount, classCount: classNames.count)
  }

  private func labelName(_ layout: CSVLoader.Layout) -> String {
    layout.labelColumn.map { layout.header[$0] } ?? schema.labelColumn ?? "label"
  }

  /// Writes the metadata and header (moving the sections if the metadata needs more room),
  /// checksums the file and commits it.
  private func finish(
    _ dataset: Dataset, mapping first: AtomicFile.WritableMapping,
    provisional: DatasetCache.Layout, writer: AtomicFile.Writer
  ) throws(Failure) {
    let metadata = DatasetCache.metadataBytes(dataset, weightName: schema.weightColumn)
    let final = DatasetCache.layout(of: dataset, metadataLength: metadata.count)
    var mapping = first
    if final.matrixOffset != provisional.matrixOffset {
      // Everything after the metadata moves up by the same whole number of pages.
      let shift = final.matrixOffset - provisional.matrixOffset
      let length = provisional.fileLength - provisional.matrixOffset
      let larger: AtomicFile.WritableMapping?
      do { larger = try writer.mapForWriting(length: final.fileLength) } catch { throw .output(error) }
      guard let larger else {
        throw .output(AtomicFile.WriteError(path: cachePath, reason: "cannot map the file again"))
      }
      mapping = larger
      let base = mapping.bytes.baseAddress!
      memmove(base + final.matrixOffset, base + provisional.matrixOffset, length)
      (base + provisional.matrixOffset).initializeMemory(as: UInt8.self, repeating: 0, count: shift)
    }
    let bytes = mapping.bytes
    bytes.baseAddress!.advanced(by: DatasetCache.headerSize).copyMemory(
      from: metadata, byteCount: metadata.count)
    var checksum = Checksum64()
    let block = 1 << 26
    var offset = DatasetCache.headerSize
    while offset < final.fileLength {
      let end = min(final.fileLength, offset + block)
      checksum.update(UnsafeRawBufferPointer(rebasing: bytes[offset..<end]))
      mapping.release(offset..<end)
      offset = end
    }
    let header = CacheHeader(
      flags: (dataset.isLabeled ? 1 : 0) | (dataset.rowWeights != nil ? 2 : 0),
      rowCount: UInt64(dataset.rowCount), featureCount: UInt64(dataset.featureCount),
      rowStride: UInt64(dataset.features.rowStride), metadataOffset: UInt64(final.metadataOffset),
      metadataLength: UInt64(metadata.count), matrixOffset: UInt64(final.matrixOffset),
      labelsOffset: UInt64(final.labelsOffset), weightsOffset: UInt64(final.weightsOffset),
      fileLength: UInt64(final.fileLength), payloadChecksum: checksum.value
    ).encoded()
    bytes.baseAddress!.copyMemory(from: header, byteCount: header.count)
    if let shouldContinue, !shouldContinue() {
      throw .output(AtomicFile.WriteError(path: cachePath, reason: "interrupted"))
    }
    do { try writer.commit() } catch { throw .output(error) }
  }
}

extension DatasetCache {
  /// What `convert` wrote: the cache's shape.
  public struct Conversion: Sendable {
    /// The rows, features and classes stored.
    public var rowCount: Int, featureCount: Int, classCount: Int
  }

  /// Why `convert` failed: the data (with file, line, column), or the output.
  public enum ConversionError: Error, CustomStringConvertible {
    /// The CSV could not be read or is invalid.
    case data(DatasetError)
    /// The cache could not be written.
    case output(AtomicFile.WriteError)

    /// The underlying error's message.
    public var description: String {
      switch self {
      case .data(let error): error.description
      case .output(let error): error.description
      }
    }
  }

  /// Converts the CSV file at `csvPath` to a cache at `cachePath`, atomically, with memory
  /// bounded whatever the file's size (see `CacheConverter`): the same bytes and errors as
  /// loading it and calling `writeCache`. Arguments as for `Dataset(csvAt:)`; the weight
  /// column's name is recorded from the schema.
  public static func convert(
    csvAt csvPath: String, to cachePath: String, schema: Dataset.Schema = .training(),
    threadCount: Int = ShardedExecutor.availableCoreCount,
    progress: ((_ bytesDone: Int, _ totalBytes: Int) -> Void)? = nil,
    shouldContinue: (() -> Bool)? = nil
  ) throws(ConversionError) -> Conversion {
    try convert(
      csvParts: [csvPath], to: cachePath, schema: schema, threadCount: threadCount, progress: progress,
      shouldContinue: shouldContinue)
  }

  /// Converts CSV files, the parts of one dataset (as `Dataset(csvParts:)` reads them), to
  /// one cache at `cachePath`, atomically, streaming each part into the file with memory
  /// bounded whatever their size: the bytes `writeCache` writes for the parts' dataset.
  /// A gzip-compressed part is decompressed to a temporary file first. Progress counts the
  /// bytes of all parts.
  public static func convert(
    csvParts paths: [String], to cachePath: String, schema: Dataset.Schema = .training(),
    threadCount: Int = ShardedExecutor.availableCoreCount,
    progress: ((_ bytesDone: Int, _ totalBytes: Int) -> Void)? = nil,
    shouldContinue: (() -> Bool)? = nil
  ) throws(ConversionError) -> Conversion {
    var converter = CacheConverter(
      csvPaths: paths, cachePath: cachePath, schema: schema, threadCount: threadCount)
    converter.progress = progress
    converter.shouldContinue = shouldContinue
    do {
      let summary = try converter.convert()
      return Conversion(
        rowCount: summary.rowCount, featureCount: summary.featureCount, classCount: summary.classCount)
    } catch {
      switch error {
      case .data(let failure): throw .data(failure)
      case .output(let failure): throw .output(failure)
      }
    }
  }
}

extension DatasetCache {
  /// An estimate of the Float32 matrix a CSV file loads into, in bytes, from its size and
  /// the length of its first rows (`ColumnEncoding.sampleRowCount` of them): for deciding,
  /// before loading, whether it fits in memory. Nil when the file cannot be read as CSV.
  /// Cost: reads the header and the first rows.
  public static func estimatedMatrixBytes(csvAt path: String, schema: Dataset.Schema = .training()) -> Int? {
    guard let file = try? MappedFile(path: path) else { return nil }
    return withExtendedLifetime(file) { () -> Int? in
      var loader = CSVLoader(bytes: file.bytes, file: path, schema: schema)
      guard let layout = try? loader.readLayout() else { return nil }
      var scanner = CSVScanner(bytes: file.bytes, startingAt: layout.bodyStart, delimiter: layout.delimiter)
      var fields: [CSVField] = []
      var rows = 0
      while rows < ColumnEncoding.sampleRowCount, (try? scanner.nextRow(into: &fields)) ?? nil != nil {
        rows += 1
      }
      let sampled = scanner.position - layout.bodyStart
      guard rows > 0, sampled > 0 else { return 0 }
      let estimatedRows = Double(file.bytes.count - layout.bodyStart) / (Double(sampled) / Double(rows))
      let rowBytes = FeatureMatrix.paddedStride(forFeatureCount: layout.featureNames.count) * 4
      return Int(min(Double(Int.max / 2), estimatedRows * Double(rowBytes)))
    }
  }

  /// Whether a matrix of `byteCount` bytes should not be loaded into memory: over three
  /// quarters of the cgroup limit or of the memory available.
  public static func exceedsMemory(byteCount: Int) -> Bool {
    FeatureMatrix.streamsFromDisk(byteCount: byteCount)
  }
}
