// Linear (y = x·Wᵀ, any weight dtype): validation.
// Validation returns Status because shapes come from model files and requests (bad input);
// kernels may assume validated arguments.
#pragma once

#include <cstdint>
#include <span>

#include "core/status.h"
#include "core/tensor.h"

namespace unicorn::ops {

// x F32 [T, K]; w [N, K] (K a whole number of blocks); y F32 [T, N].
Status validate_linear(const Tensor& x, const Tensor& w, const Tensor& y);

}  // namespace unicorn::ops
