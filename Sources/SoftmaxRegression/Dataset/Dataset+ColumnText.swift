extension Dataset {
  /// The text of the columns `names` in every data row of the CSV file at `path`: one array
  /// per row, its values in the order of `names` (`""` collapsed, as the loader reads text).
  ///
  /// For passing columns a model does not use (ids, names) through to its predictions. Rows
  /// are those a `Dataset` read from the file has, in file order, whatever a missing-value
  /// rule later drops. One sequential pass over the mapped file.
  /// - Throws: `DatasetError` naming the file: a name not in the header (reason
  ///   `.noSuchColumn`), or the line and column of a syntax error or ragged row.
  public static func columnText(
    _ names: [String], csvAt path: String, delimiter: UInt8 = UInt8(ascii: ","), hasHeader: Bool = true
  ) throws(DatasetError) -> [[String]] {
    let file = try MappedFile.dataFile(path)
    return try withExtendedLifetime(file) { () throws(DatasetError) -> [[String]] in
      var records = try CSVRecordReader(bytes: file.bytes, file: path, delimiter: delimiter, hasHeader: hasHeader)
      let columns = try records.columnIndices(of: names)
      var rows: [[String]] = []
      while try records.next() != nil {
        var row: [String] = []
        row.reserveCapacity(columns.count)
        for column in columns { row.append(try records.text(ofField: column)) }
        rows.append(row)
      }
      return rows
    }
  }
}
