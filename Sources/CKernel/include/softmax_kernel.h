// The Float32 softmax kernel (see GradientKernel.swift) written for x86-64 with AVX2 and FMA,
// chosen at run time. A package that depends on this one at a release tag cannot pass the
// compiler a CPU flag (SwiftPM refuses unsafeFlags there), so its Swift code is built for
// baseline x86-64; these C functions carry their own target attribute instead, which needs
// no flag, and run only where the CPU has the instructions.
#ifndef SOFTMAX_KERNEL_H
#define SOFTMAX_KERNEL_H

#include <stdint.h>

/// What the kernel reads (the fields of `GradientKernel`).
typedef struct {
  const float *features;      // row-major, rowStride floats per row, padding zero
  long rowStride;             // a multiple of 8
  const int32_t *labels;      // class index per row
  long classCount;
  const float *weights;       // classCount x rowStride, row-major, padding zero
  const float *bias;          // classCount
  const int32_t *rowIndices;  // the data row at each position, or NULL for the identity
  const float *rowWeights;    // a weight per data row, or NULL for 1
} softmax_kernel_input;

/// What the kernel adds to (one shard's `PartialSums` accumulator).
typedef struct {
  float *gradient;            // classCount x rowStride, then classCount bias sums
  double loss;
  double weightSum;
  long correctCount;
} softmax_kernel_sums;

/// 1 when this CPU (and its operating system) runs AVX2 and FMA code, else 0.
int softmax_kernel_avx2_available(void);

/// Adds rows [rowStart, rowEnd) into `sums`, bit for bit as `GradientKernel.accumulate`
/// does in a build for x86-64-v3. `scratch` holds `scratchCount` floats (at least
/// 3·8·classCount + rowStride). Call only when `softmax_kernel_avx2_available()`.
void softmax_kernel_accumulate_avx2(
    const softmax_kernel_input *input, long rowStart, long rowEnd, softmax_kernel_sums *sums,
    float *scratch, long scratchCount);

#endif
