// Rotary position embedding: parameters and validation.
// Validation returns Status because shapes come from model files and requests (bad input);
// kernels may assume validated arguments.
#pragma once

#include <cstdint>
#include <span>

#include "core/status.h"
#include "core/tensor.h"

namespace unicorn::ops {

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

}  // namespace unicorn::ops
