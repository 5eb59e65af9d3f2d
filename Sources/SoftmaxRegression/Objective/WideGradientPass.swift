import CKernel

/// The Float32 pass for wide models (many classes times many features), as blocked matrix
/// products instead of the fused per-row kernel.
///
/// The fused kernel (`GradientKernel`) reads all of W for every 8 rows and gives every shard
/// a K × D gradient of its own, reduced afterwards: at K·D ≈ 10⁶ that is 4 MB of weights
/// streamed per 8 rows and O(shards·K·D) memory and reduction. Here the rows are taken in
/// blocks of `blockRows` (a number that depends on nothing but this constant), and each block
/// is three steps, each spread over the threads:
/// 1. logits Z = X_b Wᵀ + b, by tiles of classes: in Swift, register tiles of 4 rows × 3
///    classes, a few rows of W held in L1 while the block's rows stream past them, each dot
///    product in 8 lanes summed over the row in order, then across; with AVX-512F, register
///    tiles of 8 rows × 48 classes over Wᵀ packed once a pass in panels of 16 classes (the
///    tile's 3 panels stay in L2 while the block's rows pass), each dot product one chain
///    over the features in order, no sums across lanes;
/// 2. the softmax of each 8-row group, with the fused kernel's own step
///    (`GradientKernel.computeCoefficients`): coefficients C = v·(P − Y), losses, argmax;
/// 3. the gradient G += Cᵀ X_b, by tiles of classes over column strips (a strip of the
///    block's rows stays in L1 while the tile's classes pass over it): register tiles of 4
///    classes × 24 columns (Swift) or 8 × 32 (AVX-512F, over a strip copied contiguous),
///    C packed per 4 or 8 classes, summed over the block's rows in Float, then added to G,
///    kept in Double (as a shard's sums are in the reduction).
/// The blocks go shard by shard (`Shards(rowCount:)`, which depend on the row count only):
/// each shard's totals are summed from zero, then combined pairwise in a tree whose shape
/// depends on the shard count alone (`ShardTree`). Every logit, and every entry of a shard's
/// G and bias sums, is computed by one task in one fixed order (over features, then over
/// rows and blocks in order), so the result is bit-identical for any thread count and any
/// tiling, with no per-shard copies, and, the tree's nodes being the same whoever computes
/// them, for any number of processes, each running its range of the shards at the same
/// time. Extra memory: a shard's totals and one per level of the tree, in Double (P + 5 each:
/// O(log shards · K · D)), plus about 4 · blockRows · K floats. Cost per pass: 4·m·D·K
/// flops, plus O(blocks · K · D) Double additions (one per block and entry, and one per
/// shard in the tree).
final class WideGradientPass: @unchecked Sendable {
  // @unchecked: within a step each task writes disjoint parts of the buffers (its classes'
  // logits and gradient rows, or its row group's coefficients); steps run one after another.

  /// Rows per block: a multiple of 8 (the softmax step's group), set in `wide_kernel.h`.
  static let blockRows = Int(SOFTMAX_WIDE_BLOCK_ROWS)
  /// The smallest K · rowStride from which the pass is faster than the fused kernel, for
  /// rows of at least `fasterFromStride` floats. Measured on 50,000 rows, 2 threads (README,
  /// "Wide models"): with the AVX-512F steps, 1.1× at 100 × 784 and × 1,024 and 2.1× at
  /// 1,000 × 784 and × 1,024, but slower at 100 × 100 and below K = 100; with the Swift
  /// (AVX2) steps (measured before this round), 1.15× at 1,000 × 784 and × 1,024, slower at
  /// 100 × 1,024.
  static var fasterFromWidth: Int { runsAVX512 ? 1 << 16 : 1 << 19 }
  /// The shortest padded rows for which the pass is faster at `fasterFromWidth` and above.
  /// With the AVX-512F steps (50,000 rows, README "Wide models"), from 48 floats: 1.2–1.8×
  /// on one thread and 1.0–1.25× on two at 1,400 × 48, 1,000 × 100, 500 × 160, 200 × 336
  /// and 130 × 512; at 3,000 × 24, 0.75×. With the Swift steps, slower below 256.
  static var fasterFromStride: Int { runsAVX512 ? 48 : 256 }

  let classCount: Int
  let rowStride: Int
  private let groupCount = blockRows / 8
  /// Per 8-row group: logits, class-major, 8 lanes a class (`computeCoefficients`' layout).
  private let logits: UnsafeMutablePointer<Float>
  /// The same layout: the coefficients C.
  private let coefficients: UnsafeMutablePointer<Float>
  /// C again, packed for step 3's broadcasts, per group of classes (4 in Swift, 8 with
  /// AVX-512F): the block's rows in order, a group's coefficients each (so a tile's
  /// coefficients are one stream).
  private let packedCoefficients: UnsafeMutablePointer<Float>
  /// Per group: bias sums the softmax step writes (unused here: step 3 sums C itself).
  private let biasScratch: UnsafeMutablePointer<Float>
  /// Per group: the rows' loss lanes and correct lanes, combined in row order afterwards.
  private let lossLanes: UnsafeMutablePointer<Vector8>
  private let correctLanes: UnsafeMutablePointer<SIMD8<Int32>>
  /// Per group: its rows' labels and weights as lanes (label −1, weight 0 past the end).
  private let labelLanes: UnsafeMutablePointer<Vector8>
  private let weightLanes: UnsafeMutablePointer<Vector8>
  /// Wᵀ in panels of 16 classes (`softmax_wide_pack_panel`), packed at the start of each
  /// pass for the AVX-512F logits step; nil where that step does not run.
  private let weightPanels: UnsafeMutablePointer<Float>?
  private var panelCount: Int { (classCount + 15) / 16 }
  /// The block's rows by strips of 32 columns (`softmax_wide_pack_rows`), for the AVX-512F
  /// step 3; nil where that step does not run.
  private let rowStrips: UnsafeMutablePointer<Float>?
  private var stripFloats: Int { Self.stripFloats(rowStride: rowStride) }
  private static func stripFloats(rowStride: Int) -> Int { (rowStride + 31) / 32 * stripStride }
  /// Floats from one strip to the next: 64 bytes more than its rows, so that the rows a
  /// group writes into every strip do not all fall in the same L1 sets.
  private static let stripStride = blockRows * 32 + 16
  /// Per row of the block: its features (a zero row past the block's end).
  private let rowPointers: UnsafeMutablePointer<UnsafePointer<Float>>
  private let zeroRow: UnsafeMutablePointer<Float>
  /// The shards' totals, summed pairwise (`ShardTree`).
  let tree: ShardTree
  /// Runs a pass's steps, every shard's and the tree's additions, in one dispatch.
  private let phases = PhaseRunner()

  /// Whether steps 1 and 3 run their AVX-512F build (`wide_kernel.c`): where the CPU has it,
  /// unless `SOFTMAX_NATIVE_KERNEL=0`. The Swift steps are built for the AVX2 of a
  /// development build (see Package.swift); results differ between the two builds, never
  /// between thread counts.
  static let runsAVX512: Bool = {
    #if arch(x86_64)
      return GradientKernel.nativeKernelsAllowed && softmax_wide_avx512_available() == 1
    #else
      return false
    #endif
  }()

  /// Whether this pass runs the AVX-512F steps (tests compare both builds).
  var usesAVX512 = WideGradientPass.runsAVX512

  /// Whether the pass should replace the fused kernel for a model of `classCount` classes
  /// and padded rows of `rowStride` floats over `rowCount` rows, whose fused passes would
  /// hold `shardCount` shard sums: where it is faster (`fasterFromWidth`,
  /// `fasterFromStride`), or where those sums would pass max(64 MB, a tenth of the matrix),
  /// the memory the passes may add.
  static func isPreferred(classCount: Int, rowStride: Int, rowCount: Int, shardCount: Int) -> Bool {
    let width = classCount * rowStride
    let fusedBytes = Double(shardCount) * Double(width + classCount) * 4
    let budget = max(64e6, Double(rowCount) * Double(rowStride) * 4 / 10)
    return (width >= fasterFromWidth && rowStride >= fasterFromStride) || fusedBytes > budget
  }

  init(classCount: Int, rowStride: Int) {
    self.classCount = classCount
    self.rowStride = rowStride
    let scoreCount = Self.blockRows * classCount
    logits = .allocate(capacity: scoreCount)
    coefficients = .allocate(capacity: scoreCount)
    packedCoefficients = .allocate(capacity: Self.blockRows * ((classCount + 7) / 8 * 8))
    biasScratch = .allocate(capacity: scoreCount)
    lossLanes = .allocate(capacity: Self.blockRows / 8)
    correctLanes = .allocate(capacity: Self.blockRows / 8)
    labelLanes = .allocate(capacity: Self.blockRows / 8)
    weightLanes = .allocate(capacity: Self.blockRows / 8)
    rowPointers = .allocate(capacity: Self.blockRows)
    zeroRow = .allocate(capacity: rowStride)
    zeroRow.initialize(repeating: 0, count: rowStride)
    packedCoefficients.initialize(repeating: 0, count: Self.blockRows * ((classCount + 7) / 8 * 8))
    weightPanels = Self.runsAVX512 ? .allocate(capacity: (classCount + 15) / 16 * 16 * rowStride) : nil
    rowStrips = Self.runsAVX512 ? Self.allocateZeroed(Self.stripFloats(rowStride: rowStride)) : nil
    let parameterCount = classCount * rowStride + classCount
    tree = ShardTree(valueCount: parameterCount + 5, fingerprintIndex: parameterCount + 4)
  }

  /// The bytes of its buffers, the shard tree's included.
  var byteCount: Int {
    4 * Self.blockRows * (3 * classCount + (classCount + 7) / 8 * 8 + 2) + 4 * rowStride + 128 * groupCount
      + (weightPanels == nil ? 0 : 4 * panelCount * 16 * rowStride) + (rowStrips == nil ? 0 : 4 * stripFloats)
      + tree.byteCount
  }

  deinit {
    logits.deallocate()
    coefficients.deallocate()
    packedCoefficients.deallocate()
    biasScratch.deallocate()
    lossLanes.deallocate()
    correctLanes.deallocate()
    labelLanes.deallocate()
    weightLanes.deallocate()
    rowPointers.deallocate()
    zeroRow.deallocate()
    weightPanels?.deallocate()
    rowStrips.map { UnsafeMutableRawPointer($0).deallocate() }
  }

  /// `count` zero floats, 64-byte aligned (the AVX-512F steps load whole lines).
  private static func allocateZeroed(_ count: Int) -> UnsafeMutablePointer<Float> {
    let raw = UnsafeMutableRawPointer.allocate(byteCount: 4 * count, alignment: 64)
    return raw.initializeMemory(as: Float.self, repeating: 0, count: count)
  }

  /// One pass with `kernel`'s inputs (features, labels, Float32 W and b, row order and
  /// weights) over this process's shards `owned` of `shards` (positions shifted by
  /// `offset`), into `totals` (`PassTotals`' flat layout) on every process, on `executor`:
  /// each shard from zero, block after block, its totals stamped with `fingerprint` and
  /// pushed into `tree`, which `chain` completes over the processes. `reader` hints a matrix
  /// read from disk ahead of the shards. The shards' steps and the tree's additions run as
  /// phases of one dispatch.
  func run(
    _ kernel: GradientKernel, shards: Shards, owned: Range<Int>, offset: Int, fingerprint: UInt64,
    into totals: UnsafeMutableBufferPointer<Double>, chain: ProcessChain, executor: ShardedExecutor,
    reader: DiskReadAhead
  ) {
    reader.start()
    defer { reader.finish() }
    packWeights(kernel, executor: executor)
    tree.reset()
    let walk = ShardWalk(shards: shards, owned: owned, offset: offset, fingerprint: fingerprint)
    let tiles = classTiles(threadCount: executor.threadCount)
    phases.run(on: executor) {
      self.nextPhase(kernel, walk: walk, tiles: tiles, reader: reader, threadCount: executor.threadCount)
    }
    let chainTime = ContinuousClock().measure { chain.finish(tree, into: totals, executor: executor) }
    let combining = walk.combining + chainTime
    lastCombineSeconds = Double(combining.components.seconds) + Double(combining.components.attoseconds) * 1e-18
  }

  /// The seconds the last pass spent combining shards in the tree, with the processes'
  /// exchange and the wait for the slowest (the fused pass's reduction time, for reports).
  private(set) var lastCombineSeconds = 0.0

  /// Where a pass's walk over its shards stands: the shard being summed (its blocks, into
  /// `values`) or the tree's additions after one, and the time those took.
  private final class ShardWalk: @unchecked Sendable {
    // @unchecked: used only between phases (`PhaseRunner`'s `next`), one thread at a time.
    let shards: Shards
    /// The shard being summed, or last summed.
    var shard = 0
    var nextShard: Int
    let end: Int
    let offset: Int
    let fingerprint: UInt64
    var blocks: BlockWalk?
    var values: UnsafeMutableBufferPointer<Double>?
    var merges: ArraySlice<ShardTree.Merge> = []
    /// When the tree's bookkeeping for the last shard began, until its additions are done.
    var mergesStarted: ContinuousClock.Instant?
    var combining = Duration.zero

    init(shards: Shards, owned: Range<Int>, offset: Int, fingerprint: UInt64) {
      self.shards = shards
      nextShard = owned.lowerBound
      end = owned.upperBound
      self.offset = offset
      self.fingerprint = fingerprint
    }
  }

  /// The walk's next phase: a tree addition left from the last shard, else the current
  /// shard's next step, else the next shard's first; nil after the last.
  private func nextPhase(
    _ kernel: GradientKernel, walk: ShardWalk, tiles: [Range<Int>], reader: DiskReadAhead, threadCount: Int
  ) -> PhaseRunner.Phase? {
    while true {
      if let merge = walk.merges.popFirst() {
        return PhaseRunner.Phase(taskCount: merge.chunkCount) { merge.addChunk($0) }
      }
      if let started = walk.mergesStarted {
        walk.combining += ContinuousClock.now - started
        walk.mergesStarted = nil
      }
      if let blocks = walk.blocks, let values = walk.values {
        if let phase = nextPhase(kernel, walk: blocks, tiles: tiles, into: UnsafeSendableBuffer(values), threadCount: threadCount) {
          return phase
        }
        finish(blocks, into: values, walk: walk)
        continue
      }
      guard walk.nextShard < walk.end else { return nil }
      walk.shard = walk.nextShard
      walk.nextShard += 1
      reader.willStart(walk.shard)
      let rows = walk.shards[walk.shard]
      walk.blocks = BlockWalk(positions: (rows.lowerBound + walk.offset)..<(rows.upperBound + walk.offset))
      walk.values = tree.buffer()
    }
  }

  /// A shard's last step done: its totals completed and pushed into the tree, whose
  /// additions the walk runs next.
  private func finish(_ blocks: BlockWalk, into values: UnsafeMutableBufferPointer<Double>, walk: ShardWalk) {
    let scalars = classCount * rowStride + classCount
    values[scalars] = blocks.loss
    values[scalars + 1] = blocks.weightSum
    values[scalars + 2] = Double(blocks.correct)
    values[scalars + 3] = Double(blocks.end - blocks.first)
    values[tree.fingerprintIndex] = Double(bitPattern: walk.fingerprint)
    walk.mergesStarted = ContinuousClock.now
    walk.merges = ArraySlice(tree.pushDeferringMerges(level: 0, start: walk.shard, values: values))
    walk.blocks = nil
    walk.values = nil
  }

  /// Where a shard's walk over its blocks stands, and its loss, weight and correct counts so
  /// far (summed in row order, between phases).
  private final class BlockWalk: @unchecked Sendable {
    // @unchecked: used only between phases (`PhaseRunner`'s `next`), one thread at a time.
    let first: Int
    var start: Int
    let end: Int
    var count = 0
    var step = 0
    var loss = 0.0, weightSum = 0.0, correct = 0
    var groups: Int { (count + 7) / 8 }

    init(positions: Range<Int>) {
      first = positions.lowerBound
      start = positions.lowerBound
      end = positions.upperBound
    }
  }

  /// The walk's next phase: a block's logits, its softmax, its gradient; between blocks, the
  /// finished block's losses are added up and the next block prepared. Nil after the last.
  private func nextPhase(
    _ kernel: GradientKernel, walk: BlockWalk, tiles: [Range<Int>], into sums: UnsafeSendableBuffer<Double>,
    threadCount: Int
  ) -> PhaseRunner.Phase? {
    switch walk.step {
    case 1:
      walk.step = 2
      return coefficientsPhase(kernel, groups: walk.groups)
    case 2:
      walk.step = 3
      return gradientPhase(tiles: tiles, groups: walk.groups, into: sums, threadCount: threadCount)
    case 3:
      addLosses(of: walk)
      walk.start += walk.count
      fallthrough
    default:
      guard walk.start < walk.end else { return nil }
      walk.count = min(Self.blockRows, walk.end - walk.start)
      walk.step = 1
      prepareBlock(kernel, start: walk.start, count: walk.count)
      return logitsPhase(kernel, tiles: tiles, groups: walk.groups)
    }
  }

  /// Adds the finished block's rows' losses, weights and correct counts, in row order.
  private func addLosses(of walk: BlockWalk) {
    for group in 0..<walk.groups {
      for lane in 0..<8 where group * 8 + lane < walk.count {
        walk.loss += Double(lossLanes[group][lane])
        walk.weightSum += Double(weightLanes[group][lane])
        walk.correct += Int(correctLanes[group][lane])
      }
    }
  }

  /// Step 2: the softmax of each 8-row group, and the packing step 3 reads.
  private func coefficientsPhase(_ kernel: GradientKernel, groups: Int) -> PhaseRunner.Phase {
    PhaseRunner.Phase(taskCount: groups) { group in
      var correctLanes = SIMD8<Int32>()
      self.lossLanes[group] = kernel.computeCoefficients(
        logits: self.logits + group * 8 * self.classCount, labels: self.labelLanes[group],
        weights: self.weightLanes[group], into: self.coefficients + group * 8 * self.classCount,
        biasSums: self.biasScratch + group * 8 * self.classCount, correctLanes: &correctLanes)
      self.correctLanes[group] = correctLanes
      self.prepareGradient(group: group)
    }
  }

  /// Class ranges for steps 1 and 3: about four per thread, each a multiple of 16 classes
  /// (a panel of the AVX-512F logits step; its gradient step takes 8 classes at a time and
  /// the classes past the last 8 of a range by a slower edge path). The tiling changes no
  /// result (see the type's documentation), only the balance.
  private func classTiles(threadCount: Int) -> [Range<Int>] {
    let perTile = max(16, (classCount + 4 * threadCount - 1) / (4 * threadCount) + 15) / 16 * 16
    return stride(from: 0, to: classCount, by: perTile).map { $0..<min(classCount, $0 + perTile) }
  }

  /// The block's row pointers, and its label and weight lanes per group (label −1 and
  /// weight 0 past the end, as the softmax step expects).
  private func prepareBlock(_ kernel: GradientKernel, start: Int, count: Int) {
    for group in 0..<groupCount {
      labelLanes[group] = Vector8(repeating: -1)
      weightLanes[group] = Vector8()
    }
    for offset in 0..<Self.blockRows {
      guard offset < count else {
        rowPointers[offset] = UnsafePointer(zeroRow)
        continue
      }
      let position = start + offset
      let row = kernel.rowIndices.map { Int($0[position]) } ?? position
      rowPointers[offset] = kernel.features + row * rowStride
      labelLanes[offset / 8][offset % 8] = Float(kernel.labels[row])
      weightLanes[offset / 8][offset % 8] = kernel.rowWeights.map { $0[row] } ?? 1
    }
  }

  // MARK: - Step 1: logits

  /// Packs W into `weightPanels` for the AVX-512F logits step, a panel a task.
  private func packWeights(_ kernel: GradientKernel, executor: ShardedExecutor) {
    guard usesAVX512, weightPanels != nil else { return }
    executor.forEachShard(panelCount) { panel in
      softmax_wide_pack_panel(kernel.weights, self.rowStride, self.classCount, panel, self.weightPanels)
    }
  }

  /// Classes per sub-tile of step 1: their weights (6 rows of W) stay in L1 while the
  /// block's rows stream past them, 4 at a time.
  private static let logitClasses = 6

  /// Logits of the block's rows for `classes`, into `logits` (class-major per group).
  /// Step 1's tasks: in Swift, `tiles`; with AVX-512F, 48 classes (the C tile's 3 panels)
  /// × one 8-row group each, class-major, so that a thread's next task mostly finds those
  /// panels in its L2, and the tasks are small enough (hundreds a block) to leave no thread
  /// waiting long at the step's end.
  private func logitsPhase(_ kernel: GradientKernel, tiles: [Range<Int>], groups: Int) -> PhaseRunner.Phase {
    guard usesAVX512, weightPanels != nil else {
      return PhaseRunner.Phase(taskCount: tiles.count) { tile in
        self.computeLogits(kernel, classes: tiles[tile], groups: groups)
      }
    }
    let chunks = (classCount + 47) / 48
    return PhaseRunner.Phase(taskCount: chunks * groups) { task in
      let first = task / groups * 48, group = task % groups
      self.rowPointers.withMemoryRebound(to: UnsafePointer<Float>?.self, capacity: Self.blockRows) { rows in
        softmax_wide_logits_avx512(
          rows + group * 8, 1, self.weightPanels, kernel.bias, self.rowStride, first, min(first + 48, self.classCount),
          self.classCount, self.logits + group * 8 * self.classCount)
      }
    }
  }

  /// The Swift step 1 for `classes` of the block's rows.
  private func computeLogits(_ kernel: GradientKernel, classes: Range<Int>, groups: Int) {
    for subtile in stride(from: classes.lowerBound, to: classes.upperBound, by: Self.logitClasses) {
      let end = min(classes.upperBound, subtile + Self.logitClasses)
      for quad in 0..<(groups * 2) {
        let first = quad * 4
        let base = logits + (first / 8) * 8 * classCount + first % 8
        let rows = (rowPointers[first], rowPointers[first + 1], rowPointers[first + 2], rowPointers[first + 3])
        var classIndex = subtile
        while classIndex < end {
          // Three classes at a time; a last one or two repeat the previous class's weights
          // and drop the repeated sums.
          let count = min(3, end - classIndex)
          let w0 = kernel.weights + classIndex * rowStride
          let w1 = count > 1 ? w0 + rowStride : w0
          let w2 = count > 2 ? w0 + 2 * rowStride : w1
          let sums = dotProducts(rows, w0, w1, w2)
          for offset in 0..<count {
            let bias = kernel.bias[classIndex + offset]
            let target = base + (classIndex + offset) * 8
            for row in 0..<4 { target[row] = sums[offset * 4 + row] + bias }
          }
          classIndex += count
        }
      }
    }
  }

  /// x_r · w_c for four rows and three classes, (r0c0, r1c0, r2c0, r3c0, r0c1, …, r3c2) in
  /// the first 12 lanes: 12 accumulators, each summed over 8-float chunks in order and then
  /// across lanes with `treeSum`.
  @inline(__always)
  private func dotProducts(
    _ rows: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>),
    _ w0: UnsafePointer<Float>, _ w1: UnsafePointer<Float>, _ w2: UnsafePointer<Float>
  ) -> SIMD16<Float> {
    var a00 = Vector8(), a10 = Vector8(), a20 = Vector8(), a30 = Vector8()
    var a01 = Vector8(), a11 = Vector8(), a21 = Vector8(), a31 = Vector8()
    var a02 = Vector8(), a12 = Vector8(), a22 = Vector8(), a32 = Vector8()
    var offset = 0
    while offset < rowStride {
      let u0 = loadVector(w0 + offset), u1 = loadVector(w1 + offset), u2 = loadVector(w2 + offset)
      let r0 = loadVector(rows.0 + offset)
      a00 = multiplyAdd(r0, u0, a00)
      a01 = multiplyAdd(r0, u1, a01)
      a02 = multiplyAdd(r0, u2, a02)
      let r1 = loadVector(rows.1 + offset)
      a10 = multiplyAdd(r1, u0, a10)
      a11 = multiplyAdd(r1, u1, a11)
      a12 = multiplyAdd(r1, u2, a12)
      let r2 = loadVector(rows.2 + offset)
      a20 = multiplyAdd(r2, u0, a20)
      a21 = multiplyAdd(r2, u1, a21)
      a22 = multiplyAdd(r2, u2, a22)
      let r3 = loadVector(rows.3 + offset)
      a30 = multiplyAdd(r3, u0, a30)
      a31 = multiplyAdd(r3, u1, a31)
      a32 = multiplyAdd(r3, u2, a32)
      offset &+= 8
    }
    return SIMD16(
      treeSum(a00), treeSum(a10), treeSum(a20), treeSum(a30),
      treeSum(a01), treeSum(a11), treeSum(a21), treeSum(a31),
      treeSum(a02), treeSum(a12), treeSum(a22), treeSum(a32), 0, 0, 0, 0)
  }

  // MARK: - Step 3: gradient

  /// Copies group `group`'s coefficients into `packedCoefficients` for the step 3 that runs,
  /// and, for the AVX-512F one, its rows into `rowStrips`.
  private func prepareGradient(group: Int) {
    guard usesAVX512, let rowStrips else { return transposeCoefficients(group: group) }
    softmax_wide_pack_coefficients(
      coefficients + group * 8 * classCount, classCount, group, Self.blockRows, packedCoefficients)
    rowPointers.withMemoryRebound(to: UnsafePointer<Float>?.self, capacity: Self.blockRows) { rows in
      softmax_wide_pack_rows(rows + group * 8, rowStride, group, Self.stripStride, rowStrips)
    }
  }

  /// Step 3's tasks: in Swift, `tiles`; with AVX-512F, one strip of 32 columns × a part of
  /// the classes each (about 16 tasks a thread, parts of whole octets), each strip copied
  /// once a block (`prepareGradient`) and read from L1 by all of a task's classes; one more
  /// task sums the biases.
  private func gradientPhase(
    tiles: [Range<Int>], groups: Int, into sums: UnsafeSendableBuffer<Double>, threadCount: Int
  ) -> PhaseRunner.Phase {
    let biasOffset = classCount * rowStride
    guard usesAVX512, rowStrips != nil else {
      return PhaseRunner.Phase(taskCount: tiles.count) { tile in
        let gradient = sums.buffer.baseAddress!
        self.addGradient(classes: tiles[tile], groups: groups, into: gradient, biases: gradient + biasOffset)
      }
    }
    let strips = (rowStride + 31) / 32
    let octets = (classCount + 7) / 8
    let partCount = min(octets, max(1, (16 * threadCount + strips - 1) / strips))
    let classesPerPart = (octets + partCount - 1) / partCount * 8
    let parts = (classCount + classesPerPart - 1) / classesPerPart
    return PhaseRunner.Phase(taskCount: 1 + strips * parts) { task in
      let gradient = sums.buffer.baseAddress!
      guard task > 0 else {
        return softmax_wide_bias_sums(
          self.packedCoefficients, Self.blockRows, groups * 8, 0, self.classCount, gradient + biasOffset)
      }
      let strip = (task - 1) / parts, first = (task - 1) % parts * classesPerPart
      softmax_wide_gradient_avx512(
        self.rowStrips, Self.stripStride, groups * 8, self.packedCoefficients, Self.blockRows, self.rowStride, first,
        min(first + classesPerPart, self.classCount), strip * 32, min(strip * 32 + 32, self.rowStride), gradient)
    }
  }

  /// The Swift step 3's packing: per 4 classes, group `group`'s 8 rows' 32 coefficients
  /// are one contiguous run.
  private func transposeCoefficients(group: Int) {
    let source = coefficients + group * 8 * classCount
    for quad in stride(from: 0, to: classCount, by: 4) {
      let target = packedCoefficients + packedIndex(row: group * 8, classIndex: quad)
      for lane in 0..<8 {
        for offset in 0..<min(4, classCount - quad) {
          target[lane * 4 + offset] = source[(quad + offset) * 8 + lane]
        }
      }
    }
  }

  @inline(__always)
  private func packedIndex(row: Int, classIndex: Int) -> Int {
    (classIndex >> 2) * (Self.blockRows * 4) + row * 4 + (classIndex & 3)
  }

  /// G[k] += Σ_r C[r, k] · x_r and bias[k] += Σ_r C[r, k] for `classes`, rows in order.
  /// Column strips outside, classes inside: a strip of the block's rows stays in L1 while
  /// every class of the task passes over it.
  private func addGradient(
    classes: Range<Int>, groups: Int, into gradient: UnsafeMutablePointer<Double>,
    biases: UnsafeMutablePointer<Double>
  ) {
    let rowCount = groups * 8
    addBiasSums(classes: classes, rowCount: rowCount, into: biases)
    let fullGroups = classes.lowerBound..<(classes.lowerBound + classes.count / 4 * 4)
    var column = 0
    while column < rowStride {
      let width = rowStride - column >= 24 ? 24 : 8
      for first in stride(from: fullGroups.lowerBound, to: fullGroups.upperBound, by: 4) {
        if width == 24 {
          addTile(first: first, column: column, rowCount: rowCount, into: gradient)
        } else {
          addNarrowTile(classes: first..<first + 4, column: column, rowCount: rowCount, into: gradient)
        }
      }
      addNarrowTile(classes: fullGroups.upperBound..<classes.upperBound, column: column, width: width, rowCount: rowCount, into: gradient)
      column += width
    }
  }

  /// bias[k] += Σ_r C[r, k] for `classes`, over the rows in order: four classes at a time,
  /// one lane each (the packed layout), so each sum keeps its order.
  private func addBiasSums(classes: Range<Int>, rowCount: Int, into biases: UnsafeMutablePointer<Double>) {
    var quad = classes.lowerBound & ~3
    while quad < classes.upperBound {
      var sums = SIMD4<Float>()
      let packed = UnsafeRawPointer(packedCoefficients + packedIndex(row: 0, classIndex: quad))
      for row in 0..<rowCount { sums += packed.loadUnaligned(fromByteOffset: row * 16, as: SIMD4<Float>.self) }
      for lane in 0..<4 where classes.contains(quad + lane) { biases[quad + lane] += Double(sums[lane]) }
      quad += 4
    }
  }

  /// The register tile: classes first..<first+4 × 24 columns from `column` (12
  /// accumulators; 3 row loads and 4 broadcasts per row), summed over the block's rows in
  /// Float, then added to G.
  @inline(__always)
  private func addTile(first: Int, column: Int, rowCount: Int, into gradient: UnsafeMutablePointer<Double>) {
    var a0 = Vector8(), a1 = Vector8(), a2 = Vector8(), a3 = Vector8()
    var b0 = Vector8(), b1 = Vector8(), b2 = Vector8(), b3 = Vector8()
    var d0 = Vector8(), d1 = Vector8(), d2 = Vector8(), d3 = Vector8()
    var c = UnsafePointer(packedCoefficients + packedIndex(row: 0, classIndex: first))
    for row in 0..<rowCount {
      let x = rowPointers[row] + column
      let low = loadVector(x), middle = loadVector(x + 8), high = loadVector(x + 16)
      let c0 = Vector8(repeating: c[0]), c1 = Vector8(repeating: c[1])
      a0 = multiplyAdd(c0, low, a0)
      b0 = multiplyAdd(c0, middle, b0)
      d0 = multiplyAdd(c0, high, d0)
      a1 = multiplyAdd(c1, low, a1)
      b1 = multiplyAdd(c1, middle, b1)
      d1 = multiplyAdd(c1, high, d1)
      let c2 = Vector8(repeating: c[2]), c3 = Vector8(repeating: c[3])
      a2 = multiplyAdd(c2, low, a2)
      b2 = multiplyAdd(c2, middle, b2)
      d2 = multiplyAdd(c2, high, d2)
      a3 = multiplyAdd(c3, low, a3)
      b3 = multiplyAdd(c3, middle, b3)
      d3 = multiplyAdd(c3, high, d3)
      c += 4
    }
    let target = gradient + first * rowStride + column
    Self.add(a0, b0, d0, to: target)
    Self.add(a1, b1, d1, to: target + rowStride)
    Self.add(a2, b2, d2, to: target + 2 * rowStride)
    Self.add(a3, b3, d3, to: target + 3 * rowStride)
  }

  /// The edges: classes past the last group of 4, or the last 8 columns; one class and 8
  /// columns at a time, rows in the same order as `addTile`.
  private func addNarrowTile(
    classes: Range<Int>, column: Int, width: Int = 8, rowCount: Int, into gradient: UnsafeMutablePointer<Double>
  ) {
    for classIndex in classes {
      for offset in stride(from: 0, to: width, by: 8) {
        var sum = Vector8()
        for row in 0..<rowCount {
          let coefficient = Vector8(repeating: packedCoefficients[packedIndex(row: row, classIndex: classIndex)])
          sum = multiplyAdd(coefficient, loadVector(rowPointers[row] + column + offset), sum)
        }
        let target = gradient + classIndex * rowStride + column + offset
        for lane in 0..<8 { target[lane] += Double(sum[lane]) }
      }
    }
  }

  @inline(__always)
  private static func add(_ low: Vector8, _ middle: Vector8, _ high: Vector8, to target: UnsafeMutablePointer<Double>) {
    for lane in 0..<8 {
      target[lane] += Double(low[lane])
      target[8 + lane] += Double(middle[lane])
      target[16 + lane] += Double(high[lane])
    }
  }
}
