extension Dataset {
  /// Loads several CSV files, the parts of one dataset, as their concatenation would load:
  /// the same header in each, rows in the order the paths are given, column kinds and the
  /// stored encoding from the first 1,024 rows across the parts, levels, fills and classes
  /// from all of them. A gzip-compressed part is read through a temporary file. Each part is
  /// parsed on all cores straight into the one matrix (see `CSVParts`); errors name the part
  /// and its line. Memory: the matrix, plus what the schema's table steps need.
  /// - Throws: `DatasetError` naming the part: its own errors, or a header unlike the first
  ///   part's; and the schema's, over all parts (too few classes, a column with more levels
  ///   than `Schema.maxLevels` over the parts).
  ///
  /// Over several `processes`, as `init(csvAt:schema:threadCount:progress:shouldContinue:processes:)`:
  /// the chunks of all parts, in order, are shared out, so each process reads a contiguous
  /// range of rows, within its own parts where they are many (a gzip-compressed part is
  /// still decompressed whole by each).
  public init(
    csvParts paths: [String], schema: Schema = .training(),
    threadCount: Int = ShardedExecutor.availableCoreCount,
    progress: ((_ bytesDone: Int, _ totalBytes: Int) -> Void)? = nil,
    shouldContinue: (() -> Bool)? = nil, processes: any ProcessGroup = SingleProcess()
  ) throws(DatasetError) {
    self = try CSVParts.withSources(paths, shouldContinue: shouldContinue) {
      sources throws(DatasetError) -> Dataset in
      var reader = try CSVParts(
        sources, schema: schema, executor: ShardedExecutor(threadCount: threadCount), processes: processes)
      reader.progress = progress
      reader.shouldContinue = shouldContinue
      return try reader.load()
    }
  }
}
