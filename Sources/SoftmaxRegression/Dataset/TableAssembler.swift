/// Makes a dataset of rows as read (`RawRows`) when the table needs more than numbers: merges
/// each categorical column's levels over the chunks and sorts them (or maps them to a
/// model's levels), leaves out dropped rows, fills missing numeric cells, and expands each
/// categorical column into one 0/1 feature per level. The result, and the `TableEncoding`
/// it records, are the same for every chunking, so for every thread count.
///
/// Cost: O(rows · slots) for the fills and O(rows · features) for the copy; memory: the new
/// matrix beside the one read. A table of plain numbers, read strictly, never comes here.
struct TableAssembler {
  let layout: CSVLoader.Layout
  let schema: Dataset.Schema
  let file: String
  /// The threads that write the expanded rows.
  var executor = ShardedExecutor(threadCount: 1)
  /// Loaded in shares: the rows (as read) whose values this process holds; the fills' sums
  /// and the unseen counts are then chained over `processes`, and only these rows are
  /// filled and expanded. Nil: every row, in one process.
  var held: Range<Int>? = nil
  var processes: any ProcessGroup = SingleProcess()

  /// The dataset; nil when a categorical column has more levels than `schema.maxLevels`
  /// (the serial reader then names the cell that crossed the limit).
  func assemble(
    _ rows: RawRows, labels: [Int32], classNames: [String], labelName: String
  ) throws(DatasetError) -> Dataset? {
    guard let levels = mergedLevels(rows) else { return nil }
    let kept = rows.dropped.isEmpty ? Array(0..<rows.matrix.rowCount) : rows.dropped.indices.filter { !rows.dropped[$0] }
    guard !kept.isEmpty else { throw DatasetError(file: file, reason: .everyRowDropped(rows.matrix.rowCount)) }
    let missingCounts = rows.chunks.reduce(into: [Int](repeating: 0, count: layout.roles.count)) { sums, chunk in
      for (column, count) in chunk.codes.missingCounts.enumerated() { sums[column] += count }
    }
    let fills = fills(rows.matrix, kept: kept)
    let table = tableEncoding(levels: levels, fills: fills, missingCounts: missingCounts)
    var unseen = [Int](repeating: 0, count: layout.roles.count)
    let matrix: FeatureMatrix
    if levels.isEmpty && kept.count == rows.matrix.rowCount {
      matrix = filledInPlace(rows.matrix, fills: fills)
    } else {
      matrix = try expanded(rows, kept: kept, table: table, levels: levels, fills: fills, unseen: &unseen)
    }
    let report = IngestReport(
      columns: layout.header.indices.map { column in
        IngestReport.Column(
          name: layout.header[column], role: role(of: column, table: table),
          missingCount: missingCounts[column], unseenCount: unseen[column])
      },
      droppedRows: rows.dropped.indices.filter { rows.dropped[$0] }, missing: schema.missing)
    return Dataset(
      features: matrix, encoding: encoding(table), labels: rows.labels.isEmpty ? [] : kept.map { labels[$0] },
      classNames: classNames, featureNames: table.featureNames, labelName: labelName,
      rowWeights: rows.weights.map { weights in kept.map { weights[$0] } }, table: table, ingest: report)
  }

  // MARK: - Levels

  /// Per categorical slot: its levels in feature order and, per chunk, each local code's
  /// level (−1 for a level the model does not know). Nil when there are too many levels.
  private func mergedLevels(_ rows: RawRows) -> [Int: (names: [String], remap: [[Int32]])]? {
    var result: [Int: (names: [String], remap: [[Int32]])] = [:]
    for slot in layout.categoricalSlots {
      if let known = schema.table?.columns[slot].levels {
        var index: [ExactText: Int32] = [:]
        for (position, name) in known.enumerated() { index[ExactText(name)] = Int32(position) }
        result[slot] = (known, rows.chunks.map { $0.codes.levels[slot].names.map { index[ExactText($0)] ?? -1 } })
        continue
      }
      var interner = LabelInterner()
      let firstAppearance = rows.chunks.map { $0.codes.levels[slot].names.map { interner.index(of: $0) } }
      guard interner.names.count <= schema.maxLevels else { return nil }
      let (sorted, remap) = interner.sortedClasses()
      result[slot] = (sorted, firstAppearance.map { codes in codes.map { remap[Int($0)] } })
    }
    return result
  }

  // MARK: - Missing values

  /// Per numeric slot under `.mean`: the stored value that fills its missing cells (the
  /// mean of the kept rows' values, summed in Double in row order in one row-major pass, or
  /// the model's fill).
  private func fills(_ matrix: FeatureMatrix, kept: [Int]) -> [Int: Double] {
    guard schema.missing == .mean else { return [:] }
    let categorical = Set(layout.categoricalSlots)
    let numeric = (0..<layout.featureNames.count).filter { !categorical.contains($0) }
    if let table = schema.table {
      return Dictionary(uniqueKeysWithValues: numeric.map { slot in
        (slot, Double(layout.encoding.encode(table.columns[slot].fill ?? 0, column: slot)))
      })
    }
    // The sums, then the counts; over several processes each continues those before it.
    var totals = [Double](repeating: 0, count: 2 * numeric.count)
    let chain = ProcessChain(processes: processes)
    _ = totals.withUnsafeMutableBufferPointer { chain.receivePreceding($0) }
    for row in heldRows(of: kept) {
      let values = matrix.rowPointer(row)
      for (index, slot) in numeric.enumerated() where !values[slot].isNaN {
        totals[index] += Double(values[slot])
        totals[numeric.count + index] += 1
      }
    }
    totals.withUnsafeMutableBufferPointer { chain.passOn($0) }
    return Dictionary(uniqueKeysWithValues: numeric.indices.map { index in
      let count = totals[numeric.count + index]
      return (numeric[index], count > 0 ? totals[index] / count : 0)
    })
  }

  // MARK: - The table

  private func tableEncoding(
    levels: [Int: (names: [String], remap: [[Int32]])], fills: [Int: Double], missingCounts: [Int]
  ) -> TableEncoding {
    if let table = schema.table { return table }
    let columns = layout.featureNames.indices.map { slot -> TableEncoding.Column in
      let name = layout.featureNames[slot]
      guard let slotLevels = levels[slot] else {
        let fill = fills[slot].map { layout.encoding.offset[slot] + $0 / layout.encoding.scale[slot] }
        return .numeric(name, fill: fill)
      }
      let hasMissing = schema.missing == .mean && missingCounts[layout.slotColumns[slot]] > 0
      return .categorical(name, levels: slotLevels.names, missingLevel: hasMissing)
    }
    let ignored = layout.roles.indices.filter { layout.roles[$0] == .skipped }.map { layout.header[$0] }
    return TableEncoding(
      columns: columns, ignored: ignored, missingTokens: schema.missingTokens, missing: schema.missing)
  }

  private func role(of column: Int, table: TableEncoding) -> IngestReport.Column.Role {
    switch layout.roles[column] {
    case .feature: .numeric
    case .categorical(let slot): .categorical(levels: table.columns[slot].levels?.count ?? 0)
    case .label: .label
    case .weight: .weight
    case .skipped: .ignored
    }
  }

  /// Numeric features keep the stored form of their slot; indicators are stored as they are.
  private func encoding(_ table: TableEncoding) -> ColumnEncoding {
    var offsets: [Double] = []
    var exponents: [Int] = []
    for (slot, column) in table.columns.enumerated() {
      let numeric = column.kind == .numeric
      for _ in 0..<column.featureCount {
        offsets.append(numeric ? layout.encoding.offset[slot] : 0)
        exponents.append(numeric ? layout.encoding.exponent[slot] : 0)
      }
    }
    return ColumnEncoding(validatedOffset: offsets, exponent: exponents)
  }

  // MARK: - The features

  /// `matrix` (owned by the reader, not yet shared) with its missing cells filled: numbers
  /// only, every row kept, so nothing moves.
  private func filledInPlace(_ matrix: FeatureMatrix, fills: [Int: Double]) -> FeatureMatrix {
    let slots = fills.keys.sorted()
    let values = slots.map { Float(fills[$0]!) }
    guard !slots.isEmpty else { return matrix }
    for row in held ?? 0..<matrix.rowCount {
      let cells = matrix.rowPointer(row)
      for (slot, fill) in zip(slots, values) where cells[slot].isNaN { cells[slot] = fill }
    }
    return matrix
  }

  /// The kept rows with their numeric slots filled and their categorical slots expanded;
  /// counts, per column, the cells whose level the model does not know. Rows are written in
  /// parallel shards (each row's output depends on that row alone; counts are summed).
  private func expanded(
    _ rows: RawRows, kept: [Int], table: TableEncoding,
    levels: [Int: (names: [String], remap: [[Int32]])], fills: [Int: Double], unseen: inout [Int]
  ) throws(DatasetError) -> FeatureMatrix {
    let source = rows.matrix
    let firstFeature = table.columns.reduce(into: [0]) { $0.append($0.last! + $1.featureCount) }
    let matrix: FeatureMatrix
    do {
      matrix =
        held == nil
        ? try FeatureMatrix(uninitializedRowCount: kept.count, featureCount: firstFeature.last!)
        : try FeatureMatrix(reservingRowCount: kept.count, featureCount: firstFeature.last!)
    } catch {
      throw error.located(in: file)
    }
    let slots = table.columns.indices.map { slot in
      ExpansionSlot(
        first: firstFeature[slot], remap: levels[slot]?.remap,
        missingFeature: table.columns[slot].missingLevel == true ? firstFeature[slot] + (table.columns[slot].levels?.count ?? 0) : nil,
        fill: Float(fills[slot] ?? 0), column: layout.slotColumns[slot])
    }
    let chunkStarts = rows.chunks.map(\.rows.lowerBound)
    let shardRows = 4096
    let written = keptPositions(of: held, in: kept)
    let shardCount = (written.count + shardRows - 1) / shardRows
    let columnCount = layout.roles.count
    let counts = UnsafeMutableBufferPointer<Int>.allocate(capacity: max(1, shardCount * columnCount))
    counts.initialize(repeating: 0)
    defer { counts.deallocate() }
    let shared = UnsafeSendableBuffer(counts)
    executor.forEachShard(shardCount) { shard in
      let targets = written.lowerBound + shard * shardRows..<min(written.upperBound, written.lowerBound + (shard + 1) * shardRows)
      var chunk = Self.chunk(containing: kept[targets.lowerBound], starts: chunkStarts)
      let unseen = shared.buffer.baseAddress! + shard * columnCount
      for target in targets {
        let row = kept[target]
        while chunk + 1 < chunkStarts.count && chunkStarts[chunk + 1] <= row { chunk += 1 }
        Self.expand(source.rowPointer(row), into: matrix, row: target, slots: slots, chunk: chunk, unseen: unseen)
      }
    }
    var totals = [Double](repeating: 0, count: columnCount)
    for shard in 0..<shardCount {
      for column in 0..<columnCount { totals[column] += Double(counts[shard * columnCount + column]) }
    }
    let chain = ProcessChain(processes: processes)
    var preceding = [Double](repeating: 0, count: columnCount)
    if preceding.withUnsafeMutableBufferPointer({ chain.receivePreceding($0) }) {
      for column in 0..<columnCount { totals[column] += preceding[column] }
    }
    totals.withUnsafeMutableBufferPointer { chain.passOn($0) }
    for column in 0..<columnCount { unseen[column] += Int(totals[column]) }
    return matrix
  }

  /// The kept rows (ascending) this process holds: all of them unless loaded in shares.
  private func heldRows(of kept: [Int]) -> ArraySlice<Int> {
    kept[keptPositions(of: held, in: kept)]
  }

  /// The positions among `kept` (ascending rows) of the rows in `rows` (all when nil).
  func keptPositions(of rows: Range<Int>?, in kept: [Int]) -> Range<Int> {
    guard let rows else { return kept.indices }
    return Self.firstPosition(in: kept, notBelow: rows.lowerBound)..<Self.firstPosition(in: kept, notBelow: rows.upperBound)
  }

  /// The first position in `sorted` whose value is at least `bound` (its count if none).
  private static func firstPosition(in sorted: [Int], notBelow bound: Int) -> Int {
    var low = 0
    var high = sorted.count
    while low < high {
      let middle = (low + high) / 2
      if sorted[middle] < bound { low = middle + 1 } else { high = middle }
    }
    return low
  }

  /// How one slot of a raw row becomes features.
  private struct ExpansionSlot: Sendable {
    /// Its first feature.
    var first: Int
    /// Categorical: per chunk, each local code's level (−1: unseen); nil for a numeric slot.
    var remap: [[Int32]]?
    /// Categorical: the feature of the "missing" level, if the column has one.
    var missingFeature: Int?
    /// Numeric: the stored value of a missing cell.
    var fill: Float
    /// The file column, for the unseen counts.
    var column: Int
  }

  /// Writes one expanded row (padding included) from a raw row.
  private static func expand(
    _ from: UnsafeMutablePointer<Float>, into matrix: FeatureMatrix, row: Int, slots: [ExpansionSlot],
    chunk: Int, unseen: UnsafeMutablePointer<Int>
  ) {
    let to = matrix.rowPointer(row)
    to.initialize(repeating: 0, count: matrix.rowStride)
    for (slot, expansion) in slots.enumerated() {
      let value = from[slot]
      guard let remap = expansion.remap else {
        to[expansion.first] = value.isNaN ? expansion.fill : value
        continue
      }
      if value.isNaN {
        if let missing = expansion.missingFeature { to[missing] = 1 }
        continue
      }
      let level = remap[chunk][Int(value)]
      if level >= 0 {
        to[expansion.first + Int(level)] = 1
      } else {
        unseen[expansion.column] += 1
      }
    }
  }

  /// The index of the chunk whose rows hold `row` (chunks in row order).
  private static func chunk(containing row: Int, starts: [Int]) -> Int {
    var low = 0
    var high = starts.count - 1
    while low < high {
      let middle = (low + high + 1) / 2
      if starts[middle] <= row { low = middle } else { high = middle - 1 }
    }
    return low
  }
}
