/// A loader's result rendered for comparison: every value's bits, or the error message.
enum FuzzOutcome {
  static func of(_ load: () throws(DatasetError) -> Dataset) -> String {
    do {
      let dataset = try load()
      var parts = [
        "\(dataset.featureNames) \(dataset.classNames) \(dataset.labelName) \(dataset.labels)",
        "\(dataset.rowWeights.map { $0.map(\.bitPattern) } ?? [])",
        "\(dataset.table) \(dataset.ingest) \(dataset.encoding)",
      ]
      let matrix = dataset.features
      for row in 0..<matrix.rowCount {
        let values = UnsafeBufferPointer(start: matrix.rowPointer(row), count: matrix.rowStride)
        parts.append(values.map { String($0.bitPattern, radix: 16) }.joined(separator: " "))
      }
      return parts.joined(separator: "\n")
    } catch {
      return "error: \(error.description)"
    }
  }
}
