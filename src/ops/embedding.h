// Embedding lookup: parameters and validation.
// Validation returns Status because shapes come from model files and requests (bad input);
// kernels may assume validated arguments.
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

}  // namespace unicorn::ops
