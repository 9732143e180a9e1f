// Linear layer on the CPU: y = x·Wᵀ for float and block-quantized weights.
//
// Quantized weights are never dequantized to memory. On the SIMD paths each activation row is
// quantized once per call to int8 with one float scale per 32 (legacy types) or 256 (K-quants)
// elements, as llama.cpp does, and the weight blocks meet it in integer dot products
// (AVX2 maddubs / AVX-512 VNNI), scaled in float per block. That rounds x to 8 bits per block:
// the error is at most |x|max(block)/254 per element (tests derive their tolerance from it).
// The scalar path keeps x in float.
#pragma once

#include "core/dtype.h"
#include "core/tensor.h"
#include "core/thread_pool.h"

namespace unicorn::cpu {

// y[t, o] = sum_k x[t, k] * W[o, k]   (y = x·Wᵀ, PyTorch Linear)
// x: F32 [..., K] viewed as [T, K] (row_stride may exceed K*4: strided views);
// w: [N, K] of any type for which matmul_supports() is true, rows contiguous blocks;
// y: F32 [..., N] viewed as [T, N] (row_stride may exceed N*4). K % block_size(w) == 0.
// T, N >= 0. Dispatches on active_isa() at call time; parallel over `pool`.
void matmul(ThreadPool& pool, const Tensor& x, const Tensor& w, const Tensor& y);

// True for F32 F16 BF16 Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q2_K Q3_K Q4_K Q5_K Q6_K.
bool matmul_supports(DType w);

}  // namespace unicorn::cpu
