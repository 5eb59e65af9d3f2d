// The one libFuzzer entry point of the fuzz binary: SOFTMAX_FUZZ_TARGET (csv, model or
// cache) chooses the target, so .ci/fuzz compiles the library with the sanitizers once for
// all of them.
#if canImport(Glibc)
  import Glibc
#endif

let fuzzTarget = getenv("SOFTMAX_FUZZ_TARGET").map { String(cString: $0) } ?? ""

/// Called once by libFuzzer before the first input: checks the target, and arranges for the
/// cache target's scratch file to go when the fuzzer exits normally (.ci/fuzz also removes
/// it after a crash).
@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(
  _ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>
) -> Int32 {
  guard ["csv", "model", "cache"].contains(fuzzTarget) else {
    _ = "SOFTMAX_FUZZ_TARGET must be csv, model or cache\n".withCString { write(2, $0, strlen($0)) }
    exit(2)
  }
  if fuzzTarget == "cache" { atexit { unlink(fuzzCachePath) } }
  return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
  switch fuzzTarget {
  case "csv": return fuzzCSV(data, size)
  case "model": return fuzzModel(data, size)
  default: return fuzzCache(data, size)
  }
}
