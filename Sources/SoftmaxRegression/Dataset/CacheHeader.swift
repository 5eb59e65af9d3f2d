/// The 128-byte header of a binary cache (`DatasetCache`), as values: the one place that
/// knows where each field lies. The writer encodes it; the reader decodes it, then checks
/// every value against the file.
struct CacheHeader: Equatable {
  var version: UInt32 = DatasetCache.version
  /// Bit 0: labels present; bit 1: weights present.
  var flags: UInt32 = 0
  var rowCount: UInt64 = 0
  var featureCount: UInt64 = 0
  var rowStride: UInt64 = 0
  var metadataOffset: UInt64 = UInt64(CacheHeader.size)
  var metadataLength: UInt64 = 0
  var matrixOffset: UInt64 = 0
  var labelsOffset: UInt64 = 0
  var weightsOffset: UInt64 = 0
  var fileLength: UInt64 = 0
  /// The checksum of bytes 128 ..< fileLength.
  var payloadChecksum: UInt64 = 0

  static let size = 128
  fileprivate static let versionOffset = 8
  fileprivate static let flagsOffset = 12
  /// Where the nine 64-bit size and offset fields start, in declaration order.
  fileprivate static let fieldsOffset = 16
  fileprivate static let payloadChecksumOffset = 88
  /// The header checksum covers bytes 0 ..< 96 and is stored at 96; 104 ..< 128 are zero.
  private static let headerChecksumOffset = 96
  private static let reservedRange = 104..<128

  private var sizeFields: [UInt64] {
    [rowCount, featureCount, rowStride, metadataOffset, metadataLength, matrixOffset,
     labelsOffset, weightsOffset, fileLength]
  }

  /// The 128 bytes: magic, fields, header checksum, zero padding.
  func encoded() -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: Self.size)
    bytes.replaceSubrange(0..<DatasetCache.magic.count, with: DatasetCache.magic)
    Self.store(version, at: Self.versionOffset, in: &bytes)
    Self.store(flags, at: Self.flagsOffset, in: &bytes)
    for (index, field) in sizeFields.enumerated() {
      Self.store(field, at: Self.fieldsOffset + 8 * index, in: &bytes)
    }
    Self.store(payloadChecksum, at: Self.payloadChecksumOffset, in: &bytes)
    Self.store(Self.checksum(ofHeader: bytes), at: Self.headerChecksumOffset, in: &bytes)
    return bytes
  }

  /// Whether `bytes` (at least 128) carry a correct header checksum.
  static func hasValidChecksum(_ bytes: UnsafeRawBufferPointer) -> Bool {
    checksum(ofHeader: Array(bytes.prefix(size)))
      == UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: headerChecksumOffset, as: UInt64.self))
  }

  /// Whether the reserved bytes of `bytes` (at least 128) are zero.
  static func hasZeroReservedBytes(_ bytes: UnsafeRawBufferPointer) -> Bool {
    bytes[reservedRange].allSatisfy { $0 == 0 }
  }

  /// The checksum of the first 96 bytes of `header`.
  static func checksum(ofHeader header: [UInt8]) -> UInt64 {
    var checksum = Checksum64()
    header.withUnsafeBytes { checksum.update(UnsafeRawBufferPointer(rebasing: $0[0..<headerChecksumOffset])) }
    return checksum.value
  }

  /// Writes `value` little-endian at `offset`.
  static func store<Value: FixedWidthInteger>(_ value: Value, at offset: Int, in bytes: inout [UInt8]) {
    withUnsafeBytes(of: value.littleEndian) { bytes.replaceSubrange(offset..<offset + $0.count, with: $0) }
  }
}

extension CacheHeader {
  /// The values stored in the first 128 of `bytes` (which must hold them), unchecked.
  init(decoding bytes: UnsafeRawBufferPointer) {
    func load<Value: FixedWidthInteger>(_ type: Value.Type, at offset: Int) -> Value {
      Value(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: Value.self))
    }
    version = load(UInt32.self, at: CacheHeader.versionOffset)
    flags = load(UInt32.self, at: CacheHeader.flagsOffset)
    let fields = (0..<9).map { load(UInt64.self, at: CacheHeader.fieldsOffset + 8 * $0) }
    (rowCount, featureCount, rowStride) = (fields[0], fields[1], fields[2])
    (metadataOffset, metadataLength, matrixOffset) = (fields[3], fields[4], fields[5])
    (labelsOffset, weightsOffset, fileLength) = (fields[6], fields[7], fields[8])
    payloadChecksum = load(UInt64.self, at: CacheHeader.payloadChecksumOffset)
  }
}
