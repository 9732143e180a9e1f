// CUDA kernels, callable from C++ on device pointers (no CUDA types in this header). Every
// function checks its launch and returns the error as Status. Shapes in PyTorch order.
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

// Integer path for K-quant weights (Q4_K, Q5_K, Q6_K; matvec_q8.cu): x quantized to int8 per
// 32-element block inside the kernel, weights met with dp4a. matvec() takes it by itself where
// matvec_int8_supports() holds (K whole super-blocks, T·K within shared memory for at least one
// token, weights aligned as the format needs); matvec_rows() always runs the fp32-activation
// kernels (exact against the dequantized weights; the way to force the old path). The int8 path
// is a reduced-precision one: ~5e-3 of max|y| for random normal x (matvec_q8.cu explains).
bool matvec_int8_supports(DType type, int64_t k, const void* w, size_t w_stride);
// Launch knobs of the int8 path, for tuning benchmarks; 0 = automatic (by N and type, from
// measurements: matvec_q8.cu).
struct MatvecInt8Config {
    int rows_per_warp = 0;    // 1 or 2
    int blocks_per_sm = 0;    // > 0: grid capped at this many blocks per SM, not as many as fit
    int prefetch = 0;         // steps of weights loaded ahead: 1, 2, 4 or 8 (≤ 2 with 2 rows per
                              // warp, ≤ 4 but for Q4_K: larger values are clamped)
    int warps_per_block = 0;  // 8 or 16
};
// The int8 path forced: unsupported() where matvec_int8_supports() fails.
Status matvec_int8(DType type, const void* w, int64_t n, int64_t k, size_t w_stride, const float* x,
                   int64_t t, size_t x_stride, float* y, size_t y_stride,
                   const MatvecInt8Config& config = {}, void* stream = nullptr);

// A row-strided F32 matrix in device memory: `rows` rows of `cols` floats, row r at
// data + r·stride (stride in elements, ≥ cols).
struct View {
    float* data = nullptr;
    int64_t rows = 0, cols = 0, stride = 0;
};
struct ConstView {
    const float* data = nullptr;
    int64_t rows = 0, cols = 0, stride = 0;
};

// out = x / sqrt(mean(x²) + eps) ⊙ w per row (w may be null: no weight). Semantics of every
// op below: ops/ref (the scalar reference), shapes validated by the caller.
Status rms_norm(ConstView x, const float* w, View out, float eps, void* stream = nullptr);
// out = residual + rms_norm(x)·w (residual.data null: none); the normed value rounded first.
Status rms_norm_add(ConstView x, const float* w, ConstView residual, View out, float eps,
                    void* stream = nullptr);

// Elementwise, per row over equally shaped views (add: b may repeat every b.rows rows).
Status add(ConstView a, ConstView b, View out, void* stream = nullptr);
Status gelu_tanh_mul(ConstView g, ConstView u, View out, void* stream = nullptr);
Status silu_mul(ConstView g, ConstView u, View out, void* stream = nullptr);
Status softcap(ConstView x, float cap, View out, void* stream = nullptr);
// b has a's shape or one row (broadcast over a's rows).
Status mul(ConstView a, ConstView b, View out, void* stream = nullptr);
Status scale(ConstView x, float s, View out, void* stream = nullptr);

// Gemma 3n (ops/sparsity.h, ops/altup.h).
Status gaussian_topk(ConstView x, float z, View out, void* stream = nullptr);
Status match_magnitude(ConstView x, ConstView target, float floor, View out,
                       void* stream = nullptr);
Status altup_predict(ConstView streams, ConstView coefs, int n_streams, View out,
                     void* stream = nullptr);
Status altup_correct(ConstView pred, ConstView actual, ConstView coefs, int n_streams, View out,
                     void* stream = nullptr);

// out [T, J] = tanh(RMSNorm(x; norm_w, eps)·Rᵀ)·Cᵀ (ops::altup_coefs): R [router_rows, K], C
// [J, router_rows], rows `*_stride` bytes apart, F32/F16/BF16; K ≤ ~12k, router_rows ≤ 32
// (altup_coefs_supports; unsupported() otherwise).
bool altup_coefs_supports(DType router, DType coef, int64_t cols, int64_t router_rows);
Status altup_coefs(ConstView x, const float* norm_w, float eps, DType router_type,
                   const void* router, size_t router_stride, int router_rows, DType coef_type,
                   const void* coef, size_t coef_stride, View out, void* stream = nullptr);

// RoPE in place on x [T, n_heads·head_dim]; positions [T] and inv_freq [rot_dim/2] in device
// memory; neox: pairs (i, i + rot_dim/2), else (2i, 2i+1) (ops/rope.h).
Status rope(View x, const int32_t* positions, int n_heads, int head_dim, int rot_dim, bool neox,
            const float* inv_freq, void* stream = nullptr);

// Causal GQA attention (ops/attention.h): q [T, H·Dh] at q_pos [T], k/v [S, Hkv·Dh] at
// k_pos [S] (any order), positions in device memory; out [T, H·Dh]. With n_keys (device
// memory) the first *n_keys ≤ k.rows rows are the keys and k.rows only bounds them. The keys
// are cut into `splits` ranges run by separate blocks (flash-decoding; attention_splits() picks
// the number for a shape), which then need `partials`: T·H·splits·(head_dim + 2) floats.
int attention_splits(int64_t t, int n_heads, int64_t max_keys);
Status attention(ConstView q, const int32_t* q_pos, ConstView k, ConstView v, const int32_t* k_pos,
                 const int32_t* n_keys, int n_heads, int n_kv_heads, int head_dim, float scale,
                 int window, float softcap, int splits, float* partials, View out,
                 void* stream = nullptr);

// out[i] = dequantized table row ids[i] · scale; table rows of any matvec type, row_bytes
// apart; ids in device memory.
Status embedding(DType type, const void* table, size_t row_bytes, const int32_t* ids, float scale,
                 View out, void* stream = nullptr);

// dst row dst_rows[i] = src row src_rows[i] for i < n (row_bytes each; either index array may
// be null: identity). Index arrays in device memory.
Status copy_rows(const void* src, size_t src_stride, void* dst, size_t dst_stride, size_t row_bytes,
                 const int64_t* src_rows, const int64_t* dst_rows, int64_t n,
                 void* stream = nullptr);

}  // namespace unicorn::cuda
