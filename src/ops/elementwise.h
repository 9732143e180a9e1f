// Elementwise ops (gelu_tanh_mul, silu_mul, add, softcap, mul, scale): validation.
// Validation returns Status because shapes come from model files and requests (bad input);
// kernels may assume validated arguments.
#pragma once

#include <cstdint>
#include <span>

#include "core/status.h"
#include "core/tensor.h"

namespace unicorn::ops {

// Elementwise binary ops (gelu_tanh_mul, silu_mul): equal shapes, F32.
Status validate_binary(const Tensor& a, const Tensor& b, const Tensor& out);
// add: a, out F32 [R, N]; b F32 [R, N], or [B, N] with R a multiple of B: b repeats every B rows
// (row r adds b[r mod B] — one update added to each of AltUp's stacked streams at once).
Status validate_add(const Tensor& a, const Tensor& b, const Tensor& out);
// Elementwise unary ops (softcap): equal shapes, F32.
Status validate_unary(const Tensor& x, const Tensor& out);
// mul: a F32 [T, N]; b F32 [T, N], or one row ([1, N] or rank-1 [N]) broadcast over a's rows;
// out [T, N].
Status validate_mul(const Tensor& a, const Tensor& b, const Tensor& out);
// scale: x, out F32 [T, N] of equal shape; s finite.
Status validate_scale(const Tensor& x, float s, const Tensor& out);

}  // namespace unicorn::ops
