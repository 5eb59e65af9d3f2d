/// Splits a CSV file's rows into a training file and a test file, stratified by class and
/// seeded: the held-out workflow (`softmax split`).
///
/// The rule is the validation split's (`TrainingOptions.validationFraction`): each class's
/// rows are shuffled by one seeded stream, classes in class order, and round(n_k · fraction)
/// of them go to the test file; so `split` with a fraction and seed holds out the rows that
/// training with the same validation fraction and seed would. Rows are written byte for byte
/// as they are in the input (quoting, line breaks), in input order, each file with the
/// header. The input is mapped and read twice, never loaded: memory is 12 bytes per row.
/// Both files are written atomically; on any error neither appears.
public struct StratifiedSplit: Sendable {
  /// The fraction of each class's rows written to the test file, in (0, 1).
  public var testFraction: Double
  /// Seed of the shuffle.
  public var seed: UInt64 = 0
  /// The label column's name; nil means the last column.
  public var labelColumn: String? = nil
  /// The byte between fields.
  public var delimiter = UInt8(ascii: ",")
  /// Whether the first row names the columns (it is then copied to both files).
  public var hasHeader = true

  /// A split holding out `testFraction` of each class.
  public init(testFraction: Double) {
    self.testFraction = testFraction
  }

  /// How many rows of each class went where.
  public struct Summary: Sendable, Equatable {
    /// The classes, in class order (`ClassOrder`).
    public let classNames: [String]
    /// Training rows per class.
    public let trainingCounts: [Int]
    /// Test rows per class.
    public let testCounts: [Int]
  }

  /// Why a split failed.
  public enum Failure: Error, CustomStringConvertible, Sendable {
    /// The input is unreadable or malformed (file, line, column).
    case data(DatasetError)
    /// An output could not be written.
    case write(AtomicFile.WriteError)
    /// The fraction leaves one side empty or training with fewer than two classes.
    case unusableFraction(String)

    /// The message, naming the file (and line) where there is one.
    public var description: String {
      switch self {
      case .data(let error): error.description
      case .write(let error): error.description
      case .unusableFraction(let why): why
      }
    }
  }

  /// Reads the CSV file at `path` and writes its rows to `trainingOutput` and `testOutput`.
  /// `shouldContinue` is asked every 65,536 rows; false stops with `.cancelled` and writes
  /// nothing.
  public func split(
    csvAt path: String, trainingOutput: String, testOutput: String, shouldContinue: (() -> Bool)? = nil
  ) throws(Failure) -> Summary {
    guard testFraction > 0 && testFraction < 1 else {
      throw .unusableFraction("the test fraction must be in (0, 1), not \(testFraction)")
    }
    let file: MappedFile
    do {
      file = try MappedFile.dataFile(path)
    } catch {
      throw .data(error)
    }
    return try withExtendedLifetime(file) { () throws(Failure) -> Summary in
      let (classNames, labels) = try readLabels(file.bytes, path: path, shouldContinue: shouldContinue)
      let held: ValidationSplit
      do {
        held = try ValidationSplit(labels: labels, classCount: classNames.count, fraction: testFraction, seed: seed)
      } catch {
        throw .unusableFraction("\(path): \(error)")
      }
      try write(file.bytes, path: path, testRows: held.validation, to: (trainingOutput, testOutput), shouldContinue)
      var testCounts = [Int](repeating: 0, count: classNames.count)
      for row in held.validation { testCounts[Int(labels[Int(row)])] += 1 }
      var trainingCounts = [Int](repeating: 0, count: classNames.count)
      for row in held.training { trainingCounts[Int(labels[Int(row)])] += 1 }
      return Summary(classNames: classNames, trainingCounts: trainingCounts, testCounts: testCounts)
    }
  }

  private func reader(_ bytes: UnsafeRawBufferPointer, path: String) throws(DatasetError) -> CSVRecordReader {
    try CSVRecordReader(bytes: bytes, file: path, delimiter: delimiter, hasHeader: hasHeader)
  }

  /// The classes in class order and each row's class index: the first pass.
  private func readLabels(
    _ bytes: UnsafeRawBufferPointer, path: String, shouldContinue: (() -> Bool)?
  ) throws(Failure) -> ([String], [Int32]) {
    do throws(DatasetError) {
      var records = try reader(bytes, path: path)
      var column = records.header.count - 1
      if let labelColumn { column = try records.columnIndices(of: [labelColumn])[0] }
      var codes: [ExactText: Int32] = [:]
      var names: [String] = []
      var rowCodes: [Int32] = []
      while let record = try records.next() {
        if rowCodes.count % 65_536 == 0, let shouldContinue, !shouldContinue() {
          throw DatasetError(file: path, reason: .cancelled)
        }
        let label = try records.text(ofField: column)
        guard !label.isEmpty else {
          throw DatasetError(
            file: path, line: record.line, column: column + 1, columnName: records.header[column], reason: .emptyLabel)
        }
        let key = ExactText(label)
        if let code = codes[key] {
          rowCodes.append(code)
        } else {
          codes[key] = Int32(names.count)
          rowCodes.append(Int32(names.count))
          names.append(label)
        }
      }
      guard !rowCodes.isEmpty else { throw DatasetError(file: path, reason: .noDataRows) }
      // Renumber the classes in class order, as a dataset numbers them.
      let sorted = ClassOrder.sorted(names)
      var sortedIndex: [ExactText: Int32] = [:]
      for (index, name) in sorted.enumerated() { sortedIndex[ExactText(name)] = Int32(index) }
      let renumber = names.map { sortedIndex[ExactText($0)] ?? 0 }
      return (sorted, rowCodes.map { renumber[Int($0)] })
    } catch {
      throw .data(error)
    }
  }

  /// The second pass: each row to the test file when it is in `testRows` (sorted), else to
  /// the training file.
  private func write(
    _ bytes: UnsafeRawBufferPointer, path: String, testRows: [Int32], to outputs: (String, String),
    _ shouldContinue: (() -> Bool)?
  ) throws(Failure) {
    let training: AtomicFile.Writer
    let test: AtomicFile.Writer
    do {
      training = try AtomicFile.Writer(path: outputs.0)
      test = try AtomicFile.Writer(path: outputs.1)
    } catch {
      throw .write(error)
    }
    do throws(Failure) {
      try copyRows(bytes, path: path, testRows: testRows, training: training, test: test, shouldContinue)
      do {
        try training.commit()
        try test.commit()
      } catch {
        throw .write(error)
      }
    } catch {
      training.abandon()
      test.abandon()
      throw error
    }
  }

  private func copyRows(
    _ bytes: UnsafeRawBufferPointer, path: String, testRows: [Int32], training: AtomicFile.Writer,
    test: AtomicFile.Writer, _ shouldContinue: (() -> Bool)?
  ) throws(Failure) {
    var records: CSVRecordReader
    do {
      records = try reader(bytes, path: path)
    } catch {
      throw .data(error)
    }
    func append(_ range: Range<Int>, to writer: AtomicFile.Writer) throws(Failure) {
      do {
        try writer.append(UnsafeRawBufferPointer(rebasing: bytes[range]))
        if let last = range.last, bytes[last] != UInt8(ascii: "\n") && bytes[last] != UInt8(ascii: "\r") {
          try writer.append([UInt8(ascii: "\n")])  // the file's last row had no line break
        }
      } catch {
        throw .write(error)
      }
    }
    try append(records.headerBytes, to: training)
    try append(records.headerBytes, to: test)
    var row = 0
    var nextTest = testRows.startIndex
    while true {
      let record: CSVRecordReader.Record
      do throws(DatasetError) {
        guard let next = try records.next() else { break }
        record = next
        if row % 65_536 == 0, let shouldContinue, !shouldContinue() {
          throw DatasetError(file: path, reason: .cancelled)
        }
      } catch {
        throw .data(error)
      }
      let isTest = nextTest < testRows.endIndex && Int(testRows[nextTest]) == row
      if isTest { nextTest += 1 }
      try append(record.bytes, to: isTest ? test : training)
      row += 1
    }
  }
}
