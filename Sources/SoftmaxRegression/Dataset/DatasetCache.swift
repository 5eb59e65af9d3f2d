import Foundation

/// The binary dataset cache (`.smx`): a parsed dataset that loads by memory-mapping, with no
/// parsing.
///
/// Format, version 2 (version 1, which stored values as read, still loads). All integers little-endian; sections start at multiples of 64 bytes
/// (the matrix at a multiple of 4096, so it maps page-aligned) and are zero-padded to them.
///
/// | offset | size | field |
/// |---|---|---|
/// | 0 | 8 | magic `SMXDATA` + 0x1A |
/// | 8 | 4 | version (2) |
/// | 12 | 4 | flags: bit 0 labels present, bit 1 weights present |
/// | 16 | 8 | rows |
/// | 24 | 8 | features |
/// | 32 | 8 | row stride in floats (features rounded up to 8) |
/// | 40 | 8 | metadata offset (128) |
/// | 48 | 8 | metadata length in bytes |
/// | 56 | 8 | matrix offset |
/// | 64 | 8 | labels offset (0 if absent) |
/// | 72 | 8 | weights offset (0 if absent) |
/// | 80 | 8 | file length |
/// | 88 | 8 | checksum of bytes 128 ..< file length (`Checksum64`) |
/// | 96 | 8 | checksum of bytes 0 ..< 96 |
/// | 104 | 24 | zero |
///
/// Metadata: UTF-8 JSON `{"feature_names": […], "class_names": […], "label_name": "…",
/// "weight_name": "…" or null, "column_offset": […], "column_exponent": […]}` (the last two:
/// the `ColumnEncoding` of the stored values; absent in version 1, which means the identity),
/// and `"inputs"`, the `TableEncoding` of data with categorical columns or missing values
/// (absent for plain numbers).
/// Matrix: rows × stride Float32, padding columns zero, values stored as the encoding says. Labels:
/// one Int32 class index per row. Weights: one Float32 per row.
///
/// Loading checks the magic, version, both checksums, the file length and every offset, and
/// that labels are valid class indices, features finite, padding zero and weights finite and
/// ≥ 0: a truncated or damaged file is rejected with a clear error, never read past its end.
public enum DatasetCache {
  /// The first 8 bytes of every cache file.
  public static let magic: [UInt8] = Array("SMXDATA".utf8) + [0x1A]
  /// The format version this build writes and reads.
  public static let version: UInt32 = 2
  /// The format versions this build reads.
  static let readableVersions: ClosedRange<UInt32> = 1...2
  static let headerSize = CacheHeader.size

  struct Metadata: Codable {
    var featureNames: [String]
    var classNames: [String]
    var labelName: String
    var weightName: String?
    var columnOffset: [Double]?
    var columnExponent: [Int]?
    /// How the source table's columns became the features, when more than numbers.
    var inputs: TableEncoding? = nil

    enum CodingKeys: String, CodingKey {
      case inputs
      case featureNames = "feature_names"
      case classNames = "class_names"
      case labelName = "label_name"
      case weightName = "weight_name"
      case columnOffset = "column_offset"
      case columnExponent = "column_exponent"
    }
  }

  /// Whether the file at `path` is a regular file that starts with the cache's magic bytes.
  public static func isCache(path: String) -> Bool {
    BinaryCacheFormat().recognizes(path: path)
  }

  /// The size in bytes of `dataset`'s cache file.
  public static func fileSize(of dataset: Dataset, weightName: String?) -> Int {
    layout(of: dataset, metadataLength: metadataBytes(dataset, weightName: weightName).count).fileLength
  }

  struct Layout {
    var metadataOffset = headerSize
    var matrixOffset: Int
    var labelsOffset: Int
    var weightsOffset: Int
    var fileLength: Int
  }

  static func metadataBytes(_ dataset: Dataset, weightName: String?) -> [UInt8] {
    metadataBytes(
      featureNames: dataset.featureNames, classNames: dataset.classNames,
      labelName: dataset.labelName,
      weightName: dataset.rowWeights == nil ? nil : weightName ?? "weight",
      encoding: dataset.encoding, table: dataset.table)
  }

  /// The metadata JSON (sorted keys) of a cache with these names and encoding.
  static func metadataBytes(
    featureNames: [String], classNames: [String], labelName: String, weightName: String?,
    encoding: ColumnEncoding, table: TableEncoding? = nil
  ) -> [UInt8] {
    let metadata = Metadata(
      featureNames: featureNames, classNames: classNames, labelName: labelName,
      weightName: weightName, columnOffset: encoding.offset, columnExponent: encoding.exponent,
      inputs: table.flatMap { $0.isPlain ? nil : $0 })
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    return (try? Array(encoder.encode(metadata))) ?? []
  }

  static func layout(of dataset: Dataset, metadataLength: Int) -> Layout {
    layout(
      rowCount: dataset.rowCount, rowStride: dataset.features.rowStride,
      isLabeled: dataset.isLabeled, isWeighted: dataset.rowWeights != nil,
      metadataLength: metadataLength)
  }

  /// Where each section of a cache of this shape lies.
  static func layout(
    rowCount: Int, rowStride: Int, isLabeled: Bool, isWeighted: Bool, metadataLength: Int
  ) -> Layout {
    let matrixOffset = roundUp(headerSize + metadataLength, to: 4096)
    let matrixBytes = rowCount * rowStride * 4
    let labelsOffset = isLabeled ? roundUp(matrixOffset + matrixBytes, to: 64) : 0
    let afterLabels = isLabeled ? labelsOffset + rowCount * 4 : matrixOffset + matrixBytes
    let weightsOffset = isWeighted ? roundUp(afterLabels, to: 64) : 0
    let end = isWeighted ? weightsOffset + rowCount * 4 : afterLabels
    return Layout(
      matrixOffset: matrixOffset, labelsOffset: labelsOffset, weightsOffset: weightsOffset,
      fileLength: roundUp(end, to: 64))
  }

  static func roundUp(_ value: Int, to multiple: Int) -> Int {
    (value + multiple - 1) / multiple * multiple
  }
}

extension Dataset {
  /// Writes this dataset as a binary cache (see `DatasetCache`), atomically: the file is
  /// complete or absent. `weightName` records the weight column's name, if there are weights.
  /// Cost: one pass over the matrix to checksum it and one to write it.
  /// - Parameter shouldContinue: asked before each MiB is written; false stops the write,
  ///   which then throws and leaves `path` as it was.
  public func writeCache(
    to path: String, weightName: String? = nil, shouldContinue: @escaping () -> Bool = { true }
  ) throws(AtomicFile.WriteError) {
    let metadata = DatasetCache.metadataBytes(self, weightName: weightName)
    let layout = DatasetCache.layout(of: self, metadataLength: metadata.count)
    try AtomicFile.checkSpace(path, byteCount: layout.fileLength)
    let sections = cacheSections(metadata: metadata, layout: layout)
    var checksum = Checksum64()
    for section in sections { section.withBytes { checksum.update($0) } }
    let header = CacheHeader(
      flags: (isLabeled ? 1 : 0) | (rowWeights != nil ? 2 : 0), rowCount: UInt64(rowCount),
      featureCount: UInt64(featureCount), rowStride: UInt64(features.rowStride),
      metadataOffset: UInt64(layout.metadataOffset), metadataLength: UInt64(metadata.count),
      matrixOffset: UInt64(layout.matrixOffset), labelsOffset: UInt64(layout.labelsOffset),
      weightsOffset: UInt64(layout.weightsOffset), fileLength: UInt64(layout.fileLength),
      payloadChecksum: checksum.value
    ).encoded()

    let writer = try AtomicFile.Writer(path: path)
    writer.shouldContinue = shouldContinue
    do {
      try writer.append(header)
      for section in sections { try section.withBytes { bytes throws(AtomicFile.WriteError) in try writer.append(bytes) } }
      try writer.commit()
    } catch {
      writer.abandon()
      throw error
    }
  }

  static func headerChecksum(_ header: [UInt8]) -> UInt64 {
    CacheHeader.checksum(ofHeader: header)
  }

  static func store<Value: FixedWidthInteger>(_ value: Value, at offset: Int, in bytes: inout [UInt8]) {
    CacheHeader.store(value, at: offset, in: &bytes)
  }

  /// The file after the header, as byte sections padded to 64 bytes, in file order.
  private func cacheSections(metadata: [UInt8], layout: DatasetCache.Layout) -> [CacheSection] {
    var sections: [CacheSection] = []
    var metadataBlock = metadata
    metadataBlock += [UInt8](repeating: 0, count: layout.matrixOffset - DatasetCache.headerSize - metadata.count)
    sections.append(.bytes(metadataBlock))
    let matrixBytes = rowCount * features.rowStride * 4
    sections.append(.matrix(features, byteCount: matrixBytes))
    var position = layout.matrixOffset + matrixBytes
    func padding(to offset: Int) {
      if offset > position { sections.append(.bytes([UInt8](repeating: 0, count: offset - position))) }
      position = offset
    }
    if isLabeled {
      padding(to: layout.labelsOffset)
      sections.append(.bytes(labels.flatMap { value in withUnsafeBytes(of: value.littleEndian, Array.init) }))
      position += rowCount * 4
    }
    if let rowWeights {
      padding(to: layout.weightsOffset)
      sections.append(.bytes(rowWeights.flatMap { value in withUnsafeBytes(of: value.bitPattern.littleEndian, Array.init) }))
      position += rowCount * 4
    }
    padding(to: layout.fileLength)
    return sections.coalescedToBlocks()
  }
}

/// A piece of a cache file: bytes held in an array, or the matrix's own storage.
enum CacheSection {
  case bytes([UInt8])
  case matrix(FeatureMatrix, byteCount: Int)

  func withBytes<Failure: Error>(_ body: (UnsafeRawBufferPointer) throws(Failure) -> Void) throws(Failure) {
    switch self {
    case .bytes(let bytes):
      let result = bytes.withUnsafeBytes { raw in Result { () throws(Failure) in try body(raw) } }
      try result.get()
    case .matrix(let matrix, let byteCount):
      try body(UnsafeRawBufferPointer(start: matrix.storage, count: byteCount))
    }
  }
}

extension Array where Element == CacheSection {
  /// Joins consecutive byte sections, so that every section is a whole number of 32-byte
  /// checksum blocks (the matrix always is; labels and weights are padded after them).
  fileprivate func coalescedToBlocks() -> [CacheSection] {
    var result: [CacheSection] = []
    var pending: [UInt8] = []
    for section in self {
      switch section {
      case .bytes(let bytes): pending += bytes
      case .matrix:
        if !pending.isEmpty { result.append(.bytes(pending)) }
        pending = []
        result.append(section)
      }
    }
    if !pending.isEmpty { result.append(.bytes(pending)) }
    return result
  }
}
