// The two matrix-product steps of the blocked pass for wide models (WideGradientPass.swift)
// for x86-64 with AVX-512F, chosen at run time: 16-lane vectors and 32 registers, twice the
// width the Swift code is built for. Each output entry is computed by one call in one fixed
// order, so results do not depend on how the caller spreads classes over threads.
#ifndef SOFTMAX_WIDE_KERNEL_H
#define SOFTMAX_WIDE_KERNEL_H

/// Rows per block of the blocked pass (`WideGradientPass.blockRows`): a multiple of 8, the
/// most rows either step takes at once.
#define SOFTMAX_WIDE_BLOCK_ROWS 256

/// 1 when this CPU (and its operating system) runs AVX-512F code, else 0.
int softmax_wide_avx512_available(void);

/// Copies the 16 classes of panel `panel` of W (`classCount` rows of `rowStride` floats)
/// into `target` + panel · rowStride · 16, transposed: feature j's 16 weights at j · 16
/// (zeros for classes past the last).
void softmax_wide_pack_panel(const float *weights, long rowStride, long classCount, long panel, float *target);

/// Logits of `groupCount` × 8 rows (`rows`, each `rowStride` floats, padding zero) for the
/// classes [classStart, classEnd), classStart a multiple of 16: z = x · w_k + b_k, each dot
/// product one chain over the features in order, with W packed by
/// `softmax_wide_pack_panel`; written to logits[(row / 8) * 8 * classCount + k * 8 + row % 8].
void softmax_wide_logits_avx512(
    const float *const *rows, long groupCount, const float *panels, const float *bias, long rowStride,
    long classStart, long classEnd, long classCount, float *logits);

/// Copies the coefficients of rows group · 8 ..< group · 8 + 8 (`coefficients`: that
/// group's, in the softmax step's layout, class-major, 8 lanes a class) into `packed`, per 8
/// classes, row after row: packed[(k / 8) * blockRows * 8 + r * 8 + k % 8], zeros past the
/// last class.
void softmax_wide_pack_coefficients(
    const float *coefficients, long classCount, long group, long blockRows, float *packed);

/// Copies rows group · 8 ..< group · 8 + 8 of the block (`rows`: that group's 8 rows)
/// into `strips`, by strips of 32 columns: row r's columns 32s ..< 32s + 32 at
/// strips[s * stripStride + r * 32], the last strip's missing columns left as they were.
/// stripStride, a multiple of 16, should not be one of 1,024 (4 kB), or the rows written
/// together share L1 sets.
void softmax_wide_pack_rows(const float *const *rows, long rowStride, long group, long stripStride, float *strips);

/// biases[k] += Σ_r C[r][k] for the classes [classStart, classEnd) (classStart a multiple
/// of 8), each sum over the `rowCount` rows taken in Float, in row order; C packed by
/// `softmax_wide_pack_coefficients`.
void softmax_wide_bias_sums(
    const float *packed, long blockRows, long rowCount, long classStart, long classEnd, double *biases);

/// G[k][j] += Σ_r C[r][k] · x_r[j] for the classes [classStart, classEnd) (classStart a
/// multiple of 8) and the columns [columnStart, columnEnd) (columnStart a multiple of 32,
/// columnEnd one or rowStride), each sum over the `rowCount` rows (at most
/// SOFTMAX_WIDE_BLOCK_ROWS) taken in Float, in row order, then added to the Double G
/// (`rowStride` entries a class). C is packed by `softmax_wide_pack_coefficients`, the rows
/// by `softmax_wide_pack_rows`.
void softmax_wide_gradient_avx512(
    const float *strips, long stripStride, long rowCount, const float *packed, long blockRows, long rowStride,
    long classStart, long classEnd, long columnStart, long columnEnd, double *gradient);

#endif
