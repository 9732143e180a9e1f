// CUDA kernels, callable from C++ on device pointers (no CUDA types in this header). Every
// function checks its launch and returns the error as Status. Shapes in PyTorch order; rows
// of x/y/out are contiguous F32 with the given strides in elements.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/dtype.h"
#include "core/status.h"

namespace unicorn::cuda {

// The weight types matvec reads: F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q8_0, Q4_K, Q5_K, Q6_K.
bool matvec_supports(DType type);

// y[t][n] = Σ_k x[t][k]·W[n][k] for t < T. W [N, K] of `type`, rows w_stride bytes apart
// (K a whole number of blocks). Decode-shaped: each warp owns output rows and reads them once
// for all T tokens, so it is meant for small T (decode, small batches).
Status matvec(DType type, const void* w, int64_t n, int64_t k, size_t w_stride, const float* x,
              int64_t t, size_t x_stride, float* y, size_t y_stride, void* stream = nullptr);

// matvec with a chosen number of output rows per warp (1 or 2), for tuning benchmarks.
Status matvec_rows(DType type, const void* w, int64_t n, int64_t k, size_t w_stride, const float* x,
                   int64_t t, size_t x_stride, float* y, size_t y_stride, int rows_per_warp,
                   void* stream = nullptr);

// out = x / sqrt(mean(x²) + eps) ⊙ w per row (w may be null: no weight).
Status rms_norm(const float* x, const float* w, float* out, int64_t rows, int64_t cols, float eps,
                void* stream = nullptr);

// Elementwise over n contiguous elements.
Status add(const float* a, const float* b, float* out, int64_t n, void* stream = nullptr);
Status gelu_tanh_mul(const float* g, const float* u, float* out, int64_t n, void* stream = nullptr);
Status silu_mul(const float* g, const float* u, float* out, int64_t n, void* stream = nullptr);
Status softcap(const float* x, float cap, float* out, int64_t n, void* stream = nullptr);

}  // namespace unicorn::cuda
