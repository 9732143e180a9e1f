// Gemma 3n activation sparsity (gaussian_topk): validation.
// Validation returns Status because shapes come from model files and requests (bad input);
// kernels may assume validated arguments.
#pragma once

#include "core/status.h"
#include "core/tensor.h"

namespace unicorn::ops {

// x, out F32 [T, F] of equal shape; z (the standard-normal quantile of the target sparsity,
// 1.6449 for 0.95) finite.
Status validate_gaussian_topk(const Tensor& x, float z, const Tensor& out);

}  // namespace unicorn::ops
