import Foundation

extension Dataset {
  /// Loads a CSV file: a header row, numeric feature columns and one label column.
  ///
  /// Input rules (RFC 4180): `,` delimiter, `"` quoting with `""` escapes, LF/CRLF/CR line
  /// ends, one leading UTF-8 BOM ignored, empty lines skipped. Features are decimals
  /// (`DecimalParser`) with surrounding spaces trimmed; labels are kept exactly as written.
  ///
  /// The file is memory-mapped and parsed in 4 MiB chunks on `threadCount` threads; the
  /// result is the same for every thread count. Pages already parsed are released, so the
  /// peak memory is about the Float32 matrix (`rows · ⌈features/8⌉·8 · 4` bytes) plus a few
  /// chunks. Cost: two reads of the file (a cheap scan for row boundaries, then the parse).
  /// - Parameters:
  ///   - path: the file to read.
  ///   - schema: which column is the label, and what a model expects.
  ///   - threadCount: the threads that parse; default all cores.
  ///   - progress: called on the calling thread now and then while rows are parsed, with the
  ///     bytes done and the file's size, and once at the end.
  ///   - shouldContinue: asked on the calling thread every few tens of MB; false stops the
  ///     load with reason `.cancelled` (for example on Ctrl-C).
  ///   - processes: the processes that load the file together, to train on it with a
  ///     `Trainer` over the same group (collective: each calls this with the same file). Each
  ///     scans and parses only its share of the chunks, a contiguous range of rows, and holds
  ///     only their feature values (`holdsEveryRow` is false); classes, levels, fills, labels,
  ///     weights and drops are exchanged, so they are those one process reads. A schema that
  ///     names the features reads the whole file in each process.
  /// - Throws: `DatasetError` naming the file, physical line, column and value: the first
  ///   error in the file; over several processes, in the lowest process that met one, and
  ///   `.failedInAnotherProcess` in the others.
  public init(
    csvAt path: String, schema: Schema = .training(),
    threadCount: Int = ShardedExecutor.availableCoreCount,
    progress: ((_ bytesDone: Int, _ totalBytes: Int) -> Void)? = nil,
    shouldContinue: (() -> Bool)? = nil, processes: any ProcessGroup = SingleProcess()
  ) throws(DatasetError) {
    let file = try MappedFile.dataFile(path)
    self = try withExtendedLifetime(file) { () throws(DatasetError) -> Dataset in
      var reader = try CSVParts(
        [CSVParts.Source(bytes: file.bytes, file: path, release: { file.release($0) })], schema: schema,
        executor: ShardedExecutor(threadCount: threadCount), processes: processes)
      reader.progress = progress
      reader.shouldContinue = shouldContinue
      return try reader.load()
    }
  }

  /// Reads CSV from a stream (a pipe, a FIFO, standard input as `/dev/stdin`) to its end,
  /// then parses it as `init(csvAt:)` does. The text is held in memory while it is parsed.
  /// `progress` gets the bytes read so far, with 0 for the unknown total, while reading.
  public init(
    csvStreamAt path: String, schema: Schema = .training(),
    threadCount: Int = ShardedExecutor.availableCoreCount,
    progress: ((_ bytesDone: Int, _ totalBytes: Int) -> Void)? = nil,
    shouldContinue: (() -> Bool)? = nil
  ) throws(DatasetError) {
    let bytes = try StreamInput.readAll(
      path: path, shouldContinue: shouldContinue ?? { true }, progress: progress.map { report in { report($0, 0) } })
    let result = bytes.withUnsafeBytes { buffer in
      Result { () throws(DatasetError) -> Dataset in
        var reader = try CSVParts(
          [CSVParts.Source(bytes: buffer, file: path)], schema: schema,
          executor: ShardedExecutor(threadCount: threadCount))
        reader.progress = progress
        reader.shouldContinue = shouldContinue
        return try reader.load()
      }
    }
    self = try result.get()
  }

  /// Parses CSV text held in memory, with the same rules and errors as `init(csvAt:schema:)`.
  public init(csvText: String, name: String = "<memory>", schema: Schema = .training())
    throws(DatasetError)
  {
    self = try Self.parse(csvText: csvText, name: name, schema: schema, threadCount: 1)
  }

  /// Parses text in memory with the parallel loader, cut into `chunkSize`-byte chunks.
  static func parse(
    csvText: String, name: String, schema: Schema, threadCount: Int,
    chunkSize: Int = ParallelCSVLoader.defaultChunkSize
  ) throws(DatasetError) -> Dataset {
    try parseReportingFallback(
      csvText: csvText, name: name, schema: schema, threadCount: threadCount, chunkSize: chunkSize
    ).dataset
  }

  /// `parse`, also telling whether the serial reader had to take over.
  static func parseReportingFallback(
    csvText: String, name: String, schema: Schema, threadCount: Int, chunkSize: Int
  ) throws(DatasetError) -> (dataset: Dataset, fellBackToSerial: Bool) {
    var text = csvText
    let result = text.withUTF8 { buffer in
      Result { () throws(DatasetError) -> (Dataset, Bool) in
        try parseReportingFallback(
          csvBytes: UnsafeRawBufferPointer(buffer), name: name, schema: schema,
          threadCount: threadCount, chunkSize: chunkSize)
      }
    }
    return try result.get()
  }

  /// `parseReportingFallback` on raw bytes, which need not be valid UTF-8.
  static func parseReportingFallback(
    csvBytes: UnsafeRawBufferPointer, name: String, schema: Schema, threadCount: Int,
    chunkSize: Int
  ) throws(DatasetError) -> (dataset: Dataset, fellBackToSerial: Bool) {
    var reader = try CSVParts(
      [CSVParts.Source(bytes: csvBytes, file: name)], schema: schema,
      executor: ShardedExecutor(threadCount: threadCount), chunkSize: chunkSize)
    let dataset = try reader.load()
    return (dataset, reader.fellBackToSerial)
  }

  /// The serial reference reader on `csvText`.
  static func parseSerially(csvText: String, name: String, schema: Schema)
    throws(DatasetError) -> Dataset
  {
    var text = csvText
    let result = text.withUTF8 { buffer in
      Result { () throws(DatasetError) -> Dataset in
        try parseSerially(csvBytes: UnsafeRawBufferPointer(buffer), name: name, schema: schema)
      }
    }
    return try result.get()
  }

  /// The serial reference reader on raw bytes, which need not be valid UTF-8.
  static func parseSerially(csvBytes: UnsafeRawBufferPointer, name: String, schema: Schema)
    throws(DatasetError) -> Dataset
  {
    var loader = CSVLoader(bytes: csvBytes, file: name, schema: schema)
    return try loader.load()
  }
}
