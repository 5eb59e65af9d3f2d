// The AVX-512F build of the blocked pass's two product steps (see wide_kernel.h and
// WideGradientPass.swift for the layouts and the why).
#include "wide_kernel.h"

#if defined(__x86_64__)

#include <immintrin.h>

#pragma STDC FP_CONTRACT OFF
#pragma clang attribute push(__attribute__((target("avx512f"))), apply_to = function)

typedef __m512 v16;

/// 16 floats from p, or the first 8 and zeros when only 8 remain (rows are padded to 8).
static inline v16 load_part(const float *p, long remaining) {
  return remaining >= 16 ? _mm512_loadu_ps(p) : _mm512_maskz_loadu_ps(0x00FF, p);
}

// MARK: - Logits

/// x_r · w_c for 4 rows × 6 classes (sums[c * 4 + r]).
static inline void dot_4x6(
    const float *const *x, const float *const *w, long stride, float *sums) {
  v16 a[4][6];
  for (int r = 0; r < 4; r++)
    for (int c = 0; c < 6; c++) a[r][c] = _mm512_setzero_ps();
  for (long j = 0; j < stride; j += 16) {
    long left = stride - j;
    v16 u[6];
    for (int c = 0; c < 6; c++) u[c] = load_part(w[c] + j, left);
    for (int r = 0; r < 4; r++) {
      v16 row = load_part(x[r] + j, left);
      for (int c = 0; c < 6; c++) a[r][c] = _mm512_fmadd_ps(row, u[c], a[r][c]);
    }
  }
  for (int r = 0; r < 4; r++)
    for (int c = 0; c < 6; c++) sums[c * 4 + r] = _mm512_reduce_add_ps(a[r][c]);
}

/// x_r · w for 4 rows and one class (sums[r]).
static inline void dot_4x1(const float *const *x, const float *w, long stride, float *sums) {
  v16 a[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
  for (long j = 0; j < stride; j += 16) {
    long left = stride - j;
    v16 u = load_part(w + j, left);
    for (int r = 0; r < 4; r++) a[r] = _mm512_fmadd_ps(load_part(x[r] + j, left), u, a[r]);
  }
  for (int r = 0; r < 4; r++) sums[r] = _mm512_reduce_add_ps(a[r]);
}

void softmax_wide_logits_avx512(
    const float *const *rows, long quadCount, const float *weights, const float *bias, long rowStride,
    long classStart, long classEnd, long classCount, float *logits) {
  // Sub-tiles of 12 classes: their weights stay in L1 while the rows stream past.
  for (long tile = classStart; tile < classEnd; tile += 12) {
    long end = tile + 12 < classEnd ? tile + 12 : classEnd;
    for (long quad = 0; quad < quadCount; quad++) {
      const float *const *x = rows + quad * 4;
      long first = quad * 4;
      float *base = logits + (first / 8) * 8 * classCount + first % 8;
      long k = tile;
      float sums[24];
      for (; k + 6 <= end; k += 6) {
        const float *w[6];
        for (int c = 0; c < 6; c++) w[c] = weights + (k + c) * rowStride;
        dot_4x6(x, w, rowStride, sums);
        for (int c = 0; c < 6; c++)
          for (int r = 0; r < 4; r++) base[(k + c) * 8 + r] = sums[c * 4 + r] + bias[k + c];
      }
      for (; k < end; k++) {
        dot_4x1(x, weights + k * rowStride, rowStride, sums);
        for (int r = 0; r < 4; r++) base[k * 8 + r] = sums[r] + bias[k];
      }
    }
  }
}

// MARK: - Gradient

static inline void add_to_double(v16 sums, double *target, long width) {
  __m512d low = _mm512_cvtps_pd(_mm512_castps512_ps256(sums));
  _mm512_storeu_pd(target, _mm512_add_pd(_mm512_loadu_pd(target), low));
  if (width > 8) {
    __m512d high = _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(sums), 1)));
    _mm512_storeu_pd(target + 8, _mm512_add_pd(_mm512_loadu_pd(target + 8), high));
  }
}

/// 8 classes (two packed groups of 4) × 32 columns from `column`: 16 accumulators.
static inline void gradient_8x32(
    const float *const *rows, long rowCount, const float *packed0, const float *packed1, long column,
    double *gradient, long rowStride) {
  v16 a[8][2];
  for (int c = 0; c < 8; c++) a[c][0] = a[c][1] = _mm512_setzero_ps();
  for (long r = 0; r < rowCount; r++) {
    const float *x = rows[r] + column;
    v16 low = _mm512_loadu_ps(x), high = _mm512_loadu_ps(x + 16);
    const float *c0 = packed0 + r * 4, *c1 = packed1 + r * 4;
    for (int c = 0; c < 4; c++) {
      v16 coefficient = _mm512_set1_ps(c0[c]);
      a[c][0] = _mm512_fmadd_ps(coefficient, low, a[c][0]);
      a[c][1] = _mm512_fmadd_ps(coefficient, high, a[c][1]);
    }
    for (int c = 0; c < 4; c++) {
      v16 coefficient = _mm512_set1_ps(c1[c]);
      a[4 + c][0] = _mm512_fmadd_ps(coefficient, low, a[4 + c][0]);
      a[4 + c][1] = _mm512_fmadd_ps(coefficient, high, a[4 + c][1]);
    }
  }
  for (int c = 0; c < 8; c++) {
    add_to_double(a[c][0], gradient + c * rowStride + column, 16);
    add_to_double(a[c][1], gradient + c * rowStride + column + 16, 16);
  }
}

/// One class × 16 (or the last 8) columns from `column`.
static inline void gradient_1x16(
    const float *const *rows, long rowCount, const float *packed, long column, long width, double *target) {
  v16 sum = _mm512_setzero_ps();
  for (long r = 0; r < rowCount; r++) {
    sum = _mm512_fmadd_ps(_mm512_set1_ps(packed[r * 4]), load_part(rows[r] + column, width), sum);
  }
  add_to_double(sum, target + column, width);
}

void softmax_wide_gradient_avx512(
    const float *const *rows, long rowCount, const float *packed, long blockRows, long rowStride,
    long classStart, long classEnd, double *gradient) {
  long groupStride = blockRows * 4;
  long pairs = (classEnd - classStart) / 8;
  long wideColumns = rowStride / 32 * 32;
  // Column strips outside, classes inside: a strip of the rows stays in L1.
  for (long column = 0; column < wideColumns; column += 32) {
    for (long pair = 0; pair < pairs; pair++) {
      long k = classStart + pair * 8;
      const float *packed0 = packed + (k / 4) * groupStride;
      gradient_8x32(rows, rowCount, packed0, packed0 + groupStride, column, gradient + k * rowStride, rowStride);
    }
  }
  // The classes past the last 8 over every column, and every class over the last columns.
  for (long k = classStart; k < classEnd; k++) {
    const float *coefficients = packed + (k / 4) * groupStride + k % 4;
    long first = k < classStart + pairs * 8 ? wideColumns : 0;
    for (long column = first; column < rowStride; column += 16) {
      long width = rowStride - column >= 16 ? 16 : 8;
      gradient_1x16(rows, rowCount, coefficients, column, width, gradient + k * rowStride);
    }
  }
}

int softmax_wide_avx512_available(void) {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f");
}

#pragma clang attribute pop

#else

int softmax_wide_avx512_available(void) { return 0; }

void softmax_wide_logits_avx512(
    const float *const *rows, long quadCount, const float *weights, const float *bias, long rowStride,
    long classStart, long classEnd, long classCount, float *logits) {
  (void)rows, (void)quadCount, (void)weights, (void)bias, (void)rowStride, (void)classStart, (void)classEnd,
      (void)classCount, (void)logits;
}

void softmax_wide_gradient_avx512(
    const float *const *rows, long rowCount, const float *packed, long blockRows, long rowStride,
    long classStart, long classEnd, double *gradient) {
  (void)rows, (void)rowCount, (void)packed, (void)blockRows, (void)rowStride, (void)classStart, (void)classEnd,
      (void)gradient;
}

#endif
