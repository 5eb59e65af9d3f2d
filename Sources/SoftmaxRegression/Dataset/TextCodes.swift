/// The codes a reader gives the text cells of a range of rows: label names and each
/// categorical slot's levels, in order of first appearance, and the missing cells of each
/// column. A serial read has one for the file; the parallel reader one per chunk, merged in
/// chunk order (so the result is the serial one).
struct TextCodes {
  var labels = LabelInterner()
  /// Per feature slot (an empty interner for a numeric slot).
  var levels: [LabelInterner]
  /// Per column of the file.
  var missingCounts: [Int]

  init(layout: CSVLoader.Layout) {
    levels = [LabelInterner](repeating: LabelInterner(), count: layout.featureNames.count)
    missingCounts = [Int](repeating: 0, count: layout.roles.count)
  }
}

/// Rows as a reader parsed them, before `TableAssembler` makes the dataset: slots hold
/// numeric values (NaN when missing) or level codes local to their chunk (NaN when missing).
struct RawRows {
  /// One row per data row of the file, one column per feature slot.
  var matrix: FeatureMatrix
  /// Per row, an index into `labelNames` (empty without labels).
  var labels: [Int32]
  /// The label names, in order of first appearance.
  var labelNames: [String]
  /// Per row, its weight; nil without a weight column.
  var weights: [Float]?
  /// Per row, whether it is left out (empty when nothing can be).
  var dropped: [Bool]
  /// The row ranges in file order, each with the codes of its text cells.
  var chunks: [Chunk]

  struct Chunk {
    var rows: Range<Int>
    var codes: TextCodes
  }
}

extension RawRows {
  /// The rows of `pieces` one after another (the parts of one dataset, read with one
  /// layout): label names merged in order of first appearance, chunks renumbered.
  /// - Throws: `.outOfMemory` (named `file`) when the matrix cannot be had.
  init(concatenating pieces: [RawRows], file: String) throws(DatasetError) {
    let rowCount = pieces.reduce(0) { $0 + $1.matrix.rowCount }
    do {
      matrix = try FeatureMatrix(
        uninitializedRowCount: rowCount, featureCount: pieces.first?.matrix.featureCount ?? 0)
    } catch {
      throw error.located(in: file)
    }
    var interner = LabelInterner()
    labels = []
    weights = pieces.first?.weights == nil ? nil : []
    dropped = []
    chunks = []
    var row = 0
    for piece in pieces {
      matrix.rowPointer(row).update(
        from: piece.matrix.rowPointer(0), count: piece.matrix.rowCount * piece.matrix.rowStride)
      let global = piece.labelNames.map { interner.index(of: $0) }
      labels += piece.labels.map { global.indices.contains(Int($0)) ? global[Int($0)] : 0 }
      weights? += piece.weights ?? []
      dropped += piece.dropped
      chunks += piece.chunks.map { Chunk(rows: $0.rows.lowerBound + row..<$0.rows.upperBound + row, codes: $0.codes) }
      row += piece.matrix.rowCount
    }
    labelNames = interner.names
  }
}
