/// A fast 64-bit checksum for the binary dataset cache: four independent lanes of 64-bit
/// words, each mixed by multiply and rotate (the round and constants of xxHash64), then
/// combined and avalanched with the total length.
///
/// The cache pads every section to 64 bytes, so its inputs are whole 32-byte blocks; a
/// shorter tail is mixed in as a block padded with zeros (the length, mixed in at the end,
/// tells the two apart). The values are not those of xxHash64. It detects corruption, not
/// tampering. Cost: about one multiply per 8 bytes, several GB/s.
struct Checksum64 {
  private static let prime1: UInt64 = 0x9E37_79B1_85EB_CA87
  private static let prime2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
  private static let prime3: UInt64 = 0x1656_67B1_9E37_79F9

  private var lanes: (UInt64, UInt64, UInt64, UInt64) = (
    prime1 &+ prime2, prime2, 0, 0 &- prime1
  )
  private var length: UInt64 = 0

  /// Mixes in `bytes` (whole 32-byte blocks, then any tail padded with zeros).
  mutating func update(_ bytes: UnsafeRawBufferPointer) {
    guard let base = bytes.baseAddress else { return }
    let wholeBlocks = bytes.count / 32 * 32
    if wholeBlocks < bytes.count {
      var tail = [UInt8](repeating: 0, count: 32)
      for index in wholeBlocks..<bytes.count { tail[index - wholeBlocks] = bytes[index] }
      update(UnsafeRawBufferPointer(rebasing: bytes[0..<wholeBlocks]))
      tail.withUnsafeBytes { mixBlocks($0) }
      length &+= UInt64(bytes.count - wholeBlocks)
      return
    }
    mixBlocks(UnsafeRawBufferPointer(start: base, count: bytes.count))
    length &+= UInt64(bytes.count)
  }

  /// Mixes in whole 32-byte blocks; the caller adds their length.
  private mutating func mixBlocks(_ bytes: UnsafeRawBufferPointer) {
    guard let base = bytes.baseAddress else { return }
    var (a, b, c, d) = lanes
    var offset = 0
    while offset < bytes.count {
      a = Self.round(a, base.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
      b = Self.round(b, base.loadUnaligned(fromByteOffset: offset + 8, as: UInt64.self))
      c = Self.round(c, base.loadUnaligned(fromByteOffset: offset + 16, as: UInt64.self))
      d = Self.round(d, base.loadUnaligned(fromByteOffset: offset + 24, as: UInt64.self))
      offset += 32
    }
    lanes = (a, b, c, d)
  }

  /// A checksum continuing from `state` (another checksum's `state`).
  init(state: [UInt64]) {
    precondition(state.count == 5, "a checksum state is five words")
    lanes = (state[0], state[1], state[2], state[3])
    length = state[4]
  }

  /// A new checksum.
  init() {}

  /// The running state: the lanes and the length. A checksum made from it and fed the
  /// bytes that follow (from a 32-byte boundary) ends where one checksum over all would.
  var state: [UInt64] { [lanes.0, lanes.1, lanes.2, lanes.3, length] }

  /// The checksum of everything mixed in so far.
  var value: UInt64 {
    let (a, b, c, d) = lanes
    var hash = a.rotated(1) &+ b.rotated(7) &+ c.rotated(12) &+ d.rotated(18)
    hash ^= length
    hash ^= hash >> 33
    hash &*= Self.prime2
    hash ^= hash >> 29
    hash &*= Self.prime3
    hash ^= hash >> 32
    return hash
  }

  @inline(__always)
  private static func round(_ lane: UInt64, _ word: UInt64) -> UInt64 {
    (lane &+ UInt64(littleEndian: word) &* prime2).rotated(31) &* prime1
  }
}

extension UInt64 {
  @inline(__always)
  fileprivate func rotated(_ count: UInt64) -> UInt64 {
    (self << count) | (self >> (64 - count))
  }
}
