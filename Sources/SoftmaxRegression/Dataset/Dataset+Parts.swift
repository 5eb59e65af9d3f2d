extension Dataset {
  /// Loads several CSV files, the parts of one dataset, as their concatenation would load:
  /// the same header in each, rows in the order the paths are given, values stored with the
  /// encoding of the first 1,024 rows across the parts, classes ordered over all of them.
  /// Each part is parsed on all cores; errors name the part and its line. Memory: the whole
  /// matrix plus one part's.
  /// - Throws: `DatasetError` naming the part: its own errors, or a header unlike the first
  ///   part's; and the schema's (too few classes, over all parts). Parts with categorical
  ///   columns or a missing-value rule other than `.error` are refused for now (their levels
  ///   and fills would have to be merged across parts).
  public init(
    csvParts paths: [String], schema: Schema = .training(),
    threadCount: Int = ShardedExecutor.availableCoreCount,
    shouldContinue: (() -> Bool)? = nil
  ) throws(DatasetError) {
    guard paths.count > 1 else {
      self = try Dataset(
        csvAt: paths.first ?? "", schema: schema, threadCount: threadCount,
        shouldContinue: shouldContinue)
      return
    }
    let encoding = try Self.sharedEncoding(paths, schema: schema)
    var partSchema = schema
    partSchema.checksClassCount = false
    var parts: [Dataset] = []
    for path in paths {
      let part = try Self.loadCSV(
        at: path, schema: partSchema, encoding: encoding, threadCount: threadCount, progress: nil,
        shouldContinue: shouldContinue)
      if !part.table.isPlain || !part.ingest.droppedRows.isEmpty {
        throw DatasetError(
          file: path,
          reason: .inconsistentShape(
            "part files with categorical columns or missing-value rules are not read yet: "
              + "concatenate the parts into one file"))
      }
      if let first = parts.first, part.featureNames != first.featureNames || part.labelName != first.labelName {
        throw DatasetError(
          file: path, line: 1,
          reason: .inconsistentShape("its header differs from that of \(paths[0]), the first part"))
      }
      parts.append(part)
    }
    self = try schema.conform(try Self.concatenating(parts, encoding: encoding, file: paths[0]), file: paths[0])
  }

  /// The encoding of the first `ColumnEncoding.sampleRowCount` rows, read across the parts
  /// in order, as one file holding them all would give.
  private static func sharedEncoding(_ paths: [String], schema: Schema) throws(DatasetError) -> ColumnEncoding {
    var sampler: ColumnEncoding.Sampler? = nil
    var remaining = ColumnEncoding.sampleRowCount
    for path in paths where remaining > 0 {
      let file = try MappedFile.dataFile(path)
      try withExtendedLifetime(file) { () throws(DatasetError) in
        var loader = CSVLoader(bytes: file.bytes, file: path, schema: schema)
        let layout = try loader.readLayout()
        var partSampler = sampler ?? ColumnEncoding.Sampler(featureCount: layout.featureNames.count)
        remaining -= try loader.addSample(to: &partSampler, limit: remaining)
        sampler = partSampler
      }
    }
    return sampler?.encoding() ?? .identity(featureCount: 0)
  }

  /// The parts' rows one after another, with classes sorted over all parts.
  private static func concatenating(_ parts: [Dataset], encoding: ColumnEncoding, file: String)
    throws(DatasetError) -> Dataset
  {
    let first = parts[0]
    let rowCount = parts.reduce(0) { $0 + $1.rowCount }
    let matrix: FeatureMatrix
    do {
      matrix = try FeatureMatrix(rowCount: rowCount, featureCount: first.featureCount)
    } catch {
      throw error.located(in: file)
    }
    var interner = LabelInterner()
    var labels: [Int32] = []
    var weights: [Float]? = first.rowWeights == nil ? nil : []
    var row = 0
    for part in parts {
      let byteCount = part.rowCount * part.features.rowStride
      matrix.rowPointer(row).update(from: part.features.rowPointer(0), count: byteCount)
      let global = part.classNames.map { interner.index(of: $0) }
      labels += part.labels.map { global[Int($0)] }
      weights? += part.rowWeights ?? []
      row += part.rowCount
    }
    let (classNames, remap) = interner.sortedClasses()
    return Dataset(
      features: matrix, encoding: encoding, labels: labels.map { remap[Int($0)] },
      classNames: classNames, featureNames: first.featureNames, labelName: first.labelName,
      rowWeights: weights)
  }
}
