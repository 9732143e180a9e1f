// Per-op parameters and shape/dtype validation. Validation returns Status because shapes come
// from model files and requests (bad input); kernels may assume validated arguments.
#pragma once

#include <cstdint>
#include <span>

#include "core/status.h"
#include "core/tensor.h"

namespace unicorn::ops {

struct EmbeddingParams {
    float scale = 1.0f;  // Gemma multiplies by sqrt(d_model); Llama by 1
};
// table [V, D] any weight dtype; ids in [0, V); out F32 [n_ids, D].
Status validate_embedding(const Tensor& table, std::span<const int32_t> ids, const Tensor& out);

// x F32 [T, K]; w [N, K] (K a whole number of blocks); y F32 [T, N].
Status validate_linear(const Tensor& x, const Tensor& w, const Tensor& y);

struct RmsNormParams {
    float eps = 1e-6f;
};
// x F32 [R, D]; weight F32 [D] or undefined (no scale, e.g. Gemma 3n's V norm); out [R, D].
Status validate_rms_norm(const Tensor& x, const Tensor& weight, const Tensor& out);

enum class RopeMode {
    kNormal,  // rotate pairs (2i, 2i+1): GGUF llama (its converter permuted q/k rows)
    kNeox,    // rotate pairs (i, i + rot_dim/2): HF llama, Gemma
};
struct RopeParams {
    int n_heads = 0;
    int head_dim = 0;
    int rot_dim = 0;  // leading dims of each head that rotate (≤ head_dim)
    RopeMode mode = RopeMode::kNeox;
    const float* inv_freq = nullptr;  // [rot_dim/2]; already includes any frequency scaling
};
// x F32 [T, n_heads*head_dim], rotated in place; positions [T].
Status validate_rope(const Tensor& x, std::span<const int32_t> positions, const RopeParams& p);

struct AttentionParams {
    int n_heads = 0;
    int n_kv_heads = 0;  // query head h uses KV head h / (n_heads / n_kv_heads)
    int head_dim = 0;
    float scale = 1.0f;    // multiplies q·k
    int32_t window = 0;    // 0: global; else key visible iff q_pos - k_pos < window
    float softcap = 0.0f;  // 0: none; else scores = c·tanh(scores/c) before the mask
};
// q F32 [T, H*Dh] at q_pos[T]; k, v F32 [S, Hkv*Dh] (row-strided views allowed) at k_pos[S]
// in any order (a ring buffer); key s visible to query t iff k_pos[s] <= q_pos[t] and the
// window allows it. out F32 [T, H*Dh]. A query with no visible key gets zeros.
Status validate_attention(const Tensor& q, std::span<const int32_t> q_pos, const Tensor& k,
                          const Tensor& v, std::span<const int32_t> k_pos, const Tensor& out,
                          const AttentionParams& p);

// Elementwise binary ops (gelu_tanh_mul, silu_mul, add): equal shapes, F32.
Status validate_binary(const Tensor& a, const Tensor& b, const Tensor& out);
// Elementwise unary ops (softcap): equal shapes, F32.
Status validate_unary(const Tensor& x, const Tensor& out);

}  // namespace unicorn::ops
