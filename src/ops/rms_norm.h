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
};
// x F32 [R, D]; weight F32 [D] or undefined (no scale, e.g. Gemma 3n's V norm); out [R, D].
Status validate_rms_norm(const Tensor& x, const Tensor& weight, const Tensor& out);

}  // namespace unicorn::ops
