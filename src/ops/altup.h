// AltUp (Gemma 3n's alternating updates over A parallel streams): validation of
// match_magnitude, altup_predict and altup_correct. Streams are stacked by rows, stream i
// being rows i·T … i·T+T−1 of an [A·T, D] tensor.
// Validation returns Status because shapes come from model files and requests (bad input);
// kernels may assume validated arguments.
#pragma once

#include "core/status.h"
#include "core/tensor.h"

namespace unicorn::ops {

// x, target, out F32 [T, D] of equal shape; floor finite and >= 0 (0 lets an all-zero row of x
// give NaN, as the unfloored formula would).
Status validate_match_magnitude(const Tensor& x, const Tensor& target, float floor,
                                const Tensor& out);
// streams F32 [A·T, D], coefs F32 [T, A·A], out F32 [A·T, D]; A >= 1.
Status validate_altup_predict(const Tensor& streams, const Tensor& coefs, int n_streams,
                              const Tensor& out);
// pred F32 [A·T, D], actual F32 [T, D], coefs F32 [T, A], out F32 [A·T, D]; A >= 1.
Status validate_altup_correct(const Tensor& pred, const Tensor& actual, const Tensor& coefs,
                              int n_streams, const Tensor& out);

// x F32 [T, D], norm_w F32 [D], router_w [A, D] (any weight dtype), coef_w [J, A] (any weight
// dtype), out F32 [T, J].
Status validate_altup_coefs(const Tensor& x, const Tensor& norm_w, const Tensor& router_w,
                            const Tensor& coef_w, const Tensor& out);

}  // namespace unicorn::ops
