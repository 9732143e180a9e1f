// Scalar reference implementations of every op: the test oracle for all backends.
// Straight loops, double accumulation, no threading; clarity over speed.
#pragma once

#include <span>

#include "core/tensor.h"
#include "ops/params.h"

namespace unicorn::ops::ref {

void embedding(const Tensor& table, std::span<const int32_t> ids, const EmbeddingParams& p,
               const Tensor& out);
void linear(const Tensor& x, const Tensor& w, const Tensor& y);
void rms_norm(const Tensor& x, const Tensor& weight, const RmsNormParams& p, const Tensor& out);
void rope(const Tensor& x, std::span<const int32_t> positions, const RopeParams& p);
void attention(const Tensor& q, std::span<const int32_t> q_pos, const Tensor& k, const Tensor& v,
               std::span<const int32_t> k_pos, const AttentionParams& p, const Tensor& out);
void gelu_tanh_mul(const Tensor& g, const Tensor& u, const Tensor& out);
void silu_mul(const Tensor& g, const Tensor& u, const Tensor& out);
void add(const Tensor& a, const Tensor& b, const Tensor& out);
void softcap(const Tensor& x, float cap, const Tensor& out);
void mul(const Tensor& a, const Tensor& b, const Tensor& out);
void scale(const Tensor& x, float s, const Tensor& out);
void gaussian_topk(const Tensor& x, float z, const Tensor& out);
void match_magnitude(const Tensor& x, const Tensor& target, float floor, const Tensor& out);
void altup_predict(const Tensor& streams, const Tensor& coefs, int n_streams, const Tensor& out);
void altup_correct(const Tensor& pred, const Tensor& actual, const Tensor& coefs, int n_streams,
                   const Tensor& out);
// The four ops altup_coefs fuses, each rounded to F32 as they would be run one by one.
void altup_coefs(const Tensor& x, const Tensor& norm_w, const Tensor& router_w,
                 const Tensor& coef_w, float eps, const Tensor& out);

// The standard RoPE frequency table: inv_freq[i] = base^(-2i/rot_dim), computed in double
// and rounded once (HF computes it in fp32 from an integer arange; the difference is < 1 ulp).
void rope_inv_freq(double base, int rot_dim, float* out);

}  // namespace unicorn::ops::ref
