import Foundation
import Testing
@testable import SoftmaxRegression

@Suite("Loading CSV data")
struct DatasetTests {
  func load(_ text: String, label: String? = nil) throws(DatasetError) -> Dataset {
    try Dataset(csvText: text, name: "t.csv", schema: .training(labelColumn: label))
  }

  func features(_ dataset: Dataset) -> [[Float]] {
    (0..<dataset.rowCount).map { row in (0..<dataset.featureCount).map { Float(dataset.value(row: row, column: $0)) } }
  }

  @Test("two byte-order marks at the start are both dropped, not kept in the first column's name")
  func doubleByteOrderMark() throws {
    let dataset = try Dataset(csvText: "\u{FEFF}\u{FEFF}x,label\n1,a\n2,b\n", name: "bom.csv")
    #expect(dataset.featureNames == ["x"])
  }

  @Test("reads numbers, quotes, CRLF, lone CR, a BOM and blank lines")
  func readsRFC4180() throws {
    let text = "\u{FEFF}a,\"b\",label\r\n1, 2.5 ,x\r\n\r\n\"3\",\"-4e1\",\"y,\"\"z\"\"\"\r5,6,x\n\n"
    let dataset = try load(text)
    #expect(dataset.featureNames == ["a", "b"])
    #expect(dataset.labelName == "label")
    #expect(features(dataset) == [[1, 2.5], [3, -40], [5, 6]])
    #expect(dataset.classNames == ["x", "y,\"z\""])
    #expect(dataset.labels == [0, 1, 0])
  }

  @Test("pads rows to a multiple of 8 floats with zeros")
  func padsRows() throws {
    let dataset = try load("a,b,c,l\n1,2,3,p\n4,5,6,q\n")
    #expect(dataset.features.rowStride == 8)
    let row = dataset.features.rowPointer(1)
    #expect(Array(UnsafeBufferPointer(start: row + 3, count: 5)) == [0, 0, 0, 0, 0])
    #expect(features(dataset)[1] == [4, 5, 6])
  }

  @Test("takes the label column by name, anywhere")
  func labelByName() throws {
    let dataset = try load("kind,x,y\na,1,2\nb,3,4\n", label: "kind")
    #expect(dataset.featureNames == ["x", "y"])
    #expect(dataset.classNames == ["a", "b"])
    #expect(features(dataset) == [[1, 2], [3, 4]])
  }

  @Test("orders integer labels numerically and keeps 1 and 01 apart")
  func classOrder() throws {
    let numeric = try load("x,l\n1,10\n2,9\n3,-2\n4,01\n5,1\n6,100\n")
    #expect(numeric.classNames == ["-2", "01", "1", "9", "10", "100"])
    #expect(numeric.labels == [4, 3, 0, 1, 2, 5])
    let text = try load("x,l\n1,b\n2,10\n3,9\n4,a\n")
    #expect(text.classNames == ["10", "9", "a", "b"])
  }

  /// Each bad input, with the line, column and message it must produce.
  static let errorCases: [(name: String, text: String, line: Int?, column: Int?, reason: DatasetError.Reason, value: String?)] = [
    ("ragged row", "a,b,l\n1,2,x\n1,x\n", 3, nil, .raggedRow(expected: 3, found: 2), nil),
    ("too many fields", "a,b,l\n1,2,x,4\n", 2, nil, .raggedRow(expected: 3, found: 4), nil),
    ("empty cell", "a,b,l\n1,,x\n", 2, 2, .emptyCell, nil),
    ("spaces-only cell", "a,b,l\n1,  ,x\n", 2, 2, .emptyCell, nil),
    ("NA", "a,b,l\n1,NA,x\n", 2, 2, .missingValue, "NA"),
    ("NaN", "a,b,l\nNaN,1,x\n", 2, 1, .missingValue, "NaN"),
    // A column's first rows hold a number, so it is numeric and text is an error.
    ("inf", "a,b,l\n1,2,y\n1,inf,x\n", 3, 2, .notANumber, "inf"),
    ("hex", "a,b,l\n2,1,y\n0x1A,1,x\n", 3, 1, .notANumber, "0x1A"),
    ("thousands separator", "a,b,l\n2,1,y\n\"1,000\",1,x\n", 3, 1, .notANumber, "1,000"),
    ("beyond Double", "a,b,l\n1,1e400,x\n", 2, 2, .valueOutOfRange, "1e400"),
    ("invalid UTF-8", "a,b,l\n1,2,\u{FFFD}\n", nil, nil, .invalidUTF8, nil),
    ("NUL byte", "a,b,l\n1,2\u{0}3,x\n", 2, 2, .nulByte, nil),
    ("unterminated quote", "a,b,l\n1,2,x\n3,\"4,x\n5,6,y\n", 3, 2, .unterminatedQuote, nil),
    ("text after closing quote", "a,b,l\n1,\"2\"3,x\n", 2, 2, .textAfterClosingQuote, nil),
    ("quote inside unquoted field", "a,b,l\n1,2\"3,x\n", 2, 2, .quoteInUnquotedField, nil),
    ("empty label", "a,b,l\n1,2,\n", 2, 3, .emptyLabel, nil),
    ("line count includes breaks inside quotes", "a,b,l\n1,2,\"multi\nline\"\n3,x,y\n", 4, 2, .notANumber, "x"),
    ("CR-only line ends", "a,b,l\r1,2,x\r3,?,y\r", 3, 2, .missingValue, "?"),
    ("empty file", "", nil, nil, .emptyFile, nil),
    ("only blank lines", "\n\r\n\n", nil, nil, .emptyFile, nil),
    ("no data rows", "a,b,l\n\n", nil, nil, .noDataRows, nil),
    ("one class", "a,b,l\n1,2,x\n3,4,x\n", nil, nil, .tooFewClasses(1), "x"),
    ("duplicate column", "a,a,l\n1,2,x\n", 1, 2, .duplicateColumnName(firstColumn: 1), nil),
  ]

  @Test("rejects bad input naming line, column and value", arguments: 0..<errorCases.count)
  func rejectsBadInput(index: Int) {
    let testCase = Self.errorCases[index]
    var text = testCase.text
    if testCase.name == "invalid UTF-8" {
      // Build bytes that are not UTF-8 (a lone continuation byte in the label).
      var bytes = Array("a,b,l\n1,2,x\n3,4,".utf8)
      bytes += [0x80, 0x41, UInt8(ascii: "\n")]
      let temporary = TemporaryDirectory()
      defer { temporary.remove() }
      let path = temporary.path + "/bad.csv"
      #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
      #expect {
        try Dataset(csvAt: path)
      } throws: { error in
        guard let error = error as? DatasetError else { return false }
        return error.reason == .invalidUTF8 && error.line == 3 && error.column == 3 && error.columnName == "l"
      }
      return
    }
    text = testCase.text
    do {
      _ = try load(text)
      Issue.record("\(testCase.name): accepted")
    } catch {
      #expect(error.reason == testCase.reason, "\(testCase.name): \(error)")
      #expect(error.line == testCase.line, "\(testCase.name): \(error)")
      if let column = testCase.column { #expect(error.column == column, "\(testCase.name): \(error)") }
      if let value = testCase.value { #expect(error.value == value, "\(testCase.name): \(error)") }
      #expect(error.description.hasPrefix("t.csv"))
    }
  }

  @Test("error messages name the file, line, column name and value")
  func messageFormat() {
    do {
      _ = try load("width,height,kind\n1,2,a\n3,abc,b\n")
      Issue.record("accepted")
    } catch {
      #expect(
        error.description
          == "t.csv, line 3, column 2 (height): not a number (a column of text levels: Schema.categoricalColumns "
          + "or Schema.ignoredColumns; a missing-value marker: Schema.missingTokens): \"abc\"")
      // The command line names the flags that set those options.
      #expect(
        error.description(naming: .flags)
          == "t.csv, line 3, column 2 (height): not a number (a column of text levels: --categorical NAME "
          + "or --ignore NAME; a missing-value marker: --na-values): \"abc\"")
    }
  }

  @Test("reports the first error in the file even when a later row has a syntax error")
  func firstErrorWins() {
    do {
      _ = try load("a,l\n1,x\nbad,y\n2,\"unterminated\n")
      Issue.record("accepted")
    } catch {
      #expect(error.reason == .notANumber && error.line == 3)
    }
  }

  @Test("unknown label column lists the columns")
  func unknownLabelColumn() {
    do {
      _ = try load("a,b\n1,x\n", label: "class")
      Issue.record("accepted")
    } catch {
      #expect(error.reason == .unknownLabelColumn(available: ["a", "b"]))
      #expect(error.description.contains("a, b"))
    }
  }

  @Test("a directory or a device is not read as data")
  func notRegularFiles() {
    for path in ["/tmp", "/dev/null"] {
      do {
        _ = try Dataset(csvAt: path)
        Issue.record("\(path) accepted")
      } catch {
        #expect(error.reason == .notARegularFile, "\(path): \(error)")
      }
    }
    #expect(throws: ModelError.self) { try SoftmaxModel(contentsOf: "/tmp") }
  }

  @Test("the weight column cannot be the label column")
  func weightIsLabel() {
    do {
      _ = try Dataset(csvText: "x,l\n1,a\n2,b\n", schema: .training(weightColumn: "l"))
      Issue.record("accepted")
    } catch {
      #expect(error.reason == .weightColumnIsLabel)
    }
  }

  @Test("an unreadable path is a clear error")
  func missingFile() {
    #expect {
      try Dataset(csvAt: "/nonexistent/data.csv")
    } throws: { error in
      (error as? DatasetError).map { $0.reason != .emptyFile && $0.description.hasPrefix("/nonexistent/data.csv: cannot read") } ?? false
    }
  }

  @Test("data for a model: columns by name in any order, label skipped or required, unknown classes rejected")
  func matchingSchema() throws {
    let schema = Dataset.CSVSchema.matching(featureNames: ["x", "y"], classNames: ["a", "b"], labelColumn: "l", requiresLabels: true)
    let dataset = try Dataset(csvText: "y,l,x\n2,b,1\n4,a,3\n", schema: schema)
    #expect(features(dataset) == [[1, 2], [3, 4]])
    #expect(dataset.labels == [1, 0])
    let unlabeled = try Dataset(csvText: "y,x\n2,1\n", schema: .matching(featureNames: ["x", "y"], classNames: ["a", "b"], labelColumn: "l", requiresLabels: false))
    #expect(!unlabeled.isLabeled && features(unlabeled) == [[1, 2]])
    let skipped = try Dataset(csvText: "y,x,l\n2,1,zzz\n", schema: .matching(featureNames: ["x", "y"], classNames: ["a", "b"], labelColumn: "l", requiresLabels: false))
    #expect(features(skipped) == [[1, 2]])

    #expect(throws: DatasetError.self) { try Dataset(csvText: "y,l\n2,a\n", schema: schema) }
    #expect(throws: DatasetError.self) { try Dataset(csvText: "x,y,z,l\n1,2,3,a\n", schema: schema) }
    do {
      _ = try Dataset(csvText: "x,y,l\n1,2,a\n1,2,c\n", schema: schema)
      Issue.record("accepted unknown class")
    } catch {
      #expect(error.reason == .unknownClass(known: ["a", "b"]) && error.line == 3 && error.value == "c")
    }
  }

  @Test("in-memory datasets validate shape and values")
  func inMemory() throws {
    let dataset = try Dataset(rows: [[1, 2], [3, 4]], labels: ["b", "a"])
    #expect(dataset.classNames == ["a", "b"] && dataset.labels == [1, 0])
    #expect(throws: DatasetError.self) { try Dataset(rows: [[1, 2], [3]], labels: ["a", "b"]) }
    #expect(throws: DatasetError.self) { try Dataset(rows: [[1, .nan]], labels: ["a"]) }
    #expect(throws: DatasetError.self) { try Dataset(rows: [[1]], labels: [""]) }
  }
}

@Suite("Standardisation")
struct StandardizationTests {
  /// Mean and population deviation in extended precision the slow way (Kahan-compensated
  /// sums of exact Float values), as an independent reference.
  func reference(_ values: [Float]) -> (mean: Double, deviation: Double) {
    func compensatedSum(_ terms: [Double]) -> Double {
      var sum = 0.0, compensation = 0.0
      for term in terms {
        let y = term - compensation
        let t = sum + y
        compensation = (t - sum) - y
        sum = t
      }
      return sum
    }
    let mean = compensatedSum(values.map(Double.init)) / Double(values.count)
    let variance = compensatedSum(values.map { (Double($0) - mean) * (Double($0) - mean) }) / Double(values.count)
    return (mean, variance.squareRoot())
  }

  @Test("is exact for huge (1e30), offset (1e5 + noise) and constant features")
  func stableStatistics() throws {
    var random = SplitMix64(seed: 5)
    let rows = (0..<500).map { _ in
      [1e30 * random.nextGaussian(), 1e5 + 1e-2 * random.nextGaussian(), 7, 1e-25 * random.nextGaussian()]
    }
    let dataset = try Dataset(rows: rows, labels: (0..<500).map { String($0 % 2) })
    let standardization = Standardization(fitting: dataset)
    for column in 0..<4 {
      let expected = reference(rows.map { $0[column] })
      #expect(abs(standardization.mean[column] - expected.mean) <= 1e-12 * abs(expected.mean) + 1e-45)
      if column == 2 {
        #expect(standardization.scale[column] == 1, "zero variance gets scale 1")
      } else {
        #expect(abs(standardization.scale[column] - expected.deviation) <= 1e-9 * expected.deviation)
      }
    }
    let column1 = (0..<500).map { standardization.apply(dataset.value(row: $0, column: 1), column: 1) }
    let mean = column1.reduce(0, +) / 500
    let deviation = (column1.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 500).squareRoot()
    #expect(abs(mean) < 1e-9 && abs(deviation - 1) < 1e-9)
  }

  @Test("a matrix that cannot be allocated is an error naming its size, not an abort",
    arguments: [(Int.max / 64, 8), (1 << 40, 100)])
  func allocationFailure(rowCount: Int, featureCount: Int) {
    #expect {
      try FeatureMatrix(rowCount: rowCount, featureCount: featureCount)
    } throws: { error in
      guard let error = error as? DatasetError, case .outOfMemory(let why) = error.reason else { return false }
      return why.contains("cannot allocate") && why.contains("\(rowCount) × ")
    }
  }

  @Test("a load asked to stop throws .cancelled, on the parallel and the serial path")
  func cancelledLoad() throws {
    let temporary = TemporaryDirectory()
    let path = temporary.path + "/rows.csv"
    let valid = "a,b,l\n" + String(repeating: "1,2,x\n3,4,y\n", count: 20_000)
    for (name, text) in [("parallel", valid), ("serial", valid + "5,oops,x\n")] {
      try Data(text.utf8).write(to: URL(fileURLWithPath: path))
      var asked = 0
      #expect(performing: {
        try Dataset(csvAt: path, threadCount: 2, shouldContinue: { asked += 1; return false })
      }, throws: { ($0 as? DatasetError)?.reason == .cancelled })
      #expect(asked == 1, "\(name): asked \(asked) times")
    }
  }
}
