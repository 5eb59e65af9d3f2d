// libFuzzer target: bytes as a binary dataset cache (.smx), read through a real file and
// mapping. It must load or throw DatasetError, never trap or read out of bounds; a cache
// that loads must hold only finite features, zero padding and valid labels.
// Random bytes almost never pass the checksums, so each input is also tried "resealed":
// with the header's file length set to the input's and both checksums recomputed, so that
// the layout, metadata and value checks behind them are explored too, at every length.
#if canImport(Glibc)
  import Glibc
#endif
import Foundation

let fuzzCachePath = "/tmp/softmax-fuzz-\(getpid()).smx"

func fuzzCache(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
  let bytes = Array(UnsafeBufferPointer(start: data, count: size))
  check(bytes)
  if size >= DatasetCache.headerSize { check(resealed(bytes)) }
  return 0
}

private func resealed(_ original: [UInt8]) -> [UInt8] {
  var bytes = original
  Dataset.store(UInt64(bytes.count), at: 80, in: &bytes)
  var payload = Checksum64()
  bytes.withUnsafeBytes { payload.update(UnsafeRawBufferPointer(rebasing: $0[DatasetCache.headerSize...])) }
  Dataset.store(payload.value, at: 88, in: &bytes)
  Dataset.store(Dataset.headerChecksum(Array(bytes.prefix(DatasetCache.headerSize))), at: 96, in: &bytes)
  return bytes
}

private func check(_ bytes: [UInt8]) {
  let descriptor = open(fuzzCachePath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
  guard descriptor >= 0 else { abort() }
  _ = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
  close(descriptor)
  guard let dataset = try? Dataset(cacheAt: fuzzCachePath) else { return }
  let matrix = dataset.features
  for row in 0..<matrix.rowCount {
    let values = matrix.rowPointer(row)
    for column in 0..<matrix.rowStride {
      let ok = column < matrix.featureCount ? values[column].isFinite : values[column] == 0
      if !ok { print("loaded a bad value at row \(row), column \(column)"); abort() }
    }
  }
  if dataset.labels.contains(where: { $0 < 0 || Int($0) >= dataset.classCount }) {
    print("loaded a bad label")
    abort()
  }
}
