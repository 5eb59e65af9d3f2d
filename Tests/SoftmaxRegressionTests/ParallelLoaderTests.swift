import Foundation
import Testing
@testable import SoftmaxRegression

/// The parallel CSV loader against the serial reference reader: same dataset bit for bit, or
/// the same error, for every chunk size (chunk boundaries falling on every byte) and thread
/// count.
@Suite("Parallel CSV loading")
struct ParallelLoaderTests {
  /// The serial reader's outcome and the parallel loader's, rendered comparably.
  static func outcome(_ load: () throws(DatasetError) -> Dataset) -> String {
    do {
      return fingerprint(try load())
    } catch {
      return "error: \(error.description) [\(error.reason)]"
    }
  }

  /// Everything a dataset holds, bit for bit (feature bits including the padding).
  static func fingerprint(_ dataset: Dataset) -> String {
    var parts = [
      "features \(dataset.featureNames)", "classes \(dataset.classNames)", "label \(dataset.labelName)",
      "labels \(dataset.labels)", "weights \(dataset.rowWeights.map { $0.map(\.bitPattern) } ?? [])",
      "offsets \(dataset.encoding.offset.map(\.bitPattern))", "exponents \(dataset.encoding.exponent)",
    ]
    let matrix = dataset.features
    for row in 0..<matrix.rowCount {
      let values = UnsafeBufferPointer(start: matrix.rowPointer(row), count: matrix.rowStride)
      parts.append(values.map { String($0.bitPattern, radix: 16) }.joined(separator: " "))
    }
    return parts.joined(separator: "\n")
  }

  static func expectSameAsSerial(
    _ text: String, schema: Dataset.CSVSchema = .training(), chunkSizes: [Int], threads: [Int] = [1, 3],
    sourceLocation: SourceLocation = #_sourceLocation
  ) {
    let serial = outcome { () throws(DatasetError) in
      try Dataset.parseSerially(csvText: text, name: "t.csv", schema: schema)
    }
    for chunkSize in chunkSizes {
      for threadCount in threads {
        var fellBack = false
        let parallel = outcome { () throws(DatasetError) in
          let result = try Dataset.parseReportingFallback(
            csvText: text, name: "t.csv", schema: schema, threadCount: threadCount, chunkSize: chunkSize)
          fellBack = result.fellBackToSerial
          return result.dataset
        }
        #expect(
          !fellBack, "a valid file needed the serial reader: chunk \(chunkSize), text \(text.debugDescription)",
          sourceLocation: sourceLocation)
        #expect(
          parallel == serial, "chunk \(chunkSize), \(threadCount) threads, text \(text.debugDescription)",
          sourceLocation: sourceLocation)
        if parallel != serial { return }
      }
    }
  }

  static let validTexts: [(name: String, text: String, schema: Dataset.CSVSchema)] = [
    ("plain", "a,b,label\n1.5,-2,x\n3,4e-3,y\n-0.0001,+7,x\n", .training()),
    ("no final line break", "a,b,label\n1,2,x\n3,4,y", .training()),
    ("CRLF and blank lines", "a,b,label\r\n\r\n1,2,x\r\n\r\n\r\n3,4,y\r\n\r\n", .training()),
    ("lone CR", "a,b,label\r1,2,x\r3,4,y\r", .training()),
    ("BOM and quoted header", "\u{FEFF}\"a\",\"b\",\"label\"\n1,2,x\n3,4,y\n", .training()),
    ("quoted fields with commas, quotes and line breaks",
      "a,b,label\n\"1\",2,\"x,\"\"q\"\"\nz\"\n3,\" 4 \",\"y\r\n\"\n5,6,\"x,\"\"q\"\"\nz\"\n", .training()),
    ("spaces around numbers", "a,b,label\n 1 ,\t2,x\n3 , 4,y\n", .training()),
    ("long and odd numbers",
      "a,b,label\n123456789012345678901234,1e-45,x\n0.000000000000000000000012345,3.4028234e38,y\n"
        + "00000000000000000000001,.5,x\n1.,-.25e+2,y\n", .training()),
    ("label first and by name", "kind,a,b\nx,1,2\ny,3,4\nz,5,6\n", .training(labelColumn: "kind")),
    ("many classes", "a,label\n" + (0..<100).map { "\($0 % 7),c\($0 % 41)\n" }.joined(), .training()),
    ("weights", "a,w,label\n1,0.5,x\n2,0,y\n3,2,x\n", .training(weightColumn: "w")),
    ("model schema, label skipped",
      "b,label,a\n1,q,2\n3,r,4\n", .matching(featureNames: ["a", "b"], classNames: ["q", "r"], labelColumn: "label", requiresLabels: false)),
    ("model schema, label required",
      "b,label,a\n1,r,2\n3,r,4\n", .matching(featureNames: ["a", "b"], classNames: ["q", "r"], labelColumn: "label", requiresLabels: true)),
    ("model schema, no label column",
      "a,b\n1,2\n3,4\n", .matching(featureNames: ["a", "b"], classNames: ["q", "r"], labelColumn: "label", requiresLabels: false)),
  ]

  @Test("valid files load bit-identically for every chunk size and thread count",
    arguments: 0..<validTexts.count)
  func validFiles(index: Int) {
    let testCase = Self.validTexts[index]
    Self.expectSameAsSerial(
      testCase.text, schema: testCase.schema, chunkSizes: Array(1...40) + [64, 1 << 22])
  }

  @Test("every bad input gives the serial reader's error, with chunk boundaries everywhere",
    arguments: 0..<DatasetTests.errorCases.count)
  func badInput(index: Int) {
    let testCase = DatasetTests.errorCases[index]
    Self.expectSameAsSerial(testCase.text, chunkSizes: Array(1...24) + [1 << 22])
  }

  @Test("model-schema errors (unknown class, missing or extra column) match the serial reader",
    arguments: [
      "b,label,a\n1,q,2\n3,s,4\n", "b,label\n1,q\n", "b,label,a,c\n1,q,2,3\n", "b,a\n1,2\n",
    ])
  func modelSchemaErrors(text: String) {
    Self.expectSameAsSerial(
      text,
      schema: .matching(featureNames: ["a", "b"], classNames: ["q", "r"], labelColumn: "label", requiresLabels: true),
      chunkSizes: Array(1...12))
  }

  /// Random edits of a valid file: quotes, commas, line breaks, NULs, letters, spaces
  /// inserted, deleted or replaced anywhere. The serial reader is the oracle.
  @Test("randomly damaged files: the same dataset or the same first error as the serial reader")
  func randomDamage() {
    var random = SplitMix64(seed: 2024)
    let base = "a,b,label\n1.25,-3,x\n\"4\",5e2,\"y\nz\"\n7,0.001,x\r\n\r\n8,9,\"q\"\"r\"\n10,11,y\n"
    let alphabet: [UInt8] = Array("\",\n\r\0 x.-e19\"".utf8)
    for _ in 0..<600 {
      var bytes = Array(base.utf8)
      for _ in 0..<(1 + Int(random.next() % 3)) {
        let position = Int(random.next() % UInt64(bytes.count + 1))
        let byte = alphabet[Int(random.next() % UInt64(alphabet.count))]
        switch random.next() % 3 {
        case 0: bytes.insert(byte, at: position)
        case 1: if position < bytes.count { bytes.remove(at: position) }
        default: if position < bytes.count { bytes[position] = byte }
        }
      }
      let text = String(decoding: bytes, as: UTF8.self)
      Self.expectSameAsSerial(text, chunkSizes: [1, 2, 3, 5, 8, 13, 1 << 22], threads: [2])
    }
  }

  @Test("a file on disk loads the same with 1, 2 and 5 threads, and as the serial reader")
  func fileOnDisk() throws {
    var text = "x,y,z,label\n"
    var random = SplitMix64(seed: 9)
    for row in 0..<3000 {
      let values = (0..<3).map { _ in String(Float(random.nextGaussian()) * 100) }
      text += values.joined(separator: ",") + ",c\(row % 4)\n"
    }
    let temporary = TemporaryDirectory()
    defer { temporary.remove() }
    let path = temporary.path + "/data.csv"
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    let serial = try Self.fingerprint(Dataset.parseSerially(csvText: text, name: path, schema: .training()))
    for threads in [1, 2, 5] {
      var reports: [Int] = []
      let loaded = try Dataset(csvAt: path, threadCount: threads) { done, total in
        #expect(total == text.utf8.count)
        reports.append(done)
      }
      #expect(Self.fingerprint(loaded) == serial)
      #expect(reports.last == text.utf8.count)
      #expect(reports == reports.sorted())
    }
  }

  @Test("the chunk plan counts rows under both quote states and finds every row start")
  func chunkPlan() {
    let text = "h\n\"a\nb\"\n\n\"c\"\"\r\n\"\r\nd\r\n"
    var copy = text
    copy.withUTF8 { buffer in
      let bytes = UnsafeRawBufferPointer(buffer)
      for chunkSize in 1...bytes.count {
        let plan = CSVChunkPlan(
          bytes: bytes, bodyStart: 2, chunkSize: chunkSize, executor: ShardedExecutor(threadCount: 2))
        #expect(plan.rowCount == 3, "chunk \(chunkSize)")
        #expect(!plan.endsInsideQuotes)
        #expect(plan.chunks.map(\.rowCount).reduce(0, +) == 3)
        let starts = Set(plan.chunks.filter { $0.rowCount > 0 }.map(\.rowsStart))
        #expect(starts.isSubset(of: [2, 8, 9, 17, 18]), "chunk \(chunkSize): \(starts.sorted())")
      }
    }
  }
}
