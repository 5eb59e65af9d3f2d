// libFuzzer target: CSV bytes through the parallel loader (chunk size and thread count taken
// from the first byte, the schema from the second: missing-value rule, delimiter, header,
// level limit, a forced categorical column) against the serial reference reader. Any difference, or any trap, is a
// finding. The bytes go in raw (not repaired into UTF-8), so invalid UTF-8 is fuzzed too.
// Built by .ci/fuzz together with the library sources (same module).
#if canImport(Glibc)
  import Glibc
#endif

/// Set by `.ci/fuzz --self-test` (SOFTMAX_FUZZ_PLANTED_CRASH=1): every input crashes, and
/// the fuzz run must then fail.
let plantedCrash = getenv("SOFTMAX_FUZZ_PLANTED_CRASH") != nil

func fuzzCSV(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
  guard size >= 2 else { return 0 }
  if plantedCrash { abort() }
  let chunkSize = 1 + Int(data[0] % 64)
  let threads = 1 + Int(data[0] >> 6)
  let schema = fuzzedSchema(data[1])
  let bytes = UnsafeRawBufferPointer(start: data + 2, count: size - 2)
  let serial = FuzzOutcome.of { () throws(DatasetError) in
    try Dataset.parseSerially(csvBytes: bytes, name: "fuzz.csv", schema: schema)
  }
  var fellBack = false
  let parallel = FuzzOutcome.of { () throws(DatasetError) in
    let result = try Dataset.parseReportingFallback(
      csvBytes: bytes, name: "fuzz.csv", schema: schema, threadCount: threads, chunkSize: chunkSize)
    fellBack = result.fellBackToSerial
    return result.dataset
  }
  if serial != parallel || (fellBack && !serial.hasPrefix("error")) {
    print("MISMATCH chunk \(chunkSize) threads \(threads)\nserial:\n\(serial)\nparallel:\n\(parallel)")
    abort()
  }
  return 0
}

/// The schema a byte selects: bits 0–1 the missing-value rule (3: error), bits 2–3 the
/// delimiter (`,` `;` tab `,`), bit 4 no header, bit 5 at most 3 levels, bit 6 the first
/// column forced categorical (`c1` without a header), bit 7 ignore the second column.
func fuzzedSchema(_ byte: UInt8) -> Dataset.Schema {
  var schema = Dataset.Schema.training()
  schema.missing = [.error, .mean, .drop, .error][Int(byte & 3)]
  schema.delimiter = [UInt8(ascii: ","), UInt8(ascii: ";"), 9, UInt8(ascii: ",")][Int(byte >> 2 & 3)]
  schema.hasHeader = byte & 16 == 0
  if byte & 32 != 0 { schema.maxLevels = 3 }
  if byte & 64 != 0 && !schema.hasHeader { schema.categoricalColumns = ["c1"] }
  if byte & 128 != 0 && !schema.hasHeader { schema.ignoredColumns = ["c2"] }
  return schema
}
