// Scalar reference quantize/dequantize for every weight type. These are the oracle every
// backend kernel is tested against; speed is secondary.
#pragma once

#include <cstdint>

#include "core/dtype.h"

namespace unicorn::quant {

// True for F32, F16, BF16 and every quantized type listed in core/dtype.h kWeightDTypes
// (plus Q8_1 and Q8_K, the activation-side types).
bool has_reference(DType t);

// n must be a multiple of dtype_block_size(t).
void dequantize_row(DType t, const void* src, float* dst, int64_t n);
void quantize_row(DType t, const float* src, void* dst, int64_t n);

// Importance-weighted quantization, as llama-quantize --imatrix: `importance` holds one value
// per column (n of them; llama.cpp's imatrix entry, the mean squared activation of that input),
// and the block searches minimise Σ importance·(x − q)² instead of their unweighted error.
// True for the types whose quantizer ggml weights (Q4_0, Q4_1, Q5_0, Q5_1, Q2_K..Q6_K); for
// every other type, and when importance is null, quantize_row_weighted is quantize_row (ggml
// ignores the weights for Q8_0 and the float types). The legacy types use the whole row's
// statistics, so `src` must be a whole tensor row.
bool has_weighted_quantizer(DType t);
void quantize_row_weighted(DType t, const float* src, void* dst, int64_t n,
                           const float* importance);

// Dot product of one row of type t with f32 activations, dequantizing and accumulating in
// double: the reference for matvec/matmul kernels.
double dot_row_ref(DType t, const void* row, const float* x, int64_t n);

}  // namespace unicorn::quant
