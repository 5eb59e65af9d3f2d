extension Dataset {
  /// Copies rows between processes so that each holds the rows `needed(rank)` lists
  /// (ascending) for it, each row from the process that loaded it (`heldRows`); nothing
  /// when every process holds every row. Collective: every process computes the same lists
  /// for every process, and the copies go one (sender, receiver) pair after another in a
  /// fixed order, so no two processes wait on each other. What moves is what a process
  /// reads but did not load: about one shard at each end of its share.
  func gatherRows(_ needed: (_ rank: Int) -> [Int], processes: any ProcessGroup) {
    guard let heldRows, processes.count > 1 else { return }
    let wanted = (0..<processes.count).map { rank in needed(rank).filter { !heldRows[rank].contains($0) } }
    let rowBytes = features.rowStride * 4
    for source in 0..<processes.count {
      for destination in 0..<processes.count where destination != source {
        guard source == processes.rank || destination == processes.rank else { continue }
        let rows = wanted[destination].filter { heldRows[source].contains($0) }
        guard !rows.isEmpty else { continue }
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: rows.count * rowBytes, alignment: 64)
        defer { buffer.deallocate() }
        if source == processes.rank {
          for (index, row) in rows.enumerated() {
            (buffer + index * rowBytes).copyMemory(from: features.rowPointer(row), byteCount: rowBytes)
          }
          processes.send(bytes: buffer, byteCount: rows.count * rowBytes, to: destination)
        } else {
          processes.receive(bytes: buffer, byteCount: rows.count * rowBytes, from: source)
          for (index, row) in rows.enumerated() {
            UnsafeMutableRawPointer(features.rowPointer(row)).copyMemory(from: buffer + index * rowBytes, byteCount: rowBytes)
          }
        }
      }
    }
  }
}
