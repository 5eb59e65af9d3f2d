extension CSVParts {
  /// The dataset of all parts read in shares by several processes, each holding the feature
  /// values of its own chunks' rows only (`Dataset.heldRows`), and everything global exactly
  /// as one process reads it.
  ///
  /// 1. The plan (made in shares by `init`) gives every process every chunk's rows, so the
  ///    global row numbering, before any row is parsed.
  /// 2. Each parses its chunks on its threads, into a matrix of all rows whose other rows it
  ///    never touches (`FeatureMatrix(reservingRowCount:featureCount:)`).
  /// 3. A vote: when a chunk failed anywhere, the lowest failing process names the first
  ///    error of the input (the serial reader's verdict), every other stops with
  ///    `.failedInAnotherProcess`.
  /// 4. The chunks' text codes (label names and categorical levels in order of first
  ///    appearance, missing counts) are exchanged, so each merges them in chunk order as one
  ///    process does; then the labels, weights and drops of every row (8 bytes a row, once).
  /// 5. `TableAssembler` fills and expands each process's own rows, with the missing-value
  ///    means chained over the processes in row order (`ProcessChain`): the same bits.
  ///
  /// Communication: O(levels + rows) once, never the feature values.
  mutating func loadShares() throws(DatasetError) -> Dataset {
    let held = rows(ofChunks: ownedChunks)
    let rowCount = self.rowCount
    let matrix: FeatureMatrix
    do {
      matrix = try FeatureMatrix(reservingRowCount: rowCount, featureCount: layout.featureNames.count)
    } catch {
      throw error.located(in: file)
    }
    let labels = UnsafeMutableBufferPointer<Int32>.allocate(capacity: max(1, rowCount))
    let weights = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(1, rowCount))
    let dropped = UnsafeMutableBufferPointer<Bool>.allocate(capacity: max(1, rowCount))
    labels.initialize(repeating: 0)
    weights.initialize(repeating: 1)
    dropped.initialize(repeating: false)
    defer {
      labels.deallocate()
      weights.deallocate()
      dropped.deallocate()
    }
    let dropsRows = schema.missing == .drop
    if let progress {
      // Progress over this process's share, shown as over the whole input.
      let share = bytes(ofChunks: ownedChunks)
      self.progress = { done, total in
        let doneInShare = min(max(0, done - share.lowerBound), share.count)
        progress(share.isEmpty ? total : Int(Double(doneInShare) / Double(share.count) * Double(total)), total)
      }
    }
    var parsed: (labelNames: [String], chunks: [RawRows.Chunk])? = nil
    var failure: DatasetError? = nil
    do {
      parsed = try parse(
        into: matrix, labels: labels.baseAddress!, weights: weights.baseAddress!,
        dropped: dropsRows ? dropped.baseAddress! : nil)
      if parsed == nil {
        _ = try serialRows()  // throws the input's first error
        failure = DatasetError(file: file, reason: .inconsistentShape("the rows could not be read in shares"))
      }
    } catch {
      failure = error
    }
    try processes.settle(failure, file: file)
    guard let parsed else { throw DatasetError(file: file, reason: .inconsistentShape("the rows could not be read")) }

    let (labelNames, chunks) = try mergeCodes(parsed, held: held, labels: labels)
    try gatherRowFields(held: held, labels: labels, weights: weights, dropped: dropsRows ? dropped : nil)
    let rows = RawRows(
      matrix: matrix, labels: layout.roles.contains(.label) ? Array(labels.prefix(rowCount)) : [],
      labelNames: labelNames, weights: layout.roles.contains(.weight) ? Array(weights.prefix(rowCount)) : nil,
      dropped: dropsRows ? Array(dropped.prefix(rowCount)) : [], chunks: chunks)
    var dataset = try self.dataset(of: rows, held: held)
    dataset.heldRows = heldRows(dropped: rows.dropped)
    return dataset
  }

  /// The rows (numbered over all parts) of the consecutive chunks `chunks` (numbered over
  /// all parts).
  func rows(ofChunks chunks: Range<Int>) -> Range<Int> {
    firstRow(ofChunk: chunks.lowerBound)..<firstRow(ofChunk: chunks.upperBound)
  }

  /// The bytes (numbered over all parts, one after another) of the consecutive chunks
  /// `chunks` (numbered over all parts).
  private func bytes(ofChunks chunks: Range<Int>) -> Range<Int> {
    guard !chunks.isEmpty,
      let first = parts.last(where: { $0.firstChunk <= chunks.lowerBound }),
      let last = parts.last(where: { $0.firstChunk <= chunks.upperBound - 1 })
    else { return 0..<0 }
    let start = first.bytesBefore + first.plan.chunks[chunks.lowerBound - first.firstChunk].bytes.lowerBound
    let end = last.bytesBefore + last.plan.chunks[chunks.upperBound - 1 - last.firstChunk].bytes.upperBound
    return start..<end
  }

  /// The first row of chunk `chunk` (numbered over all parts); the row count past the last.
  private func firstRow(ofChunk chunk: Int) -> Int {
    guard let part = parts.last(where: { $0.firstChunk <= chunk && chunk < $0.firstChunk + $0.plan.chunks.count })
    else { return rowCount }
    return part.firstRow + part.plan.chunks[chunk - part.firstChunk].firstRow
  }

  /// Per process, the rows of the dataset (after drops) whose values it holds.
  private func heldRows(dropped: [Bool]) -> [Range<Int>] {
    let totalChunks = parts.reduce(0) { $0 + $1.plan.chunks.count }
    var keptBefore = [0]
    if !dropped.isEmpty {
      keptBefore.reserveCapacity(dropped.count + 1)
      for isDropped in dropped { keptBefore.append(keptBefore.last! + (isDropped ? 0 : 1)) }
    }
    func kept(_ row: Int) -> Int { dropped.isEmpty ? row : keptBefore[row] }
    return (0..<processes.count).map { rank in
      let rows = self.rows(ofChunks: processes.shardRange(of: totalChunks, rank: rank))
      return kept(rows.lowerBound)..<kept(rows.upperBound)
    }
  }

  /// Exchanges the chunks' text codes: returns the label names of all rows in order of
  /// first appearance, with this process's rows' labels rewritten as indices into them,
  /// and every chunk with its codes, in order.
  private func mergeCodes(
    _ parsed: (labelNames: [String], chunks: [RawRows.Chunk]), held: Range<Int>,
    labels: UnsafeMutableBufferPointer<Int32>
  ) throws(DatasetError) -> ([String], [RawRows.Chunk]) {
    let record = SharedCodes(labelNames: parsed.labelNames, chunks: parsed.chunks)
    var pieces: [SharedCodes] = []
    for bytes in processes.allGather(bytes: record.bytes) {
      guard let piece = SharedCodes(bytes: bytes, layout: layout) else {
        throw DatasetError(file: file, reason: .inconsistentShape("a process sent unreadable codes"))
      }
      pieces.append(piece)
    }
    var interner = LabelInterner()
    var own: [Int32] = []
    for (rank, piece) in pieces.enumerated() {
      let global = piece.labelNames.map { interner.index(of: $0) }
      if rank == processes.rank { own = global }
    }
    if !own.indices.allSatisfy({ own[$0] == Int32($0) }) {
      // A dropped row's label is a placeholder 0, which may name nothing.
      for row in held where own.indices.contains(Int(labels[row])) { labels[row] = own[Int(labels[row])] }
    }
    return (interner.names, pieces.flatMap(\.chunks))
  }

  /// Replaces every row's label, weight and drop with those of the process that read it.
  private func gatherRowFields(
    held: Range<Int>, labels: UnsafeMutableBufferPointer<Int32>, weights: UnsafeMutableBufferPointer<Float>,
    dropped: UnsafeMutableBufferPointer<Bool>?
  ) throws(DatasetError) {
    let own = held.map { row in
      Double(bitPattern: UInt64(UInt32(bitPattern: labels[row])) | UInt64(weights[row].bitPattern) << 32)
    }
    let all = processes.allGather(own).flatMap { $0 }
    guard all.count == rowCount else {
      throw DatasetError(file: file, reason: .inconsistentShape("the processes read \(all.count) rows, not \(rowCount)"))
    }
    for (row, value) in all.enumerated() {
      labels[row] = Int32(bitPattern: UInt32(truncatingIfNeeded: value.bitPattern))
      weights[row] = Float(bitPattern: UInt32(truncatingIfNeeded: value.bitPattern >> 32))
    }
    guard let dropped else { return }
    let flags = processes.allGather(bytes: held.map { dropped[$0] ? 1 : 0 }).flatMap { $0 }
    for (row, flag) in flags.enumerated() { dropped[row] = flag != 0 }
  }
}

/// The text codes of one process's chunks, as bytes to send: its label names in order of
/// first appearance, then per chunk its rows, label names, each slot's levels and each
/// column's missing count. Integers are 8 bytes little-endian; a text is its UTF-8 length,
/// then its bytes.
private struct SharedCodes {
  var labelNames: [String]
  var chunks: [RawRows.Chunk]

  init(labelNames: [String], chunks: [RawRows.Chunk]) {
    self.labelNames = labelNames
    self.chunks = chunks
  }

  var bytes: [UInt8] {
    var writer = Writer()
    writer.texts(labelNames)
    writer.integer(chunks.count)
    for chunk in chunks {
      writer.integer(chunk.rows.lowerBound)
      writer.integer(chunk.rows.upperBound)
      writer.texts(chunk.codes.labels.names)
      writer.integer(chunk.codes.levels.count)
      for levels in chunk.codes.levels { writer.texts(levels.names) }
      writer.integer(chunk.codes.missingCounts.count)
      for count in chunk.codes.missingCounts { writer.integer(count) }
    }
    return writer.bytes
  }

  init?(bytes: [UInt8], layout: CSVLoader.Layout) {
    var reader = Reader(bytes: bytes)
    guard let labelNames = reader.texts(), let chunkCount = reader.integer() else { return nil }
    var chunks: [RawRows.Chunk] = []
    for _ in 0..<chunkCount {
      guard let lower = reader.integer(), let upper = reader.integer(), lower <= upper,
        let labels = reader.texts(), let slotCount = reader.integer()
      else { return nil }
      var codes = TextCodes(layout: layout)
      for name in labels { _ = codes.labels.index(of: name) }
      guard slotCount == codes.levels.count else { return nil }
      for slot in 0..<slotCount {
        guard let names = reader.texts() else { return nil }
        for name in names { _ = codes.levels[slot].index(of: name) }
      }
      guard let columnCount = reader.integer(), columnCount == codes.missingCounts.count else { return nil }
      for column in 0..<columnCount {
        guard let count = reader.integer() else { return nil }
        codes.missingCounts[column] = count
      }
      chunks.append(RawRows.Chunk(rows: lower..<upper, codes: codes))
    }
    self.init(labelNames: labelNames, chunks: chunks)
  }

  private struct Writer {
    var bytes: [UInt8] = []

    mutating func integer(_ value: Int) {
      withUnsafeBytes(of: Int64(value).littleEndian) { bytes += $0 }
    }

    mutating func texts(_ texts: [String]) {
      integer(texts.count)
      for text in texts {
        integer(text.utf8.count)
        bytes += text.utf8
      }
    }
  }

  private struct Reader {
    let bytes: [UInt8]
    var position = 0

    mutating func integer() -> Int? {
      guard position + 8 <= bytes.count else { return nil }
      var value: UInt64 = 0
      for offset in (0..<8).reversed() { value = value << 8 | UInt64(bytes[position + offset]) }
      position += 8
      let integer = Int(Int64(bitPattern: value))
      return integer >= 0 ? integer : nil
    }

    mutating func texts() -> [String]? {
      guard let count = integer(), count <= bytes.count else { return nil }
      var texts: [String] = []
      for _ in 0..<count {
        guard let length = integer(), position + length <= bytes.count else { return nil }
        texts.append(String(decoding: bytes[position..<position + length], as: UTF8.self))
        position += length
      }
      return texts
    }
  }
}
