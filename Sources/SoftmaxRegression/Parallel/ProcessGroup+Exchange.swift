#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Exchanges of arbitrary values over a `ProcessGroup`, built on its `Double` messages:
/// what a load in shares needs once (chunk scans, text codes, labels, boundary rows),
/// never what a pass needs.
extension ProcessGroup {
  /// Every process's `values`, in rank order (collective): each process broadcasts its
  /// count, then its values. O(processes) broadcasts.
  func allGather(_ values: [Double]) -> [[Double]] {
    (0..<count).map { root in
      var length = [Double(rank == root ? values.count : 0)]
      length.withUnsafeMutableBufferPointer { broadcast($0, from: root) }
      var received = rank == root ? values : [Double](repeating: 0, count: Int(length[0]))
      received.withUnsafeMutableBufferPointer { broadcast($0, from: root) }
      return received
    }
  }

  /// Every process's `bytes`, in rank order (collective); they travel eight to a `Double`.
  func allGather(bytes: [UInt8]) -> [[UInt8]] {
    var packed = [Double](repeating: 0, count: 1 + (bytes.count + 7) / 8)
    packed[0] = Double(bytes.count)
    packed.withUnsafeMutableBytes { target in
      bytes.withUnsafeBytes { source in
        guard let base = source.baseAddress else { return }
        memcpy(target.baseAddress! + 8, base, source.count)
      }
    }
    return allGather(packed).map { values in
      let byteCount = Int(values.first ?? 0)
      return values.withUnsafeBytes { [UInt8]($0.dropFirst(8).prefix(byteCount)) }
    }
  }

  /// Sends `byteCount` bytes (a multiple of 8) at `bytes` to process `destination`.
  func send(bytes: UnsafeRawPointer, byteCount: Int, to destination: Int) {
    guard byteCount > 0 else { return }
    var values = [Double](repeating: 0, count: byteCount / 8)
    values.withUnsafeMutableBytes { $0.copyMemory(from: UnsafeRawBufferPointer(start: bytes, count: byteCount)) }
    values.withUnsafeBufferPointer { send($0, to: destination) }
  }

  /// Receives `byteCount` bytes (a multiple of 8) from process `source` into `bytes`.
  func receive(bytes: UnsafeMutableRawPointer, byteCount: Int, from source: Int) {
    guard byteCount > 0 else { return }
    var values = [Double](repeating: 0, count: byteCount / 8)
    values.withUnsafeMutableBufferPointer { receive($0, from: source) }
    values.withUnsafeBytes { bytes.copyMemory(from: $0.baseAddress!, byteCount: byteCount) }
  }
}

extension ProcessGroup {
  /// Throws `failure` where there is one, and `.failedInAnotherProcess` on every other
  /// process when any has one (collective: a vote), so that all stop before the next
  /// collective call or none does. In one process, throws `failure` if there is one.
  func settle(_ failure: DatasetError?, file: String) throws(DatasetError) {
    if count > 1, let first = firstFailure(failure != nil), failure == nil {
      throw DatasetError(file: file, reason: .failedInAnotherProcess(rank: first))
    }
    if let failure { throw failure }
  }
}
