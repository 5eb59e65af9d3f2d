import CKernel
import Dispatch
import SoftmaxRegression

/// What the machine itself delivers at a thread count, measured with the same
/// `concurrentPerform` workers the trainer uses: an FMA-only loop (compute ceiling) and a
/// streaming read (memory ceiling). Reported beside the kernel so scaling is judged against
/// the machine, not against an ideal N× that a shared or SMT machine cannot give.
struct MachineCeiling {
  var threads: Int
  var fmaGflops: Double
  var readGBps: Double

  /// Work per thread for each probe, in chunks that the workers claim one at a time.
  static let chunksPerThread = 16

  /// GFLOP/s of an FMA-only loop (twelve independent 8-lane chains, enough to cover FMA
  /// latency) on `threads` workers. The work is `chunksPerThread` chunks per thread, claimed
  /// through the trainer's own `ShardedExecutor`, so the probe is scheduled exactly as the
  /// kernel is: a worker that starts late or shares its core takes fewer chunks instead of
  /// holding up the rest. (A fixed share per worker measured 7× on 16 cores of a VM where
  /// the kernel itself scaled 9.4×, so efficiencies came out above 100%.)
  /// Cost: about 70 ms of one core's work per thread, times 5 repetitions and a warm-up.
  /// With `lanes` 16 (the kernel's own steps are AVX-512F), the loop is the C one at 16
  /// lanes (`softmax_fma_loop_avx512`): on a CPU with two 512-bit FMA units that ceiling is
  /// twice the 8-lane one, and the kernel is judged against it.
  static func measureFMA(threads: Int, lanes: Int = 8, iterationsPerChunk: Int = 2_000_000) -> Double {
    let executor = ShardedExecutor(threadCount: threads)
    let chunks = threads * chunksPerThread
    let seconds = medianSeconds(repetitions: 5) {
      executor.forEachShard(chunks) { chunk in
        if lanes == 16 {
          blackHole(softmax_fma_loop_avx512(iterationsPerChunk, Float(chunk)))
        } else {
          blackHole(fmaLoop(iterations: iterationsPerChunk, seed: Float(chunk)))
        }
      }
    }
    let flops = Double(chunks) * Double(iterationsPerChunk) * 12 * Double(lanes) * 2
    return flops / seconds / 1e9
  }

  /// GB/s of a streaming read on `threads` workers: 64 MiB per thread (far beyond the
  /// caches), in 4 MiB chunks claimed through `ShardedExecutor` like the FMA probe's.
  static func measureRead(threads: Int) -> Double {
    let floatsPerChunk = 1 << 20
    let chunks = threads * chunksPerThread
    let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: floatsPerChunk * chunks)
    buffer.initialize(repeating: 1)
    defer { buffer.deallocate() }
    let shared = UnsafeShared(buffer)
    let executor = ShardedExecutor(threadCount: threads)
    let seconds = medianSeconds(repetitions: 5) {
      executor.forEachShard(chunks) { chunk in
        blackHole(sumSlice(shared.value, start: chunk * floatsPerChunk, count: floatsPerChunk))
      }
    }
    return Double(floatsPerChunk * chunks * 4) / seconds / 1e9
  }

  @inline(never)
  static func fmaLoop(iterations: Int, seed: Float) -> Float {
    let multiplier = SIMD8<Float>(repeating: 0.999_999)
    let addend = SIMD8<Float>(repeating: 1e-7)
    var chains = (0..<12).map { SIMD8<Float>(repeating: seed + Float($0)) }
    var c0 = chains[0], c1 = chains[1], c2 = chains[2], c3 = chains[3], c4 = chains[4], c5 = chains[5]
    var c6 = chains[6], c7 = chains[7], c8 = chains[8], c9 = chains[9], c10 = chains[10], c11 = chains[11]
    for _ in 0..<iterations {
      c0 = fused(c0, multiplier, addend); c1 = fused(c1, multiplier, addend)
      c2 = fused(c2, multiplier, addend); c3 = fused(c3, multiplier, addend)
      c4 = fused(c4, multiplier, addend); c5 = fused(c5, multiplier, addend)
      c6 = fused(c6, multiplier, addend); c7 = fused(c7, multiplier, addend)
      c8 = fused(c8, multiplier, addend); c9 = fused(c9, multiplier, addend)
      c10 = fused(c10, multiplier, addend); c11 = fused(c11, multiplier, addend)
    }
    chains = [c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11]
    return chains.reduce(SIMD8<Float>(), +).sum()
  }

  @inline(__always)
  static func fused(_ a: SIMD8<Float>, _ b: SIMD8<Float>, _ c: SIMD8<Float>) -> SIMD8<Float> {
    #if SOFTMAX_FMA || arch(arm64)
      return c.addingProduct(a, b)
    #else
      return c + a * b
    #endif
  }

  @inline(never)
  static func sumSlice(_ buffer: UnsafeMutableBufferPointer<Float>, start: Int, count: Int) -> Float {
    var sums = (SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>())
    let base = UnsafeRawPointer(buffer.baseAddress! + start)
    var offset = 0
    while offset < count * 4 {
      sums.0 += base.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self)
      sums.1 += base.loadUnaligned(fromByteOffset: offset + 32, as: SIMD8<Float>.self)
      sums.2 += base.loadUnaligned(fromByteOffset: offset + 64, as: SIMD8<Float>.self)
      sums.3 += base.loadUnaligned(fromByteOffset: offset + 96, as: SIMD8<Float>.self)
      offset += 128
    }
    return (sums.0 + sums.1 + sums.2 + sums.3).sum()
  }
}

/// Hands a buffer to `concurrentPerform` workers that each touch only their own part.
struct UnsafeShared<Value>: @unchecked Sendable {
  let value: Value
  init(_ value: Value) { self.value = value }
}

@inline(never)
func blackHole<T>(_ value: T) {
  withExtendedLifetime(value) {}
}

/// The median wall time of `repetitions` runs of `body` after one untimed warm-up run
/// (which also lets the dispatch pool start its threads), in seconds.
func medianSeconds(repetitions: Int, _ body: () -> Void) -> Double {
  let clock = ContinuousClock()
  body()
  var times: [Double] = []
  for _ in 0..<repetitions {
    let start = clock.now
    body()
    times.append((clock.now - start).seconds)
  }
  return times.sorted()[times.count / 2]
}

extension Duration {
  var seconds: Double {
    let (seconds, attoseconds) = components
    return Double(seconds) + Double(attoseconds) * 1e-18
  }
}
