// The AVX2 + FMA build of GradientKernel.accumulate (GradientKernel.swift, VectorMath.swift,
// RowPrefetcher.swift): the same tiles, the same operations in the same order, so it gives
// the same bits as the Swift kernel built for x86-64-v3 (a test compares them). Read the
// Swift files for the why of each step; this file only mirrors them.
#include "softmax_kernel.h"

#if defined(__x86_64__)

#include <immintrin.h>
#include <string.h>

// Products and sums stay separate roundings unless written as an FMA, as in Swift.
#pragma STDC FP_CONTRACT OFF
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)

typedef __m256 v8;

static inline v8 splat(float value) { return _mm256_set1_ps(value); }
static inline v8 load(const float *pointer) { return _mm256_loadu_ps(pointer); }
static inline void store(v8 value, float *pointer) { _mm256_storeu_ps(pointer, value); }
static inline v8 fma8(v8 a, v8 b, v8 addend) { return _mm256_fmadd_ps(a, b, addend); }
static inline v8 select8(v8 mask, v8 ifTrue, v8 ifFalse) { return _mm256_blendv_ps(ifFalse, ifTrue, mask); }
static inline v8 greater(v8 a, v8 b) { return _mm256_cmp_ps(a, b, _CMP_GT_OQ); }
static inline v8 less(v8 a, v8 b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
static inline v8 equal(v8 a, v8 b) { return _mm256_cmp_ps(a, b, _CMP_EQ_OQ); }

// MARK: - Horizontal sums (GradientKernel.interleavedPairSums, quadSums, reduceEight/Four)

static inline v8 interleaved_pair_sums(v8 a, v8 b) {
  v8 aSums = _mm256_add_ps(a, _mm256_castsi256_ps(_mm256_srli_epi64(_mm256_castps_si256(a), 32)));
  v8 bSums = _mm256_add_ps(b, _mm256_castsi256_ps(_mm256_slli_epi64(_mm256_castps_si256(b), 32)));
  return _mm256_blend_ps(aSums, bSums, 0xAA);
}

static inline v8 quad_sums(v8 x, v8 y) {
  __m256d xPairs = _mm256_castps_pd(x), yPairs = _mm256_castps_pd(y);
  v8 low = _mm256_castpd_ps(_mm256_unpacklo_pd(xPairs, yPairs));
  v8 high = _mm256_castpd_ps(_mm256_unpackhi_pd(xPairs, yPairs));
  return _mm256_add_ps(low, high);
}

static inline v8 reduce_eight(v8 a, v8 b, v8 c, v8 d, v8 e, v8 f, v8 g, v8 h) {
  v8 abcd = quad_sums(interleaved_pair_sums(a, b), interleaved_pair_sums(c, d));
  v8 efgh = quad_sums(interleaved_pair_sums(e, f), interleaved_pair_sums(g, h));
  return _mm256_add_ps(_mm256_permute2f128_ps(abcd, efgh, 0x20), _mm256_permute2f128_ps(abcd, efgh, 0x31));
}

static inline __m128 reduce_four(v8 a, v8 b, v8 c, v8 d) {
  v8 abcd = quad_sums(interleaved_pair_sums(a, b), interleaved_pair_sums(c, d));
  return _mm_add_ps(_mm256_castps256_ps128(abcd), _mm256_extractf128_ps(abcd, 1));
}

/// ((v0+v1)+(v2+v3))+((v4+v5)+(v6+v7)), as VectorMath.treeSum.
static inline float tree_sum(v8 v) {
  float lanes[8];
  store(v, lanes);
  return ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
}

// MARK: - exp and log (VectorMath)

static inline v8 exp_of_non_positive(v8 input) {
  const float lowerBound = -87.33654f;
  const float roundingMagic = 12582912.0f;
  v8 underflows = less(input, splat(lowerBound));
  v8 x = select8(underflows, splat(lowerBound), input);
  v8 n = _mm256_round_ps(_mm256_mul_ps(x, splat(1.4426950f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  v8 r = fma8(n, splat(-0.693359375f), x);
  r = fma8(n, splat(2.1219444e-4f), r);
  v8 p = splat(1.98756915e-4f);
  p = fma8(p, r, splat(1.39819995e-3f));
  p = fma8(p, r, splat(8.3334519e-3f));
  p = fma8(p, r, splat(4.16657959e-2f));
  p = fma8(p, r, splat(1.66666655e-1f));
  p = fma8(p, r, splat(5.00000012e-1f));
  v8 polynomial = fma8(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, splat(1)));
  __m256i nBits = _mm256_castps_si256(_mm256_add_ps(n, splat(roundingMagic)));
  uint32_t magicBits;
  memcpy(&magicBits, &roundingMagic, 4);
  __m256i scaleBits = _mm256_slli_epi32(_mm256_sub_epi32(nBits, _mm256_set1_epi32((int)(magicBits - 127))), 23);
  v8 result = _mm256_mul_ps(polynomial, _mm256_castsi256_ps(scaleBits));
  return select8(underflows, splat(0), result);
}

static inline v8 vector_log(v8 input) {
  const float roundingMagic = 12582912.0f;
  uint32_t magicBits;
  memcpy(&magicBits, &roundingMagic, 4);
  __m256i bits = _mm256_castps_si256(input);
  __m256i exponentBits = _mm256_and_si256(_mm256_srli_epi32(bits, 23), _mm256_set1_epi32(0xFF));
  v8 exponent = _mm256_sub_ps(
      _mm256_castsi256_ps(_mm256_add_epi32(exponentBits, _mm256_set1_epi32((int)magicBits))),
      splat(roundingMagic + 126));
  v8 mantissa = _mm256_castsi256_ps(
      _mm256_or_si256(_mm256_and_si256(bits, _mm256_set1_epi32(0x007FFFFF)), _mm256_set1_epi32(0x3F000000)));
  v8 small = less(mantissa, splat(0.707106781f));
  exponent = select8(small, _mm256_sub_ps(exponent, splat(1)), exponent);
  v8 x = _mm256_add_ps(_mm256_sub_ps(mantissa, splat(1)), select8(small, mantissa, splat(0)));
  v8 z = _mm256_mul_ps(x, x);
  v8 p = splat(7.0376836292e-2f);
  p = fma8(p, x, splat(-1.1514610310e-1f));
  p = fma8(p, x, splat(1.1676998740e-1f));
  p = fma8(p, x, splat(-1.2420140846e-1f));
  p = fma8(p, x, splat(1.4249322787e-1f));
  p = fma8(p, x, splat(-1.6668057665e-1f));
  p = fma8(p, x, splat(2.0000714765e-1f));
  p = fma8(p, x, splat(-2.4999993993e-1f));
  p = fma8(p, x, splat(3.3333331174e-1f));
  v8 y = _mm256_mul_ps(_mm256_mul_ps(p, x), z);
  y = fma8(exponent, splat(-2.1219444e-4f), y);
  y = fma8(z, splat(-0.5f), y);
  return fma8(exponent, splat(0.693359375f), _mm256_add_ps(x, y));
}

static inline v8 vector_log1p(v8 t) {
  v8 u = _mm256_add_ps(splat(1), t);
  v8 denominator = _mm256_sub_ps(u, splat(1));
  v8 corrected = _mm256_mul_ps(vector_log(u), _mm256_div_ps(t, denominator));
  return select8(equal(denominator, splat(0)), t, corrected);
}

// MARK: - Prefetching the next tile (RowPrefetcher)

typedef struct {
  const float *features;
  long rowStride;
  const int32_t *rows;
  long rowCount;
  long rowIndex;
  long linesLeftInRow;
  const char *nextLine;
} prefetcher;

static inline void prefetcher_start_row(prefetcher *state, long index) {
  const char *start = (const char *)(state->features + (long)state->rows[index] * state->rowStride);
  long offsetInLine = (long)((uintptr_t)start % 64);
  state->nextLine = start - offsetInLine;
  state->linesLeftInRow = (offsetInLine + state->rowStride * 4 + 63) / 64;
}

static inline void prefetcher_request(prefetcher *state) {
  if (state->rowIndex >= state->rowCount) return;
  __builtin_prefetch(state->nextLine, 0, 3);
  state->nextLine += 64;
  state->linesLeftInRow -= 1;
  if (state->linesLeftInRow == 0) {
    state->rowIndex += 1;
    if (state->rowIndex < state->rowCount) prefetcher_start_row(state, state->rowIndex);
  }
}

static long iterations_per_line(const float *features, long rowStride, long iterations) {
  long rowBytes = rowStride * 4;
  int aligned = ((uintptr_t)features % 64 == 0) && (rowBytes % 64 == 0);
  long lines = (rowBytes + 63) / 64 + (aligned ? 0 : 1);
  long perLine = iterations / (8 * lines);
  return perLine > 1 ? perLine : 1;
}

// MARK: - The tile's three steps

typedef struct {
  const float *rows[4];
} quad;

static void compute_logits(
    const softmax_kernel_input *in, quad q, long laneOffset, float *logits, prefetcher *prefetch, long segment) {
  const long stride = in->rowStride, classCount = in->classCount;
  const float *row0 = q.rows[0], *row1 = q.rows[1], *row2 = q.rows[2], *row3 = q.rows[3];
  long classIndex = 0;
  for (; classIndex + 1 < classCount; classIndex += 2) {
    const float *weights0 = in->weights + classIndex * stride, *weights1 = weights0 + stride;
    v8 s00 = splat(0), s01 = splat(0), s10 = splat(0), s11 = splat(0);
    v8 s20 = splat(0), s21 = splat(0), s30 = splat(0), s31 = splat(0);
    long offset = 0;
    while (offset < stride) {
      prefetcher_request(prefetch);
      long segmentEnd = offset + segment < stride ? offset + segment : stride;
      do {
        v8 w0 = load(weights0 + offset), w1 = load(weights1 + offset);
        v8 x0 = load(row0 + offset);
        s00 = fma8(x0, w0, s00);
        s01 = fma8(x0, w1, s01);
        v8 x1 = load(row1 + offset);
        s10 = fma8(x1, w0, s10);
        s11 = fma8(x1, w1, s11);
        v8 x2 = load(row2 + offset);
        s20 = fma8(x2, w0, s20);
        s21 = fma8(x2, w1, s21);
        v8 x3 = load(row3 + offset);
        s30 = fma8(x3, w0, s30);
        s31 = fma8(x3, w1, s31);
        offset += 8;
      } while (offset < segmentEnd);
    }
    v8 dots = reduce_eight(s00, s10, s20, s30, s01, s11, s21, s31);
    float *logits0 = logits + classIndex * 8 + laneOffset;
    _mm_storeu_ps(logits0, _mm_add_ps(_mm256_castps256_ps128(dots), _mm_set1_ps(in->bias[classIndex])));
    _mm_storeu_ps(logits0 + 8, _mm_add_ps(_mm256_extractf128_ps(dots, 1), _mm_set1_ps(in->bias[classIndex + 1])));
  }
  if (classIndex < classCount) {
    const float *weights0 = in->weights + classIndex * stride;
    v8 s0 = splat(0), s1 = splat(0), s2 = splat(0), s3 = splat(0);
    long offset = 0;
    while (offset < stride) {
      prefetcher_request(prefetch);
      long segmentEnd = offset + segment < stride ? offset + segment : stride;
      do {
        v8 w0 = load(weights0 + offset);
        s0 = fma8(load(row0 + offset), w0, s0);
        s1 = fma8(load(row1 + offset), w0, s1);
        s2 = fma8(load(row2 + offset), w0, s2);
        s3 = fma8(load(row3 + offset), w0, s3);
        offset += 8;
      } while (offset < segmentEnd);
    }
    __m128 dots = _mm_add_ps(reduce_four(s0, s1, s2, s3), _mm_set1_ps(in->bias[classIndex]));
    _mm_storeu_ps(logits + classIndex * 8 + laneOffset, dots);
  }
}

__attribute__((noinline)) static v8 compute_coefficients(
    long classCount, const float *logits, v8 labels, v8 weights, float *coefficients, float *biasSums,
    __m256i *correctLanes) {
  v8 maximum = load(logits);
  v8 argmax = splat(0);
  for (long k = 1; k < classCount; k++) {
    v8 z = load(logits + k * 8);
    v8 isGreater = greater(z, maximum);
    maximum = select8(isGreater, z, maximum);
    argmax = select8(isGreater, splat((float)k), argmax);
  }
  v8 normaliser = splat(0), othersThanMaximum = splat(0), othersThanTrue = splat(0), trueLogit = splat(0);
  for (long k = 0; k < classCount; k++) {
    v8 z = load(logits + k * 8);
    v8 classValue = splat((float)k);
    v8 exponential = exp_of_non_positive(_mm256_sub_ps(z, maximum));
    store(exponential, coefficients + k * 8);
    normaliser = _mm256_add_ps(normaliser, exponential);
    othersThanMaximum = _mm256_add_ps(othersThanMaximum, select8(equal(argmax, classValue), splat(0), exponential));
    v8 isTrue = equal(labels, classValue);
    othersThanTrue = _mm256_add_ps(othersThanTrue, select8(isTrue, splat(0), exponential));
    trueLogit = select8(isTrue, z, trueLogit);
  }
  *correctLanes = _mm256_sub_epi32(*correctLanes, _mm256_castps_si256(equal(argmax, labels)));
  v8 rowLoss = _mm256_add_ps(vector_log1p(othersThanMaximum), _mm256_sub_ps(maximum, trueLogit));
  v8 lossLanes = _mm256_mul_ps(rowLoss, weights);
  v8 reciprocal = _mm256_div_ps(splat(1), normaliser);
  v8 trueCoefficient = _mm256_mul_ps(_mm256_xor_ps(othersThanTrue, splat(-0.0f)), reciprocal);
  for (long k = 0; k < classCount; k++) {
    v8 isTrue = equal(labels, splat((float)k));
    v8 coefficient = _mm256_mul_ps(load(coefficients + k * 8), reciprocal);
    coefficient = select8(isTrue, trueCoefficient, coefficient);
    coefficient = _mm256_mul_ps(coefficient, weights);
    store(coefficient, coefficients + k * 8);
    store(_mm256_add_ps(load(biasSums + k * 8), coefficient), biasSums + k * 8);
  }
  return lossLanes;
}

static void add_gradient(
    const softmax_kernel_input *in, quad q, const float *coefficients, long laneOffset, float *gradient,
    prefetcher *prefetch, long segment) {
  const long stride = in->rowStride, classCount = in->classCount;
  const float *row0 = q.rows[0], *row1 = q.rows[1], *row2 = q.rows[2], *row3 = q.rows[3];
  long classIndex = 0;
  for (; classIndex + 1 < classCount; classIndex += 2) {
    const float *c0 = coefficients + classIndex * 8 + laneOffset, *c1 = c0 + 8;
    v8 v00 = splat(c0[0]), v01 = splat(c1[0]), v10 = splat(c0[1]), v11 = splat(c1[1]);
    v8 v20 = splat(c0[2]), v21 = splat(c1[2]), v30 = splat(c0[3]), v31 = splat(c1[3]);
    float *gradient0 = gradient + classIndex * stride, *gradient1 = gradient0 + stride;
    long offset = 0;
    while (offset < stride) {
      prefetcher_request(prefetch);
      long segmentEnd = offset + segment < stride ? offset + segment : stride;
      do {
        v8 x0 = load(row0 + offset), x1 = load(row1 + offset), x2 = load(row2 + offset), x3 = load(row3 + offset);
        v8 g0 = load(gradient0 + offset), g1 = load(gradient1 + offset);
        g0 = fma8(x0, v00, g0);
        g1 = fma8(x0, v01, g1);
        g0 = fma8(x1, v10, g0);
        g1 = fma8(x1, v11, g1);
        g0 = fma8(x2, v20, g0);
        g1 = fma8(x2, v21, g1);
        g0 = fma8(x3, v30, g0);
        g1 = fma8(x3, v31, g1);
        store(g0, gradient0 + offset);
        store(g1, gradient1 + offset);
        offset += 8;
      } while (offset < segmentEnd);
    }
  }
  if (classIndex < classCount) {
    const float *c0 = coefficients + classIndex * 8 + laneOffset;
    v8 v0 = splat(c0[0]), v1 = splat(c0[1]), v2 = splat(c0[2]), v3 = splat(c0[3]);
    float *gradient0 = gradient + classIndex * stride;
    long offset = 0;
    while (offset < stride) {
      prefetcher_request(prefetch);
      long segmentEnd = offset + segment < stride ? offset + segment : stride;
      do {
        v8 g0 = load(gradient0 + offset);
        g0 = fma8(load(row0 + offset), v0, g0);
        g0 = fma8(load(row1 + offset), v1, g0);
        g0 = fma8(load(row2 + offset), v2, g0);
        g0 = fma8(load(row3 + offset), v3, g0);
        store(g0, gradient0 + offset);
        offset += 8;
      } while (offset < segmentEnd);
    }
  }
}

// MARK: - The pass over a range of rows

static long tile_rows(const softmax_kernel_input *in, long position, long end, int32_t rows[8]) {
  long count = end - position < 8 ? end - position : 8;
  if (count < 0) count = 0;
  for (long offset = 0; offset < 8; offset++) {
    rows[offset] = offset < count ? (in->rowIndices ? in->rowIndices[position + offset] : (int32_t)(position + offset)) : -1;
  }
  return count;
}

void softmax_kernel_accumulate_avx2(
    const softmax_kernel_input *in, long rowStart, long rowEnd, softmax_kernel_sums *sums, float *scratch,
    long scratchCount) {
  const long classCount = in->classCount, stride = in->rowStride;
  float *logits = scratch;
  float *coefficients = logits + classCount * 8;
  float *biasSums = coefficients + classCount * 8;
  const float *zeroRow = biasSums + classCount * 8;
  memset(scratch, 0, (size_t)scratchCount * sizeof(float));
  __m256i correctLanes = _mm256_setzero_si256();
  long iterationsPerTile = 4 * ((classCount + 1) / 2) * (stride / 8);
  long segment = 8 * iterations_per_line(in->features, stride, iterationsPerTile);
  long position = rowStart;
  int32_t tileRows[8], nextRows[8];
  long active = tile_rows(in, position, rowEnd, tileRows);
  while (position < rowEnd) {
    long nextActive = tile_rows(in, position + active, rowEnd, nextRows);
    prefetcher prefetch = {in->features, stride, nextRows, nextActive, 0, 0, (const char *)in->features};
    if (nextActive > 0) prefetcher_start_row(&prefetch, 0);
    quad quads[2];
    for (long offset = 0; offset < 8; offset++) {
      quads[offset / 4].rows[offset % 4] = offset < active ? in->features + (long)tileRows[offset] * stride : zeroRow;
    }
    float labelLanes[8], weightLanes[8];
    for (long offset = 0; offset < 8; offset++) {
      labelLanes[offset] = -1;
      weightLanes[offset] = 0;
    }
    for (long offset = 0; offset < active; offset++) {
      long row = tileRows[offset];
      labelLanes[offset] = (float)in->labels[row];
      weightLanes[offset] = in->rowWeights ? in->rowWeights[row] : 1;
    }
    v8 tileLabels = load(labelLanes), tileWeights = load(weightLanes);
    compute_logits(in, quads[0], 0, logits, &prefetch, segment);
    compute_logits(in, quads[1], 4, logits, &prefetch, segment);
    v8 lossLanes = compute_coefficients(
        classCount, logits, tileLabels, tileWeights, coefficients, biasSums, &correctLanes);
    sums->loss += (double)tree_sum(lossLanes);
    sums->weightSum += (double)tree_sum(tileWeights);
    add_gradient(in, quads[0], coefficients, 0, sums->gradient, &prefetch, segment);
    add_gradient(in, quads[1], coefficients, 4, sums->gradient, &prefetch, segment);
    position += active;
    active = nextActive;
    memcpy(tileRows, nextRows, sizeof tileRows);
  }
  int32_t correct[8];
  _mm256_storeu_si256((__m256i *)correct, correctLanes);
  long correctCount = 0;
  for (int lane = 0; lane < 8; lane++) correctCount += correct[lane];
  sums->correctCount += correctCount;
  float *biasGradient = sums->gradient + classCount * stride;
  for (long k = 0; k < classCount; k++) biasGradient[k] += tree_sum(load(biasSums + k * 8));
}

#pragma clang attribute pop

int softmax_kernel_avx2_available(void) {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

#else

int softmax_kernel_avx2_available(void) { return 0; }

void softmax_kernel_accumulate_avx2(
    const softmax_kernel_input *input, long rowStart, long rowEnd, softmax_kernel_sums *sums, float *scratch,
    long scratchCount) {
  (void)input, (void)rowStart, (void)rowEnd, (void)sums, (void)scratch, (void)scratchCount;
}

#endif
