#include "fma_probe.h"

#if defined(__x86_64__)

#include <immintrin.h>

__attribute__((target("avx512f"))) float softmax_fma_loop_avx512(long iterations, float seed) {
  __m512 chains[12];
  for (int i = 0; i < 12; i++) chains[i] = _mm512_set1_ps(seed + (float)i);
  __m512 multiplier = _mm512_set1_ps(0.999999f), addend = _mm512_set1_ps(1e-7f);
  for (long n = 0; n < iterations; n++)
    for (int i = 0; i < 12; i++) chains[i] = _mm512_fmadd_ps(chains[i], multiplier, addend);
  __m512 sum = chains[0];
  for (int i = 1; i < 12; i++) sum = _mm512_add_ps(sum, chains[i]);
  return _mm512_reduce_add_ps(sum);
}

#else

float softmax_fma_loop_avx512(long iterations, float seed) {
  (void)iterations, (void)seed;
  return 0;
}

#endif
