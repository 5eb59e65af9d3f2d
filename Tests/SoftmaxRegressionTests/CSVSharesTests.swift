import Foundation
import Testing
@testable import SoftmaxRegression

/// A CSV read in shares by several processes (simulated by `ThreadWorld`): each parses only
/// its chunks, yet classes, levels, fills, drops, labels and weights, and the trained model,
/// are those one process reads and trains, bit for bit.
struct CSVSharesTests {
  /// 9,000 rows of about 40 bytes, so 8 kB chunks give about 45 chunks: a numeric column
  /// with missing cells, a categorical one with missing cells, weights, and a class that
  /// first appears in the last quarter (in a later process's share than the others). More
  /// rows than a Hessian sample (4,096), so no process needs them all.
  static let text: String = {
    var random = SplitMix64(seed: 77)
    var lines = ["x1,color,x2,w,label"]
    let colors = ["red", "green", "blue", "teal"]
    for row in 0..<9000 {
      let x1 = random.nextGaussian()
      let x2 = random.nextGaussian() * 3 + 10
      let color = colors[Int(random.next() % 4)]
      var label = x1 + 0.3 * (x2 - 10) > 0.2 ? "b" : (color == "red" || color == "teal" ? "a" : "c")
      if row > 7000 && x1 > 1.2 { label = "late" }
      let colorCell = random.next() % 29 == 0 ? "" : color
      let x2Cell = random.next() % 31 == 0 ? "NA" : String(format: "%.4f", x2)
      lines.append("\(String(format: "%.5f", x1)),\(colorCell),\(x2Cell),\(1 + random.next() % 3),\(label)")
    }
    return lines.joined(separator: "\n") + "\n"
  }()

  static func schema(_ missing: MissingValuePolicy) -> Dataset.Schema {
    var schema = Dataset.Schema.training(weightColumn: "w")
    schema.missing = missing
    return schema
  }

  /// The file read by `processes` ranks with 8 kB chunks, the way `Dataset(csvAt:processes:)` reads it.
  static func load(
    _ path: String, _ schema: Dataset.Schema, processes: any ProcessGroup, chunkSize: Int = 8192
  ) throws(DatasetError) -> Dataset {
    let file = try MappedFile.dataFile(path)
    return try withExtendedLifetime(file) { () throws(DatasetError) -> Dataset in
      var reader = try CSVParts(
        [CSVParts.Source(bytes: file.bytes, file: path)], schema: schema,
        executor: ShardedExecutor(threadCount: 2), chunkSize: chunkSize, processes: processes)
      return try reader.load()
    }
  }

  static func write(_ text: String) throws -> (TemporaryDirectory, String) {
    let directory = TemporaryDirectory()
    let path = directory.path + "/data.csv"
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return (directory, path)
  }

  @Test("each process holds its own rows only, and everything global is one process's", arguments: [MissingValuePolicy.mean, .drop])
  func sharesHoldOwnRows(missing: MissingValuePolicy) throws {
    let (directory, path) = try Self.write(Self.text)
    defer { directory.remove() }
    let whole = try Self.load(path, Self.schema(missing), processes: SingleProcess())
    #expect(whole.holdsEveryRow)
    for processes in [2, 5] {
      let loaded = ThreadWorld(count: processes).run { rank in Result { try Self.load(path, Self.schema(missing), processes: rank) } }
      let held = try loaded.map { try $0.get().heldRows ?? [] }
      #expect(held.allSatisfy { $0 == held[0] } && held[0].count == processes)
      #expect(held[0].first?.lowerBound == 0 && held[0].last?.upperBound == whole.rowCount)
      for (left, right) in zip(held[0], held[0].dropFirst()) { #expect(left.upperBound == right.lowerBound) }
      #expect(held[0].filter { !$0.isEmpty }.count > 1, "the chunks are shared out")
      for (rank, result) in loaded.enumerated() {
        let data = try result.get()
        #expect(data.classNames == whole.classNames && data.labels == whole.labels)
        #expect(data.rowWeights == whole.rowWeights && data.featureNames == whole.featureNames)
        #expect(data.table == whole.table && data.ingest == whole.ingest)
        #expect(data.encoding == whole.encoding)
        let rowBytes = whole.features.rowStride * 4
        let zeros = [UInt8](repeating: 0, count: rowBytes)
        let wrongRows = zeros.withUnsafeBytes { zero in
          (0..<whole.rowCount).filter { row in
            let expected = held[0][rank].contains(row) ? UnsafeRawPointer(whole.features.rowPointer(row)) : zero.baseAddress!
            return memcmp(data.features.rowPointer(row), expected, rowBytes) != 0
          }
        }
        #expect(wrongRows.isEmpty, "\(processes) processes, rank \(rank): rows \(wrongRows.prefix(5)) are not its own rows' values, or zeros")
      }
    }
  }

  /// Solvers with the rows each reads: lbfgs (and its validation rows), newton (and its
  /// Hessian sample), sgd (every row); each with a missing-value policy, ranks and threads.
  static let cases: [(TrainingOptions, MissingValuePolicy, processes: Int, threads: Int)] = [
    (ProcessChainTests.options { $0.solver = .lbfgs; $0.validationFraction = 0.2; $0.maxEpochs = 4 }, .mean, 3, 2),
    (ProcessChainTests.options { $0.solver = .newton; $0.maxEpochs = 2; $0.classWeight = .balanced }, .drop, 4, 1),
    (ProcessChainTests.options { $0.solver = .sgd; $0.maxEpochs = 1; $0.batchSize = 1024 }, .mean, 2, 1),
  ]

  /// The model's bytes, then the bits of each epoch's validation loss and accuracy.
  static func outcome(_ result: Trainer.Result) throws -> [UInt8] {
    let validation: [Double] = result.report.history.flatMap { epoch -> [Double] in
      [epoch.validationLoss ?? -1, epoch.validationAccuracy ?? -1]
    }
    return try result.model.fileBytes() + validation.flatMap { value -> [UInt8] in
      withUnsafeBytes(of: value.bitPattern) { Array($0) }
    }
  }

  @Test("a model trained on a CSV read in shares, and its validation scores, are byte-identical to one process's", arguments: cases)
  func sameModel(options: TrainingOptions, missing: MissingValuePolicy, processes: Int, threads: Int) throws {
    let (directory, path) = try Self.write(Self.text)
    defer { directory.remove() }
    do {
      var single = options
      single.threadCount = 1
      let expected = try Self.outcome(
        Trainer(options: single).fit(try Self.load(path, Self.schema(missing), processes: SingleProcess())))
      do {
        var configured = options
        configured.threadCount = threads
        let spread = configured
        let models = ThreadWorld(count: processes).run { rank in
          do {
            let data = try Self.load(path, Self.schema(missing), processes: rank)
            return try Self.outcome(Trainer(options: spread, processes: rank).fit(data))
          } catch {
            return Array("\(error)".utf8)
          }
        }
        for (rank, model) in models.enumerated() {
          let same = model == expected
          #expect(same, "\(missing), \(processes) × \(threads), rank \(rank): \(String(decoding: model.prefix(200), as: UTF8.self))")
        }
      }
    }
  }

  @Test("real data (palmerpenguins: two text columns, NA cells) read in 1 kB chunks by 3 processes: one process's columns and model")
  func penguins() throws {
    var configured = Dataset.Schema.training(labelColumn: "species")
    configured.missing = .mean
    let schema = configured
    let options = ProcessChainTests.options { $0.solver = .lbfgs; $0.threadCount = 1 }
    let whole = try Self.load(dataFile("penguins.csv"), schema, processes: SingleProcess(), chunkSize: 1024)
    let expected = try Trainer(options: options).fit(whole).model.fileBytes()
    let results = ThreadWorld(count: 3).run { rank in
      Result { () throws -> (Dataset, [UInt8]) in
        let data = try Self.load(dataFile("penguins.csv"), schema, processes: rank, chunkSize: 1024)
        return (data, try Trainer(options: options, processes: rank).fit(data).model.fileBytes())
      }
    }
    for result in results {
      let (data, model) = try result.get()
      #expect(data.heldRows?.filter { !$0.isEmpty }.count == 3)
      #expect(data.table == whole.table && data.ingest == whole.ingest && data.labels == whole.labels)
      #expect(model == expected)
    }
  }

  @Test("three part files read in shares (chunks shared out over the parts): the dataset and model of one process")
  func parts() throws {
    let lines = Self.text.split(separator: "\n").map(String.init)
    let directory = TemporaryDirectory()
    defer { directory.remove() }
    let cuts = [1, 2500, 2600, lines.count]  // a short middle part: one chunk
    let paths = (0..<3).map { directory.path + "/part\($0).csv" }
    for (index, path) in paths.enumerated() {
      try ([lines[0]] + lines[cuts[index]..<cuts[index + 1]]).joined(separator: "\n").appending("\n")
        .write(toFile: path, atomically: true, encoding: .utf8)
    }
    @Sendable func load(_ processes: any ProcessGroup) throws(DatasetError) -> Dataset {
      try CSVParts.withSources(paths, shouldContinue: nil) { sources throws(DatasetError) -> Dataset in
        var reader = try CSVParts(
          sources, schema: Self.schema(.mean), executor: ShardedExecutor(threadCount: 2), chunkSize: 8192,
          processes: processes)
        return try reader.load()
      }
    }
    let options = ProcessChainTests.options { $0.solver = .lbfgs; $0.maxEpochs = 3; $0.threadCount = 1 }
    let whole = try load(SingleProcess())
    let expected = try Trainer(options: options).fit(whole).model.fileBytes()
    for processes in [2, 3] {
      let results = ThreadWorld(count: processes).run { rank in
        Result { () throws -> (Dataset, [UInt8]) in
          let data = try load(rank)
          return (data, try Trainer(options: options, processes: rank).fit(data).model.fileBytes())
        }
      }
      for result in results {
        let (data, model) = try result.get()
        #expect(data.heldRows?.filter { !$0.isEmpty }.count == processes)
        #expect(data.table == whole.table && data.ingest == whole.ingest && data.labels == whole.labels)
        #expect(data.rowWeights == whole.rowWeights)
        #expect(model == expected, "\(processes) processes")
      }
    }
  }

  @Test("a bad cell in the last process's share: that process names it as one process would, the others stop")
  func errorInLastShare() throws {
    var lines = Self.text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    lines[8900] = "oops" + lines[8900]  // line 8,901: x1 is no number
    let (directory, path) = try Self.write(lines.joined(separator: "\n"))
    defer { directory.remove() }
    var expected = ""
    do { _ = try Self.load(path, Self.schema(.mean), processes: SingleProcess()) } catch { expected = "\(error)" }
    #expect(expected.contains("line 8901"), "\(expected)")
    let errors = ThreadWorld(count: 3).run { rank in
      do {
        _ = try Self.load(path, Self.schema(.mean), processes: rank)
        return "read"
      } catch {
        return "\(error)"
      }
    }
    #expect(errors[2] == expected)
    for error in errors.prefix(2) { #expect(error.contains("process 2") || error.contains("rank 2"), "\(error)") }
  }
}
