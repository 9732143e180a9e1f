// Elementwise ops (gelu_tanh_mul, silu_mul, add, softcap): validation.
// Validation returns Status because shapes come from model files and requests (bad input);
// kernels may assume validated arguments.
#pragma once

#include <cstdint>
#include <span>

#include "core/status.h"
#include "core/tensor.h"

namespace unicorn::ops {

// Elementwise binary ops (gelu_tanh_mul, silu_mul, add): equal shapes, F32.
Status validate_binary(const Tensor& a, const Tensor& b, const Tensor& out);
// Elementwise unary ops (softcap): equal shapes, F32.
Status validate_unary(const Tensor& x, const Tensor& out);

}  // namespace unicorn::ops
