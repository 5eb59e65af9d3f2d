// libFuzzer target: CSV bytes through the parallel loader (chunk size and thread count taken
// from the input) against the serial reference reader. Any difference, or any trap, is a
// finding. The bytes go in raw (not repaired into UTF-8), so invalid UTF-8 is fuzzed too.
// Built by .ci/fuzz together with the library sources (same module).
#if canImport(Glibc)
  import Glibc
#endif

/// Set by `.ci/fuzz --self-test` (SOFTMAX_FUZZ_PLANTED_CRASH=1): every input crashes, and
/// the fuzz run must then fail.
let plantedCrash = getenv("SOFTMAX_FUZZ_PLANTED_CRASH") != nil

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCSV(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
  guard size >= 1 else { return 0 }
  if plantedCrash { abort() }
  let chunkSize = 1 + Int(data[0] % 64)
  let threads = 1 + Int(data[0] >> 6)
  let bytes = UnsafeRawBufferPointer(start: data + 1, count: size - 1)
  let serial = FuzzOutcome.of { () throws(DatasetError) in
    try Dataset.parseSerially(csvBytes: bytes, name: "fuzz.csv", schema: .training())
  }
  var fellBack = false
  let parallel = FuzzOutcome.of { () throws(DatasetError) in
    let result = try Dataset.parseReportingFallback(
      csvBytes: bytes, name: "fuzz.csv", schema: .training(), threadCount: threads, chunkSize: chunkSize)
    fellBack = result.fellBackToSerial
    return result.dataset
  }
  if serial != parallel || (fellBack && !serial.hasPrefix("error")) {
    print("MISMATCH chunk \(chunkSize) threads \(threads)\nserial:\n\(serial)\nparallel:\n\(parallel)")
    abort()
  }
  return 0
}
