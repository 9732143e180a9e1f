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

// Dot product of one row of type t with f32 activations, dequantizing and accumulating in
// double: the reference for matvec/matmul kernels.
double dot_row_ref(DType t, const void* row, const float* x, int64_t n);

}  // namespace unicorn::quant
