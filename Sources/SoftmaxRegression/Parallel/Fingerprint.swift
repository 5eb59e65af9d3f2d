/// A 64-bit FNV-1a hash of a stream of 64-bit words: what processes compare to check that
/// they hold the same values (parameters, labels, a pass's point), and what benchmarks print
/// to compare runs. It detects differences, not tampering.
public struct Fingerprint: Sendable {
  /// The hash of the words mixed in so far.
  public private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

  /// The hash of no words.
  public init() {}

  /// The hash of `words`.
  public init(_ words: some Sequence<UInt64>) {
    mix(words)
  }

  /// Mixes in `word`.
  public mutating func mix(_ word: UInt64) {
    value = (value ^ word) &* 0x100_0000_01b3
  }

  /// Mixes in `words`, in order.
  public mutating func mix(_ words: some Sequence<UInt64>) {
    for word in words { mix(word) }
  }
}
