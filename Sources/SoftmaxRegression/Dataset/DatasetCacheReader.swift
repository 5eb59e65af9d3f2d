import Foundation

extension Dataset {
  /// Loads a binary dataset cache (`DatasetCache`) by memory-mapping it: no parsing, and the
  /// matrix is used where it lies in the mapping.
  ///
  /// The schema is applied as for CSV: a named label or weight column must be the one the
  /// cache was made with (without `weightColumn`, stored weights are not used); for a model's
  /// schema, features are matched by name (reordered if needed) and labels mapped to the
  /// model's classes. Cost: one checksum pass and one validation pass over the file.
  /// - Throws: `DatasetError` with reason `.invalidCache` (truncated, damaged, another
  ///   version, inconsistent) or `.cacheMismatch`, naming the file.
  public init(cacheAt path: String, schema: Schema = .training()) throws(DatasetError) {
    try self.init(cacheAt: path, schema: schema, processes: SingleProcess())
  }

  /// Loads a binary dataset cache that several processes train on together
  /// (`ProcessGroup`), each reading only its share of the matrix: the rows of its range of
  /// the shards (`ProcessGroup.shardRange(of:)` over `Shards(rowCount:)`), which are the
  /// rows its passes read. Each checks its rows' values; the payload checksum is chained
  /// over the processes in file order (each adds its bytes to the running checksum of those
  /// before it), so the file is checked whole and each byte is read once. Labels and
  /// weights (4 bytes a row each) are read by every process. Collective: every process
  /// calls it with the same file.
  /// - Throws: as `init(cacheAt:schema:)`; `.failedInAnotherProcess` where the header
  ///   checks failed in another process only.
  public init(cacheAt path: String, schema: Schema = .training(), processes: any ProcessGroup) throws(DatasetError) {
    let file = try MappedFile.dataFile(path)
    let (stored, weightName) = try CacheReader(file: file, path: path).read(processes: processes)
    try stored.checkColumns(schema, path: path, storedWeightName: weightName)
    self = try schema.conform(stored, file: path)
  }

  /// Loads `path` in the format its first bytes show (`DatasetFormats`): a binary cache when
  /// it starts with the cache's magic bytes, CSV otherwise, read as a stream when `path` is
  /// a pipe, FIFO or device (see `init(csvAt:)`, `init(csvStreamAt:)` and `init(cacheAt:schema:)`).
  public init(
    contentsOf path: String, schema: Schema = .training(),
    threadCount: Int = ShardedExecutor.availableCoreCount,
    progress: ((_ bytesDone: Int, _ totalBytes: Int) -> Void)? = nil,
    shouldContinue: (() -> Bool)? = nil
  ) throws(DatasetError) {
    self = try DatasetFormats.format(of: path).load(
      path: path, schema: schema, threadCount: threadCount, progress: progress,
      shouldContinue: shouldContinue)
  }

  /// Checks what a cache fixes at conversion and a CSV reader would choose: the label and
  /// weight columns. The rest is `Schema.conform`'s.
  fileprivate func checkColumns(_ schema: Schema, path: String, storedWeightName: String?)
    throws(DatasetError)
  {
    func mismatch(_ why: String) -> DatasetError { DatasetError(file: path, reason: .cacheMismatch(why)) }
    if let label = schema.labelColumn, schema.featureNames == nil, label != labelName {
      throw mismatch("the cache was made with label column \"\(labelName)\", not \"\(label)\"; convert the CSV again with --label \(label)")
    }
    if let weight = schema.weightColumn, weight != storedWeightName {
      throw mismatch(
        storedWeightName.map { "the cache's weight column is \"\($0)\", not \"\(weight)\"" }
          ?? "the cache has no weight column; convert the CSV again with --weight \(weight)")
    }
  }
}

/// Validates a mapped cache file and builds the dataset it stores.
struct CacheReader {
  let file: MappedFile
  let path: String
  var bytes: UnsafeRawBufferPointer { file.bytes }

  func invalid(_ why: String) -> DatasetError {
    DatasetError(file: path, reason: .invalidCache(why))
  }

  /// The stored dataset and the name of its weight column, if it has weights; over
  /// several processes, each checks its share (`Dataset(cacheAt:schema:processes:)`).
  func read(processes: any ProcessGroup) throws(DatasetError) -> (Dataset, String?) {
    var checked: (header: CacheHeader, shape: Shape)? = nil
    var failure: DatasetError? = nil
    do { checked = try checkHeader() } catch { failure = error }
    // Every process must reach the chained checksum, or none: a vote first.
    try processes.settle(failure, file: path)
    guard let (header, shape) = checked else { throw invalid("unreadable header") }
    let rows = processes.shareOfRows(shape.rowCount)
    guard checksum(shape, rows: rows, processes: processes) == header.payloadChecksum else {
      throw invalid("the data is damaged (checksum mismatch)")
    }
    let metadata = try decodeMetadata(shape.metadata)
    guard metadata.featureNames.count == shape.featureCount else {
      throw invalid("the metadata names \(metadata.featureNames.count) features, the header \(shape.featureCount)")
    }
    if let inputs = metadata.inputs, inputs.featureNames != metadata.featureNames {
      throw invalid("the metadata's input columns give features other than its \(metadata.featureNames.count)")
    }
    let encoding = try readEncoding(metadata, version: header.version, featureCount: shape.featureCount)
    let matrix = FeatureMatrix(
      mapping: file, offset: shape.matrixOffset, rowCount: shape.rowCount, featureCount: shape.featureCount)
    try checkValues(matrix, rows: rows)
    let labels = try readLabels(shape, classCount: metadata.classNames.count)
    let weights = try readWeights(shape)
    let dataset = Dataset(
      features: matrix, encoding: encoding, labels: labels, classNames: metadata.classNames,
      featureNames: metadata.featureNames, labelName: metadata.labelName, rowWeights: weights,
      table: metadata.inputs)
    return (dataset, weights == nil ? nil : metadata.weightName)
  }

  /// The payload checksum: over the whole payload in one process; over several, each adds
  /// its bytes (the first process also the metadata, the last also labels and weights) to
  /// the running state of the processes before it (`ProcessChain`), and all get the total.
  private func checksum(_ shape: Shape, rows: Range<Int>, processes: any ProcessGroup) -> UInt64 {
    let rowBytes = FeatureMatrix.paddedStride(forFeatureCount: shape.featureCount) * 4
    let start = processes.rank == 0 ? DatasetCache.headerSize : shape.matrixOffset + rows.lowerBound * rowBytes
    let end = processes.rank == processes.count - 1 ? bytes.count : shape.matrixOffset + rows.upperBound * rowBytes
    let chain = ProcessChain(processes: processes)
    var state = Checksum64().state.map { Double(bitPattern: $0) }
    _ = state.withUnsafeMutableBufferPointer { chain.receivePreceding($0) }
    var checksum = Checksum64(state: state.map(\.bitPattern))
    checksum.update(UnsafeRawBufferPointer(rebasing: bytes[start..<end]))
    state = checksum.state.map { Double(bitPattern: $0) }
    state.withUnsafeMutableBufferPointer { chain.passOn($0) }
    return Checksum64(state: state.map(\.bitPattern)).value
  }

  /// The header's checks and the layout it gives.
  private func checkHeader() throws(DatasetError) -> (CacheHeader, Shape) {
    guard bytes.count >= DatasetCache.headerSize else {
      throw invalid(
        Array(bytes.prefix(8)) == Array(DatasetCache.magic.prefix(bytes.count)) && !bytes.isEmpty
          ? "truncated: \(bytes.count) bytes, shorter than the 128-byte header"
          : "the file does not start with the cache's magic bytes")
    }
    guard Array(bytes.prefix(8)) == DatasetCache.magic else {
      throw invalid("the file does not start with the cache's magic bytes")
    }
    let header = CacheHeader(decoding: bytes)
    let version = header.version
    guard DatasetCache.readableVersions.contains(version) else {
      throw invalid(
        "format version \(version); this build reads versions "
          + "\(DatasetCache.readableVersions.lowerBound) to \(DatasetCache.readableVersions.upperBound)")
    }
    guard CacheHeader.hasValidChecksum(bytes) else {
      throw invalid("the header is damaged (checksum mismatch)")
    }
    guard CacheHeader.hasZeroReservedBytes(bytes) else {
      throw invalid("the header's reserved bytes are not zero")
    }
    guard let fileLength = Int(exactly: header.fileLength), fileLength == bytes.count else {
      throw invalid("truncated or extended: the header says \(header.fileLength) bytes, the file has \(bytes.count)")
    }
    guard (bytes.count - DatasetCache.headerSize) % 32 == 0 else {
      throw invalid("its length, \(bytes.count) bytes, is not the header plus whole 32-byte blocks")
    }
    return (header, try checkLayout(header))
  }

  struct Shape {
    var rowCount: Int
    var featureCount: Int
    var metadata: Range<Int>
    var matrixOffset: Int
    var labelsOffset: Int?
    var weightsOffset: Int?
  }

  /// Checks every size and offset against the file, with overflow-checked arithmetic.
  private func checkLayout(_ header: CacheHeader) throws(DatasetError) -> Shape {
    let flags = header.flags
    guard
      let rows = Int(exactly: header.rowCount), let featureCount = Int(exactly: header.featureCount),
      let stride = Int(exactly: header.rowStride), let metadataOffset = Int(exactly: header.metadataOffset),
      let metadataLength = Int(exactly: header.metadataLength),
      let matrixOffset = Int(exactly: header.matrixOffset),
      let labelsOffset = Int(exactly: header.labelsOffset),
      let weightsOffset = Int(exactly: header.weightsOffset)
    else { throw invalid("a size or offset in the header is out of range") }
    // Every feature of a row takes 4 bytes of the file: this bounds the count before any
    // arithmetic on it can overflow.
    guard rows >= 1, featureCount >= 1, featureCount <= bytes.count / 4,
      stride == FeatureMatrix.paddedStride(forFeatureCount: featureCount)
    else { throw invalid("inconsistent shape: \(rows) rows, \(featureCount) features, stride \(stride)") }
    guard flags & ~3 == 0 else { throw invalid("unknown flags \(flags)") }
    let (rowBytes, overflow1) = stride.multipliedReportingOverflow(by: 4)
    let (matrixBytes, overflow2) = rowBytes.multipliedReportingOverflow(by: rows)
    guard !overflow1 && !overflow2, metadataOffset == DatasetCache.headerSize,
      metadataLength <= bytes.count, matrixOffset % 4096 == 0,
      matrixOffset >= metadataOffset + metadataLength, matrixBytes <= bytes.count - min(matrixOffset, bytes.count),
      matrixOffset <= bytes.count
    else { throw invalid("the matrix or metadata does not fit in the file") }
    var end = matrixOffset + matrixBytes
    func section(_ present: Bool, _ offset: Int) throws(DatasetError) -> Int? {
      guard present else {
        guard offset == 0 else { throw invalid("an offset is set for an absent section") }
        return nil
      }
      guard offset % 64 == 0, offset >= end, offset <= bytes.count, rows <= (bytes.count - offset) / 4 else {
        throw invalid("the labels or weights do not fit in the file")
      }
      end = offset + rows * 4
      return offset
    }
    let labels = try section(flags & 1 != 0, labelsOffset)
    let weights = try section(flags & 2 != 0, weightsOffset)
    return Shape(
      rowCount: rows, featureCount: featureCount, metadata: metadataOffset..<metadataOffset + metadataLength,
      matrixOffset: matrixOffset, labelsOffset: labels, weightsOffset: weights)
  }

  private func decodeMetadata(_ range: Range<Int>) throws(DatasetError) -> DatasetCache.Metadata {
    let data = Data(bytes[range])
    guard let metadata = try? JSONDecoder().decode(DatasetCache.Metadata.self, from: data) else {
      throw invalid("the metadata is not the expected JSON")
    }
    guard !metadata.classNames.isEmpty, !ExactText.hasRepeats(metadata.classNames),
      !ExactText.hasRepeats(metadata.featureNames)
    else { throw invalid("the metadata's class or feature names are empty or repeat") }
    return metadata
  }

  /// The stored values' encoding: in version 2 every column's, valid; version 1 stored values
  /// as read.
  private func readEncoding(
    _ metadata: DatasetCache.Metadata, version: UInt32, featureCount: Int
  ) throws(DatasetError) -> ColumnEncoding {
    guard version >= 2 else { return .identity(featureCount: featureCount) }
    guard let offset = metadata.columnOffset, let exponent = metadata.columnExponent,
      offset.count == featureCount, let encoding = ColumnEncoding(offset: offset, exponent: exponent)
    else { throw invalid("the metadata's column encoding is missing or invalid") }
    return encoding
  }

  /// Features finite, padding zero, in `rows`.
  private func checkValues(_ matrix: FeatureMatrix, rows: Range<Int>) throws(DatasetError) {
    for row in rows {
      let values = matrix.rowPointer(row)
      for column in 0..<matrix.featureCount where !values[column].isFinite {
        throw invalid("row \(row + 1), feature \(column + 1) is \(values[column])")
      }
      for column in matrix.featureCount..<matrix.rowStride where values[column] != 0 {
        throw invalid("row \(row + 1) has nonzero padding")
      }
    }
  }

  private func readLabels(_ shape: Shape, classCount: Int) throws(DatasetError) -> [Int32] {
    guard let offset = shape.labelsOffset else { return [] }
    var labels: [Int32] = []
    labels.reserveCapacity(shape.rowCount)
    for row in 0..<shape.rowCount {
      let label = load(Int32.self, at: offset + 4 * row)
      guard label >= 0 && Int(label) < classCount else {
        throw invalid("row \(row + 1) has class index \(label), outside 0..<\(classCount)")
      }
      labels.append(label)
    }
    return labels
  }

  private func readWeights(_ shape: Shape) throws(DatasetError) -> [Float]? {
    guard let offset = shape.weightsOffset else { return nil }
    var weights: [Float] = []
    weights.reserveCapacity(shape.rowCount)
    for row in 0..<shape.rowCount {
      let weight = Float(bitPattern: load(UInt32.self, at: offset + 4 * row))
      guard weight.isFinite && weight >= 0 else {
        throw invalid("row \(row + 1) has weight \(weight)")
      }
      weights.append(weight)
    }
    return weights
  }

  private func load<Value: FixedWidthInteger>(_ type: Value.Type, at offset: Int) -> Value {
    Value(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: Value.self))
  }
}
