import Foundation
import Testing

@testable import SoftmaxRegression

/// A generated table with a numeric column, a text column and a label that depends on both,
/// kept as values too, so tests can compute what the reader should have made of it.
struct MixedTable {
  var size: [Double?] = []
  var colour: [String?] = []
  var labels: [String?] = []
  static let colours = ["red", "blue", "green", "ochre"]

  /// `rows` rows; with `missingEvery`, every so many cells of each column are "NA" or empty.
  init(rows: Int, seed: UInt64, missingEvery: Int? = nil, labelMissingEvery: Int? = nil) {
    var random = SplitMix64(seed: seed)
    for row in 0..<rows {
      let value = Double(Int(random.next() % 2000)) / 100 + 100  // 100.00 … 119.99
      let colour = Self.colours[Int(random.next() % 4)]
      let score = (value - 110) / 3 + (colour == "red" ? 2 : colour == "blue" ? -1 : 0)
        + Double(Int(random.next() % 1000)) / 500 - 1
      let missing = missingEvery.map { row % $0 == 1 } ?? false
      size.append(missing && row % 2 == 0 ? nil : value)
      self.colour.append(missing && row % 2 == 1 ? nil : colour)
      labels.append(labelMissingEvery.map { row % $0 == 3 } ?? false ? nil : score > 0.5 ? "up" : score < -0.5 ? "down" : "flat")
    }
  }

  /// The CSV text; missing cells alternate between "NA" and empty.
  func csv(delimiter: String = ",") -> String {
    var lines = ["size\(delimiter)colour\(delimiter)label"]
    for row in size.indices {
      let cells = [size[row].map { String(format: "%.2f", $0) }, colour[row], labels[row]].enumerated().map { column, cell in
        cell ?? ((row + column) % 2 == 0 ? "NA" : "")
      }
      lines.append(cells.joined(separator: delimiter))
    }
    return lines.joined(separator: "\n") + "\n"
  }
}

@Suite("Real-world tables: categories, missing values, column choice, delimiters")
struct TableTests {
  private func load(_ text: String, _ configure: (inout Dataset.Schema) -> Void = { _ in }) throws(DatasetError) -> Dataset {
    var schema = Dataset.Schema.training(labelColumn: "label")
    configure(&schema)
    return try Dataset(csvText: text, name: "t.csv", schema: schema)
  }

  @Test("a text column becomes one 0/1 feature per level, in sorted order, not standardised")
  func oneHot() throws {
    let table = MixedTable(rows: 80, seed: 1)
    let dataset = try load(table.csv())
    let levels = MixedTable.colours.sorted()
    #expect(dataset.featureNames == ["size"] + levels.map { "colour=\($0)" })
    #expect(dataset.table.columns.map(\.kind) == [.numeric, .categorical])
    for row in 0..<dataset.rowCount {
      #expect(abs(dataset.value(row: row, column: 0) - table.size[row]!) < 1e-6)
      for (index, level) in levels.enumerated() {
        #expect(dataset.value(row: row, column: 1 + index) == (table.colour[row] == level ? 1 : 0))
      }
    }
    let model = try Trainer(options: TrainingOptions()).fit(dataset).model
    let standardization = try #require(model.standardization)
    #expect(standardization.mean[1...] == [0, 0, 0, 0] && standardization.scale[1...] == [1, 1, 1, 1])
    let sizes = table.size.map { $0! }
    #expect(abs(standardization.mean[0] - sizes.reduce(0, +) / Double(sizes.count)) < 1e-9 * 110)
  }

  @Test("training on a text column equals training on its one-hot columns written as numbers")
  func oneHotMatchesHandEncoding() throws {
    var table = MixedTable(rows: 120, seed: 2)
    table.size = table.size.map { $0.map { $0 - 110 } }  // centred: unstandardised, still well conditioned
    let levels = MixedTable.colours.sorted()
    var text = "size," + levels.map { "is_\($0)" }.joined(separator: ",") + ",label\n"
    for row in table.size.indices {
      text += String(format: "%.2f", table.size[row]!) + ","
        + levels.map { table.colour[row] == $0 ? "1" : "0" }.joined(separator: ",") + "," + table.labels[row]! + "\n"
    }
    var options = TrainingOptions()
    options.standardize = false  // the hand-made indicators would be standardised
    options.lambda = 0.01
    let categorical = try Trainer(options: options).fit(try load(table.csv())).report
    let handMade = try Trainer(options: options).fit(try load(text)).report
    #expect(categorical.stopReason != .maxEpochs && handMade.stopReason != .maxEpochs)
    #expect(abs(categorical.objective - handMade.objective) <= 1e-7 * handMade.objective)
  }

  @Test("--missing mean fills numbers with the training mean and gives a text column a level of its own")
  func meanImputation() throws {
    let table = MixedTable(rows: 90, seed: 3, missingEvery: 5)
    let dataset = try load(table.csv()) { $0.missing = .mean }
    let present = table.size.compactMap { $0 }
    let mean = present.reduce(0, +) / Double(present.count)
    let fill = try #require(dataset.table.columns[0].fill)
    #expect(abs(fill - mean) <= 1e-6 * mean)
    #expect(dataset.featureNames.last == "colour=<missing>")
    for row in 0..<dataset.rowCount {
      if table.size[row] == nil { #expect(abs(dataset.value(row: row, column: 0) - mean) <= 1e-5 * mean) }
      #expect(dataset.value(row: row, column: dataset.featureCount - 1) == (table.colour[row] == nil ? 1 : 0))
    }
    let missingSizes = table.size.filter { $0 == nil }.count
    #expect(dataset.ingest.columns[0].missingCount == missingSizes && missingSizes > 0)
  }

  @Test("--missing drop leaves out the rows with a missing cell, and says which")
  func dropRows() throws {
    let table = MixedTable(rows: 90, seed: 4, missingEvery: 7, labelMissingEvery: 11)
    let dataset = try load(table.csv()) { $0.missing = .drop }
    let expected = table.size.indices.filter { table.size[$0] == nil || table.colour[$0] == nil || table.labels[$0] == nil }
    #expect(dataset.ingest.droppedRows == expected && !expected.isEmpty)
    let kept = table.size.indices.filter { !expected.contains($0) }
    #expect(dataset.rowCount == kept.count)
    for (row, source) in kept.enumerated() {
      #expect(abs(dataset.value(row: row, column: 0) - table.size[source]!) < 1e-6)
      #expect(dataset.classNames[Int(dataset.labels[row])] == table.labels[source])
    }
  }

  @Test("under the default rule a missing cell is an error naming the cell, the token and the flags")
  func missingIsAnError() {
    let table = MixedTable(rows: 30, seed: 5, missingEvery: 7)
    #expect(performing: { try load(table.csv()) }, throws: { error in
      guard let error = error as? DatasetError else { return false }
      // Row 1 (line 3) misses its colour (odd rows miss the text cell), written "NA" since
      // row + column is even.
      return error.line == 3 && error.column == 2 && error.reason == .missingValue && error.value == "NA"
        && error.description(naming: .flags).contains("--missing mean")
    })
    #expect(performing: { try load("a,label\n1,x\nNA,y\n") }, throws: { error in
      (error as? DatasetError).map { $0.reason == .missingValue && $0.line == 3 && $0.value == "NA" } ?? false
    })
    #expect(performing: { try load("a,label\n1,x\n2,NA\n") { $0.missing = .mean } }, throws: { error in
      (error as? DatasetError).map { $0.reason == .missingValue && $0.column == 2 } ?? false
    })
    // --na-values replaces the markers: "NA" is then a level of a text column.
    #expect((try? load("a,b,label\n1,NA,x\n2,b,y\n") { $0.missingTokens = ["?"] })?.featureNames == ["a", "b=NA", "b=b"])
  }

  @Test("the parallel loader gives the serial reader's dataset, for any chunk size and thread count")
  func parallelMatchesSerial() throws {
    var random = SplitMix64(seed: 6)
    var text = "id,size,colour,\"note, quoted\",label\n"
    for row in 0..<9000 {  // more than two shards of the expansion (4,096 rows each)
      let colour = row < 8500 ? ["red", "blue", "green"][Int(random.next() % 3)] : "late\(row % 5)"
      let size = row % 13 == 0 ? "NA" : String(Double(Int(random.next() % 10000)) / 100)
      let note = row % 17 == 0 ? "\"a, \"\"b\"\"\"" : (row % 29 == 0 ? "" : "n\(row % 4)")
      text += "\(row),\(size),\(colour),\(note),\(["x", "y", "z"][Int(random.next() % 3)])\n"
    }
    for rule in [MissingValuePolicy.mean, .drop] {
      var schema = Dataset.Schema.training(labelColumn: "label")
      schema.missing = rule
      schema.ignoredColumns = ["id"]
      let serial = try Dataset.parseSerially(csvText: text, name: "t.csv", schema: schema)
      #expect(serial.featureNames.contains("colour=late4") && serial.featureNames.contains("note, quoted=a, \"b\""))
      for (threads, chunk) in [(1, 1 << 22), (2, 4096), (4, 1024), (3, 777)] {
        let (parallel, fellBack) = try Dataset.parseReportingFallback(
          csvText: text, name: "t.csv", schema: schema, threadCount: threads, chunkSize: chunk)
        #expect(!fellBack)
        #expect(parallel.featureNames == serial.featureNames && parallel.labels == serial.labels)
        #expect(parallel.table == serial.table && parallel.ingest == serial.ingest)
        #expect(parallel.encoding == serial.encoding)
        let count = serial.rowCount * serial.features.rowStride
        #expect(memcmp(parallel.features.storage, serial.features.storage, count * 4) == 0, "\(rule) \(threads) \(chunk)")
      }
    }
  }

  @Test("more levels than allowed is refused at the cell that crosses the limit, serially and in parallel")
  func tooManyLevels() throws {
    var text = "name,x,label\n"
    for row in 0..<2000 { text += "n\(row % 1500),\(row % 7),\(row % 2)\n" }
    var schema = Dataset.Schema.training(labelColumn: "label")
    schema.maxLevels = 1000
    for threads in [1, 2] {
      #expect(performing: {
        try Dataset.parse(csvText: text, name: "t.csv", schema: schema, threadCount: threads, chunkSize: 4096)
      }, throws: { error in
        guard let error = error as? DatasetError else { return false }
        return error.reason == .tooManyLevels(limit: 1000) && error.line == 1002 && error.value == "n1000"
          && error.description(naming: .flags).contains("--ignore NAME")
          && error.description.contains("Schema.ignoredColumns")
      })
    }
    schema.ignoredColumns = ["name"]
    #expect(try Dataset.parse(csvText: text, name: "t.csv", schema: schema, threadCount: 2).featureNames == ["x"])
  }

  @Test("a number in a text column and text in a numeric column are located errors; --categorical reads numbers as levels")
  func mixedColumns() throws {
    // The kind is the majority's in the first rows; the first cell of the other kind is the error.
    #expect(performing: { try load("c,label\nred,x\nblue,y\n7,x\n") }, throws: { error in
      (error as? DatasetError).map { $0.reason == .numberInTextColumn && $0.line == 4 && $0.value == "7" } ?? false
    })
    #expect(performing: { try load("c,label\n1,x\nred,y\n2,x\n") }, throws: { error in
      (error as? DatasetError).map { $0.reason == .notANumber && $0.line == 3 && $0.description(naming: .flags).contains("--categorical NAME") } ?? false
    })
    let zip = try load("zip,label\n10115,x\n80331,y\n10115,y\n7,x\n") { $0.categoricalColumns = ["zip"] }
    #expect(zip.featureNames == ["zip=7", "zip=10115", "zip=80331"])
  }

  @Test("--ignore and --features choose columns; unknown names and a file left without features are errors")
  func columnChoice() throws {
    let text = "id,a,b,label\n1,2,3,x\n2,3,4,y\n"
    #expect(try load(text) { $0.ignoredColumns = ["id"] }.featureNames == ["a", "b"])
    #expect(try load(text) { $0.selectedFeatures = ["b"] }.featureNames == ["b"])
    #expect(try load(text) { $0.ignoredColumns = ["id"] }.table.ignored == ["id"])
    #expect(performing: { try load(text) { $0.ignoredColumns = ["nope"] } }, throws: { error in
      (error as? DatasetError).map { $0.reason == .unknownColumn(option: .ignore, available: ["id", "a", "b", "label"]) } ?? false
    })
    // A tab-separated file read as CSV is one column: the label, and no feature.
    #expect(performing: { try load("a\tb\tlabel\n1\t2\tx\n") { $0.labelColumn = nil } }, throws: { error in
      (error as? DatasetError).map { $0.reason == .noFeatureColumns(columns: 1, delimiter: 44) && $0.description(naming: .flags).contains("--delimiter") } ?? false
    })
  }

  @Test("tab and semicolon delimiters read as commas do, and a file without a header gets c1…cN")
  func delimitersAndHeaders() throws {
    let table = MixedTable(rows: 50, seed: 7)
    let comma = try load(table.csv())
    for delimiter in ["\t", ";"] {
      let other = try load(table.csv(delimiter: delimiter)) { $0.delimiter = UInt8(ascii: Unicode.Scalar(delimiter)!) }
      #expect(other.featureNames == comma.featureNames && other.labels == comma.labels)
      #expect(memcmp(other.features.storage, comma.features.storage, comma.rowCount * comma.features.rowStride * 4) == 0)
    }
    var schema = Dataset.Schema.training()
    schema.hasHeader = false
    let headless = try Dataset(csvText: "1,2,x\n3,4,y\n", name: "t.csv", schema: schema)
    #expect(headless.featureNames == ["c1", "c2"] && headless.labelName == "c3" && headless.rowCount == 2)
    let rows = (0..<500).map { "\($0 % 7),\($0 % 3),\($0 % 2 == 0 ? "x" : "y")" }.joined(separator: "\n")
    for text in [rows, "\"1\",2,x\n" + rows] {
      let (parallel, fellBack) = try Dataset.parseReportingFallback(
        csvText: text, name: "t.csv", schema: schema, threadCount: 2, chunkSize: 256)
      let serial = try Dataset.parseSerially(csvText: text, name: "t.csv", schema: schema)
      #expect(!fellBack && parallel.rowCount == serial.rowCount && parallel.labels == serial.labels)
    }
  }

  @Test("class names differing only in Unicode normalisation stay two classes")
  func exactLabels() throws {
    let precomposed = "caf\u{E9}"
    let decomposed = "cafe\u{301}"
    let dataset = try load("a,label\n1,\(precomposed)\n2,\(decomposed)\n3,\(precomposed)\n")
    #expect(dataset.classCount == 2)
    #expect(dataset.labels[0] == dataset.labels[2] && dataset.labels[0] != dataset.labels[1])
    // As levels too: two features, and a model that keeps them apart (names compared alike).
    let levels = try load("c,label\n\(precomposed),x\n\(decomposed),y\n\(precomposed),y\n")
    #expect(levels.featureNames.count == 2)
    #expect(try Trainer(options: TrainingOptions()).fit(levels).model.featureCount == 2)
  }
}
