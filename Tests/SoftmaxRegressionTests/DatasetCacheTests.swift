import Foundation
import Testing
@testable import SoftmaxRegression

@Suite("Binary dataset cache")
struct DatasetCacheTests {
  static let csv = "a,w,b,kind\n1.5,1,-2,x\n3,0.5,4e-3,y\n-0.25,2,7,z\n8,0,9,x\n"

  let temporary = TemporaryDirectory()

  func source(weights: Bool = true) throws -> Dataset {
    try Dataset(csvText: Self.csv, name: "t.csv", schema: .training(weightColumn: weights ? "w" : nil))
  }

  func writeCache(_ dataset: Dataset, weightName: String? = "w") throws -> String {
    let path = temporary.path + "/data-\(UUID().uuidString).smx"
    try dataset.writeCache(to: path, weightName: weightName)
    return path
  }

  func expectInvalid(_ path: String, _ fragment: String, sourceLocation: SourceLocation = #_sourceLocation) {
    do {
      _ = try Dataset(cacheAt: path)
      Issue.record("accepted a bad cache (\(fragment))", sourceLocation: sourceLocation)
    } catch {
      guard case .invalidCache(let why) = error.reason else {
        Issue.record("\(error)", sourceLocation: sourceLocation)
        return
      }
      #expect(fragment.isEmpty || why.contains(fragment), "\(why)", sourceLocation: sourceLocation)
      #expect(error.description.hasPrefix(path), sourceLocation: sourceLocation)
    }
  }

  @Test("round trip: features, padding, labels, classes, names and weights bit for bit")
  func roundTrip() throws {
    let original = try source()
    let path = try writeCache(original)
    #expect(DatasetCache.isCache(path: path))
    let loaded = try Dataset(cacheAt: path, schema: .training(weightColumn: "w"))
    #expect(ParallelLoaderTests.fingerprint(loaded) == ParallelLoaderTests.fingerprint(original))
    let viaContents = try Dataset(contentsOf: path, schema: .training(weightColumn: "w"))
    #expect(ParallelLoaderTests.fingerprint(viaContents) == ParallelLoaderTests.fingerprint(original))
    #expect(try Dataset(cacheAt: path).rowWeights == nil, "weights are used only when asked for")
    let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int
    #expect(size == DatasetCache.fileSize(of: original, weightName: "w"))
  }

  @Test("training from a cache reads its matrix where it lies and leaves the file unchanged")
  func trainingKeepsTheMapping() throws {
    let path = try writeCache(try source())
    let before = try Data(contentsOf: URL(fileURLWithPath: path))
    let loaded = try Dataset(cacheAt: path)
    let storage = loaded.features.storage
    _ = try Trainer().fit(loaded)
    #expect(loaded.features.isMapped && loaded.features.storage == storage)
    #expect(loaded.value(row: 0, column: 0) == 1.5)
    #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
  }

  @Test("every truncation is rejected")
  func truncated() throws {
    let path = try writeCache(try source())
    let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
    for length in stride(from: 0, to: bytes.count, by: 7) {
      try bytes.prefix(length).write(to: URL(fileURLWithPath: path))
      expectInvalid(path, length < 8 ? "" : "truncated")
    }
  }

  @Test("a changed byte anywhere is caught by a checksum or a check")
  func corrupted() throws {
    let path = try writeCache(try source())
    let original = try Data(contentsOf: URL(fileURLWithPath: path))
    var random = SplitMix64(seed: 5)
    for _ in 0..<300 {
      var bytes = original
      let position = Int(random.next() % UInt64(bytes.count))
      bytes[position] ^= UInt8(1 + random.next() % 255)
      try bytes.write(to: URL(fileURLWithPath: path))
      expectInvalid(path, "")
    }
  }

  @Test("a version 1 cache, whose values were stored as read, still loads")
  func versionOne() throws {
    let original = try source(weights: false)
    let asRead = Dataset(
      features: original.features, encoding: .identity(featureCount: original.featureCount),
      labels: original.labels, classNames: original.classNames,
      featureNames: original.featureNames, labelName: original.labelName)
    let path = try writeCache(asRead, weightName: nil)
    var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    let metadataEnd = bytes[DatasetCache.headerSize...].firstIndex(of: 0) ?? bytes.count
    let metadata = String(decoding: bytes[DatasetCache.headerSize..<metadataEnd], as: UTF8.self)
    #expect(metadata.contains("column_offset"))
    // Version 1 metadata had no encoding: blank it out (JSON allows the spaces) and reseal.
    let trimmed = metadata.replacing(/,"column_exponent":\[[^\]]*\],"column_offset":\[[^\]]*\]/, with: "")
    let padded = Array(trimmed.utf8) + [UInt8](repeating: 0x20, count: metadata.utf8.count - trimmed.utf8.count)
    bytes.replaceSubrange(DatasetCache.headerSize..<metadataEnd, with: padded)
    bytes[8] = 1
    var payload = Checksum64()
    bytes.withUnsafeBytes { payload.update(UnsafeRawBufferPointer(rebasing: $0[DatasetCache.headerSize...])) }
    Dataset.store(payload.value, at: 88, in: &bytes)
    Dataset.store(Dataset.headerChecksum(Array(bytes.prefix(DatasetCache.headerSize))), at: 96, in: &bytes)
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    let loaded = try Dataset(cacheAt: path)
    #expect(loaded.encoding.isIdentity)
    #expect(ParallelLoaderTests.fingerprint(loaded) == ParallelLoaderTests.fingerprint(asRead))
    #expect(loaded.value(row: 2, column: 0) == Double(original.features[2, 0]))
  }

  @Test("another version, a foreign file and an inconsistent header are refused clearly")
  func foreignFiles() throws {
    let path = try writeCache(try source())
    var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
    bytes[8] = 3
    try bytes.write(to: URL(fileURLWithPath: path))
    expectInvalid(path, "format version 3")
    try Data("a,b\n1,2\n".utf8).write(to: URL(fileURLWithPath: path))
    expectInvalid(path, "magic")
    // A header whose checksum is right but whose row count points past the file.
    var header = Array(try Data(contentsOf: URL(fileURLWithPath: try writeCache(try source()))))
    Dataset.store(UInt64(1 << 40), at: 16, in: &header)
    Dataset.store(Dataset.headerChecksum(header), at: 96, in: &header)
    try Data(header).write(to: URL(fileURLWithPath: path))
    expectInvalid(path, "does not fit")
  }

  @Test("a cache used with another label or weight column, or without labels, says so")
  func schemaMismatch() throws {
    let path = try writeCache(try source())
    let cases: [(Dataset.CSVSchema, String)] = [
      (.training(labelColumn: "b"), "label column \"kind\""),
      (.training(weightColumn: "v"), "weight column is \"w\""),
      (.matching(featureNames: ["a", "c"], classNames: ["x", "y", "z"], labelColumn: "kind", requiresLabels: false), "missing: c"),
      (.matching(featureNames: ["a", "b"], classNames: ["x", "y"], labelColumn: "kind", requiresLabels: true), "not a class of the model"),
    ]
    for (schema, fragment) in cases {
      #expect {
        try Dataset(cacheAt: path, schema: schema)
      } throws: { error in
        (error as? DatasetError)?.description.contains(fragment) == true
      }
    }
    let unweighted = try writeCache(try source(weights: false), weightName: nil)
    #expect(throws: DatasetError.self) { try Dataset(cacheAt: unweighted, schema: .training(weightColumn: "w")) }
  }

  @Test("for a model: features matched by name in the model's order, labels mapped to its classes")
  func modelSchema() throws {
    let path = try writeCache(try source(weights: false), weightName: nil)
    let loaded = try Dataset(
      cacheAt: path,
      schema: .matching(featureNames: ["b", "a", "w"], classNames: ["z", "y", "x", "v"], labelColumn: "kind", requiresLabels: true))
    #expect(loaded.featureNames == ["b", "a", "w"])
    #expect((0..<3).map { loaded.value(row: 0, column: $0) } == [-2, 1.5, 1])
    #expect(loaded.classNames == ["z", "y", "x", "v"])
    #expect(loaded.labels == [2, 1, 0, 2])
    let unlabeled = try Dataset(
      cacheAt: path,
      schema: .matching(featureNames: ["a", "w", "b"], classNames: ["x"], labelColumn: "kind", requiresLabels: false))
    #expect(!unlabeled.isLabeled)
  }

  @Test("one schema step: a CSV and its cache read for a model give the same dataset, columns reordered and classes mapped")
  func sameSchemaStep() throws {
    let csvPath = temporary.path + "/same.csv"
    try Data(Self.csv.utf8).write(to: URL(fileURLWithPath: csvPath))
    let cachePath = try writeCache(try Dataset(contentsOf: csvPath), weightName: nil)
    let schemas: [Dataset.Schema] = [
      .matching(featureNames: ["b", "w", "a"], classNames: ["z", "q", "y", "x"], labelColumn: "kind", requiresLabels: true),
      .matching(featureNames: ["w", "a", "b"], classNames: ["x", "y", "z"], labelColumn: "kind", requiresLabels: false),
      .training(),
    ]
    for schema in schemas {
      let fromCSV = try Dataset(contentsOf: csvPath, schema: schema)
      let fromCache = try Dataset(contentsOf: cachePath, schema: schema)
      #expect(fromCSV.featureNames == fromCache.featureNames && fromCSV.classNames == fromCache.classNames)
      #expect(fromCSV.labels == fromCache.labels)
      for row in 0..<fromCSV.rowCount {
        for column in 0..<fromCSV.featureCount {
          #expect(fromCSV.value(row: row, column: column) == fromCache.value(row: row, column: column))
        }
      }
    }
    #expect(try Dataset(contentsOf: cachePath, schema: schemas[0]).labels == [3, 2, 0, 3])
  }

  @Test("read-ahead and drop-behind change nothing: a cache trained as if larger than memory gives the same model")
  func streamingFromDiskSameModel() throws {
    let path = temporary.path + "/clusters.smx"
    try GaussianClusters(rowCount: 6000, featureCount: 30, classCount: 4, seed: 3).makeDataset().writeCache(to: path)
    var options = TrainingOptions()
    options.maxEpochs = 15
    let inMemory = try Trainer(options: options).fit(try Dataset(cacheAt: path)).model
    let streamed = try Dataset(cacheAt: path)
    #expect(!streamed.features.streamsFromDisk, "a small file fits in memory")
    streamed.features.streamsFromDisk = true
    let fromDisk = try Trainer(options: options).fit(streamed).model
    #expect(try fromDisk.fileBytes() == inMemory.fileBytes())
    #expect(try Data(contentsOf: URL(fileURLWithPath: path)).count > 6000 * 32 * 4, "the file is still whole")
  }
}
