// Causal (optionally sliding-window, soft-capped) GQA attention: parameters and validation.
// Validation returns Status because shapes come from model files and requests (bad input);
// kernels may assume validated arguments.
#pragma once

#include <cstdint>
#include <span>

#include "core/status.h"
#include "core/tensor.h"

namespace unicorn::ops {

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

}  // namespace unicorn::ops
