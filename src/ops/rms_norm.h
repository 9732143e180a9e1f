// RMSNorm: parameters and validation.
// Validation returns Status because shapes come from model files and requests (bad input);
// kernels may assume validated arguments.
#pragma once

#include <cstdint>
#include <span>

#include "core/status.h"
#include "core/tensor.h"

namespace unicorn::ops {

struct RmsNormParams {
    float eps = 1e-6f;
    // Not null: out = residual + norm(x)·w (the normed value rounded to F32 first, so the result
    // equals the two ops it replaces); residual F32 shaped like x. One kernel instead of two for
    // the post-norm residual adds of Gemma 3 and Gemma 3n.
    const Tensor* residual = nullptr;
};
// x F32 [R, D]; weight F32 [D] or undefined (no scale, e.g. Gemma 3n's V norm); out [R, D].
Status validate_rms_norm(const Tensor& x, const Tensor& weight, const Tensor& out,
                         const Tensor* residual = nullptr);

}  // namespace unicorn::ops
