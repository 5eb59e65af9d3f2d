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

typedef __m256 v8;

/// Transposes 8 rows × 8 classes (v[r] holds row r's classes) so that v[c] holds class c's
/// 8 rows: the layout the softmax step reads.
static inline void transpose_8x8(v8 v[8]) {
  v8 t[8], s[8];
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps(v[i], v[i + 1]);
    t[i + 1] = _mm256_unpackhi_ps(v[i], v[i + 1]);
  }
  for (int i = 0; i < 8; i += 4) {
    s[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
    s[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);
    s[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
    s[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
  }
  for (int i = 0; i < 4; i++) {
    v[i] = _mm256_permute2f128_ps(s[i], s[i + 4], 0x20);
    v[i + 4] = _mm256_permute2f128_ps(s[i], s[i + 4], 0x31);
  }
}

/// Logits of 8 rows × `n` panels of 16 classes from `firstClass`: each logit one chain of
/// multiply-adds over the features in order, then its bias; written class-major (8 lanes a
/// class) for the classes below `classEnd`. `n` is a constant at each call (1, 2 or 3), so
/// the loops unroll: 24 accumulators at most.
static inline __attribute__((always_inline)) void logits_8xn(
    const float *const *x, const float *panels, long rowStride, int n, long firstClass, long classEnd,
    const float *bias, float *target) {
  v16 a[8][3];
  for (int r = 0; r < 8; r++)
    for (int i = 0; i < n; i++) a[r][i] = _mm512_setzero_ps();
  const float *panel = panels + (firstClass / 16) * rowStride * 16;
  for (long j = 0; j < rowStride; j++) {
    v16 w[3];
    for (int i = 0; i < n; i++) w[i] = _mm512_loadu_ps(panel + i * rowStride * 16 + j * 16);
    for (int r = 0; r < 8; r++) {
      v16 feature = _mm512_set1_ps(x[r][j]);
      for (int i = 0; i < n; i++) a[r][i] = _mm512_fmadd_ps(feature, w[i], a[r][i]);
    }
  }
  for (int half = 0; half < 2 * n; half++) {
    long first = firstClass + half * 8;
    if (first >= classEnd) break;
    v8 v[8];
    for (int r = 0; r < 8; r++) {
      v16 sums = a[r][half / 2];
      v[r] = half % 2 ? _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(sums), 1))
                      : _mm512_castps512_ps256(sums);
    }
    transpose_8x8(v);
    for (int c = 0; c < 8 && first + c < classEnd; c++) {
      _mm256_storeu_ps(target + (first + c) * 8, _mm256_add_ps(v[c], _mm256_set1_ps(bias[first + c])));
    }
  }
}

void softmax_wide_pack_panel(const float *weights, long rowStride, long classCount, long panel, float *target) {
  float *out = target + panel * rowStride * 16;
  for (long c = 0; c < 16; c++) {
    long k = panel * 16 + c;
    if (k < classCount) {
      const float *w = weights + k * rowStride;
      for (long j = 0; j < rowStride; j++) out[j * 16 + c] = w[j];
    } else {
      for (long j = 0; j < rowStride; j++) out[j * 16 + c] = 0;
    }
  }
}

void softmax_wide_logits_avx512(
    const float *const *rows, long groupCount, const float *panels, const float *bias, long rowStride,
    long classStart, long classEnd, long classCount, float *logits) {
  // 48 classes (150 kB of panels at 784 features) stay in L2 while the groups pass.
  for (long k = classStart; k < classEnd; k += 48) {
    long left = (classEnd - k + 15) / 16;
    for (long group = 0; group < groupCount; group++) {
      const float *const *x = rows + group * 8;
      float *target = logits + group * 8 * classCount;
      if (left >= 3) logits_8xn(x, panels, rowStride, 3, k, classEnd, bias, target);
      else if (left == 2) logits_8xn(x, panels, rowStride, 2, k, classEnd, bias, target);
      else logits_8xn(x, panels, rowStride, 1, k, classEnd, bias, target);
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

void softmax_wide_pack_coefficients(
    const float *coefficients, long classCount, long group, long blockRows, float *packed) {
  long fullOctets = classCount / 8;
  for (long octet = 0; octet < fullOctets; octet++) {
    v8 v[8];
    for (int c = 0; c < 8; c++) v[c] = _mm256_loadu_ps(coefficients + (octet * 8 + c) * 8);
    transpose_8x8(v);
    float *target = packed + octet * blockRows * 8 + group * 64;
    for (int r = 0; r < 8; r++) _mm256_storeu_ps(target + r * 8, v[r]);
  }
  if (fullOctets * 8 < classCount) {
    float *target = packed + fullOctets * blockRows * 8 + group * 64;
    for (int r = 0; r < 8; r++)
      for (long c = 0; c < 8; c++) {
        long k = fullOctets * 8 + c;
        target[r * 8 + c] = k < classCount ? coefficients[k * 8 + r] : 0;
      }
  }
}

void softmax_wide_pack_rows(const float *const *rows, long rowStride, long group, long stripStride, float *strips) {
  for (long column = 0; column < rowStride; column += 16) {
    long width = rowStride - column >= 16 ? 16 : 8;
    float *target = strips + (column / 32) * stripStride + group * 8 * 32 + column % 32;
    for (int r = 0; r < 8; r++) _mm512_storeu_ps(target + r * 32, load_part(rows[r] + column, width));
  }
}

/// 8 classes (`c`: row r's 8 coefficients at c + 8r) × a strip of 32 columns (`strip`:
/// row r's 32 floats at strip + 32r): 16 accumulators, of which the first `classes` are
/// added to G. (The last octet of K, partly past it, is summed whole: each sum is its own
/// chain, so the ones dropped change no other, and its lanes past K are zeros anyway.)
static inline void gradient_8x32(
    const float *strip, long rowCount, const float *c, int classes, long column, double *gradient, long rowStride) {
  v16 a[8][2];
  for (int k = 0; k < 8; k++) a[k][0] = a[k][1] = _mm512_setzero_ps();
  for (long r = 0; r < rowCount; r++) {
    // The Double targets (8 classes × 4 lines) are rarely in cache: K·D Doubles exceed L2.
    // One line every 8 rows hides the misses behind the rows; all 32 at the start stalled
    // the loads behind them (the step took 8% longer at 784 columns, 16% at 1,024).
    if (r % 8 == 0 && r < 8 * 32 && r / 32 < classes) {
      long line = r / 8;
      _mm_prefetch((const char *)(gradient + line / 4 * rowStride + column + line % 4 * 8), _MM_HINT_T0);
    }
    v16 low = _mm512_load_ps(strip + r * 32), high = _mm512_load_ps(strip + r * 32 + 16);
    for (int k = 0; k < 8; k++) {
      v16 coefficient = _mm512_set1_ps(c[r * 8 + k]);
      a[k][0] = _mm512_fmadd_ps(coefficient, low, a[k][0]);
      a[k][1] = _mm512_fmadd_ps(coefficient, high, a[k][1]);
    }
  }
  for (int k = 0; k < classes; k++) {
    add_to_double(a[k][0], gradient + k * rowStride + column, 16);
    add_to_double(a[k][1], gradient + k * rowStride + column + 16, 16);
  }
}

/// 8 classes (`c` as in gradient_8x32, the first `classes` added to G) × 16 (or the last 8)
/// columns from `column`, in a strip as gradient_8x32's: the last strip's columns.
static inline void gradient_nx16(
    const float *strip, long rowCount, const float *c, int classes, long column, long width, double *gradient,
    long rowStride) {
  v16 a[8];
  for (int k = 0; k < 8; k++) a[k] = _mm512_setzero_ps();
  for (long r = 0; r < rowCount; r++) {
    v16 x = _mm512_load_ps(strip + r * 32 + column % 32);
    for (int k = 0; k < 8; k++) a[k] = _mm512_fmadd_ps(_mm512_set1_ps(c[r * 8 + k]), x, a[k]);
  }
  for (int k = 0; k < classes; k++) add_to_double(a[k], gradient + k * rowStride + column, width);
}

void softmax_wide_bias_sums(
    const float *packed, long blockRows, long rowCount, long classStart, long classEnd, double *biases) {
  for (long octet = classStart / 8; octet * 8 < classEnd; octet += 4) {
    long count = (classEnd - octet * 8 + 7) / 8;
    v8 sums[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    for (long r = 0; r < rowCount; r++)
      for (int i = 0; i < 4; i++)
        if (i < count) sums[i] = _mm256_add_ps(sums[i], _mm256_loadu_ps(packed + (octet + i) * blockRows * 8 + r * 8));
    for (int i = 0; i < 4 && i < count; i++) {
      float lanes[8];
      _mm256_storeu_ps(lanes, sums[i]);
      for (int lane = 0; lane < 8; lane++) {
        long k = (octet + i) * 8 + lane;
        if (k < classEnd) biases[k] += lanes[lane];
      }
    }
  }
}

void softmax_wide_gradient_avx512(
    const float *strips, long stripStride, long rowCount, const float *packed, long blockRows, long rowStride,
    long classStart, long classEnd, long columnStart, long columnEnd, double *gradient) {
  long octets = (classEnd - classStart + 7) / 8;
  for (long column = columnStart; column < columnEnd; column += 32) {
    const float *strip = strips + (column / 32) * stripStride;
    for (long octet = 0; octet < octets; octet++) {
      long k = classStart + octet * 8;
      int classes = classEnd - k < 8 ? (int)(classEnd - k) : 8;
      const float *c = packed + (k / 8) * blockRows * 8;
      if (column + 32 <= rowStride) {
        gradient_8x32(strip, rowCount, c, classes, column, gradient + k * rowStride, rowStride);
        continue;
      }
      // 8 sums at a time keep the accumulators in registers (a loop over `classes` kept
      // them in memory: 8 classes over the last 16 of 784 columns took 4% of the step).
      for (long part = column; part < column + 32 && part < rowStride; part += 16) {
        long width = rowStride - part >= 16 ? 16 : 8;
        gradient_nx16(strip, rowCount, c, classes, part, width, gradient + k * rowStride, rowStride);
      }
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

void softmax_wide_pack_panel(const float *weights, long rowStride, long classCount, long panel, float *target) {
  (void)weights, (void)rowStride, (void)classCount, (void)panel, (void)target;
}

void softmax_wide_logits_avx512(
    const float *const *rows, long groupCount, const float *panels, const float *bias, long rowStride,
    long classStart, long classEnd, long classCount, float *logits) {
  (void)rows, (void)groupCount, (void)panels, (void)bias, (void)rowStride, (void)classStart, (void)classEnd,
      (void)classCount, (void)logits;
}

void softmax_wide_pack_coefficients(
    const float *coefficients, long classCount, long group, long blockRows, float *packed) {
  (void)coefficients, (void)classCount, (void)group, (void)blockRows, (void)packed;
}

void softmax_wide_pack_rows(const float *const *rows, long rowStride, long group, long stripStride, float *strips) {
  (void)rows, (void)rowStride, (void)group, (void)stripStride, (void)strips;
}

void softmax_wide_bias_sums(
    const float *packed, long blockRows, long rowCount, long classStart, long classEnd, double *biases) {
  (void)packed, (void)blockRows, (void)rowCount, (void)classStart, (void)classEnd, (void)biases;
}

void softmax_wide_gradient_avx512(
    const float *strips, long stripStride, long rowCount, const float *packed, long blockRows, long rowStride,
    long classStart, long classEnd, long columnStart, long columnEnd, double *gradient) {
  (void)strips, (void)stripStride, (void)rowCount, (void)packed, (void)blockRows, (void)rowStride, (void)classStart, (void)classEnd,
      (void)columnStart, (void)columnEnd, (void)gradient;
}

#endif
