// The compute ceiling the blocked pass's AVX-512F steps are judged against
// (`softmax-bench scaling`): the same FMA-only loop as the benchmark's Swift one, at 16 lanes.
#ifndef SOFTMAX_FMA_PROBE_H
#define SOFTMAX_FMA_PROBE_H

/// Runs `iterations` × 12 independent 16-lane multiply-adds (enough chains to cover the
/// latency of both FMA units) from `seed`, and returns a sum of the results so that the work
/// cannot be dropped. 0 where the CPU has no AVX-512F; call only where
/// `softmax_wide_avx512_available()`.
float softmax_fma_loop_avx512(long iterations, float seed);

#endif
