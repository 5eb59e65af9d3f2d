import Foundation
import Testing
@testable import SoftmaxRegression

@Suite("Column encoding")
struct ColumnEncodingTests {
  @Test("offsets and exponents come from the first rows: values near them are stored near 1 and decode to within half a Float32 ulp of their distance to the offset")
  func encodeDecode() throws {
    var random = SplitMix64(seed: 3)
    let columns: [(Double, Double)] = [(0, 1), (1e5, 0.01), (1.7e9, 50), (0, 1e30), (-3, 1e-25), (42, 0)]
    let rows = (0..<2000).map { _ in columns.map { Float($0.0 + $0.1 * Double(random.nextGaussian())) } }
    let dataset = try Dataset(rows: rows, labels: (0..<2000).map { String($0 % 2) })
    let encoding = dataset.encoding
    for (column, (center, spread)) in columns.enumerated() {
      #expect(abs(encoding.offset[column] - center) <= 4 * max(spread, 1e-300) + 1, "column \(column) offset \(encoding.offset[column])")
      for row in 0..<2000 {
        let read = Double(rows[row][column])
        let distance = abs(read - encoding.offset[column])
        #expect(abs(dataset.value(row: row, column: column) - read) <= distance * 0x1p-24, "row \(row) column \(column)")
        if spread > 0 { #expect(abs(dataset.features[row, column]) < 16, "stored near 1") }
      }
    }
    #expect(encoding.exponent[5] == 0 && dataset.features[7, 5] == 0, "a constant column is stored as 0 from its value")
  }

  @Test("rows past the sample do not change the encoding")
  func sampleOnly() throws {
    let head = (0..<ColumnEncoding.sampleRowCount).map { [Float($0 % 7)] }
    let first = try Dataset(rows: head + [[1e6]], labels: (0...head.count).map { String($0 % 2) })
    let second = try Dataset(rows: head + [[-5]], labels: (0...head.count).map { String($0 % 2) })
    #expect(first.encoding == second.encoding)
    #expect(first.value(row: head.count, column: 0) == 1e6)
  }

  @Test("a value too far from its column's sample to store in Float32 is an error naming its row and column")
  func overflowIsLocated() {
    let head = (0..<ColumnEncoding.sampleRowCount).map { [1, 1e-30 * Float($0 % 3)] }
    #expect {
      try Dataset(rows: head + [[1, 3e38]], labels: (0...head.count).map { String($0 % 2) })
    } throws: { error in
      guard let error = error as? DatasetError else { return false }
      return error.reason == .valueOutOfRange && error.line == head.count + 1 && error.column == 2
    }
  }

  @Test("in a CSV, a value too far from its column's first 1,024 values is an error naming its line and column, on every chunking",
    arguments: [64, 4096, 1 << 22])
  func overflowInCSV(chunkSize: Int) throws {
    var text = "a,b,label\n"
    for row in 0..<1100 { text += "1,\(row % 3)e-30,\(row % 2)\n" }
    text += "1,5e37,0\n"
    #expect {
      try Dataset.parse(csvText: text, name: "far.csv", schema: .training(), threadCount: 2, chunkSize: chunkSize)
    } throws: { error in
      guard let error = error as? DatasetError else { return false }
      return error.reason == .valueOutOfRange && error.line == 1102 && error.column == 2 && error.value == "5e37"
    }
  }

  @Test("invalid explicit encodings are refused")
  func explicitValidation() {
    #expect(ColumnEncoding(offset: [0, .nan], exponent: [0, 0]) == nil)
    #expect(ColumnEncoding(offset: [0], exponent: [500]) == nil)
    #expect(ColumnEncoding(offset: [0], exponent: [0, 1]) == nil)
    #expect(ColumnEncoding(offset: [1], exponent: [-3]) != nil)
  }
}
