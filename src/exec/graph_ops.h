// The op calls model code makes: each validates its arguments (ops/params.h), allocates the
// output and runs on ctx's backend. Shapes in PyTorch order; activations are F32.
#pragma once

#include <span>
#include <vector>

#include "exec/exec_context.h"
#include "ops/params.h"

namespace unicorn::ops {

Tensor embedding(ExecContext& ctx, const Tensor& table, std::span<const int32_t> ids,
                 float scale);                                      // [n, D]
Tensor linear(ExecContext& ctx, const Tensor& x, const Tensor& w);  // [T, N]
// weight may be undefined: unscaled RMSNorm.
Tensor rms_norm(ExecContext& ctx, const Tensor& x, const Tensor& weight, float eps);  // [T, D]
// residual + RMSNorm(x)·weight in one op (the post-norm residual add).
Tensor rms_norm_add(ExecContext& ctx, const Tensor& x, const Tensor& weight, float eps,
                    const Tensor& residual);  // [T, D]
// Per-head RMSNorm of x [T, H·Dh] with a weight of [Dh] shared by the heads.
Tensor rms_norm_heads(ExecContext& ctx, const Tensor& x, const Tensor& weight, int head_dim,
                      float eps);
// Rotates x in place and returns it.
Tensor rope(ExecContext& ctx, Tensor x, std::span<const int32_t> positions, const RopeParams& p);
Tensor attention(ExecContext& ctx, const Tensor& q, std::span<const int32_t> q_pos, const Tensor& k,
                 const Tensor& v, std::span<const int32_t> k_pos,
                 const AttentionParams& p);  // [T, H·Dh]
Tensor gelu_tanh_mul(ExecContext& ctx, const Tensor& g, const Tensor& u);
Tensor silu_mul(ExecContext& ctx, const Tensor& g, const Tensor& u);
Tensor add(ExecContext& ctx, const Tensor& a, const Tensor& b);
Tensor softcap(ExecContext& ctx, const Tensor& x, float cap);
// a ⊙ b; b is [T, N] like a, or one row [1, N] broadcast over a's rows.
Tensor mul(ExecContext& ctx, const Tensor& a, const Tensor& b);
// x · s.
Tensor scale(ExecContext& ctx, const Tensor& x, float s);
// Gemma 3n activation sparsity per row of x [T, F]: max(0, x − (mean + z·std)), std the
// population standard deviation of the row (transformers Gemma3nTextMLP._gaussian_topk).
Tensor gaussian_topk(ExecContext& ctx, const Tensor& x, float z);
// Per row: x · sqrt(mean(target²)) / sqrt(max(mean(x²), floor)) — AltUp's stream rescale to the
// magnitude of the active stream (transformers Gemma3nTextModel, floor 1e-5). x, target [T, D].
Tensor match_magnitude(ExecContext& ctx, const Tensor& x, const Tensor& target, float floor);
// AltUp predict. streams [A·T, D] (stream i = rows i·T … i·T+T−1), coefs [T, A·A]:
// out[i][t] = X[i][t] + Σ_j coefs[t][i·A + j] · X[j][t].
Tensor altup_predict(ExecContext& ctx, const Tensor& streams, const Tensor& coefs, int n_streams);
// AltUp correct. pred [A·T, D], actual [T, D], coefs [T, A]:
// out[i][t] = pred[i][t] + (coefs[t][i] + 1) · (actual[t] − pred[0][t]).
Tensor altup_correct(ExecContext& ctx, const Tensor& pred, const Tensor& actual,
                     const Tensor& coefs, int n_streams);

// AltUp coefficients from the router (Gemma3nTextAltUp.compute_router_modalities, then the
// predict or correct coefficient projection): tanh(RMSNorm(x)·router_wᵀ)·coef_wᵀ, x [T, D] →
// [T, J]. One fused call where the backend has it (four launches fewer per use on a GPU), else
// the four ops it stands for — the same results either way up to fp32 rounding.
Tensor altup_coefs(ExecContext& ctx, const Tensor& x, const Tensor& norm_w, const Tensor& router_w,
                   const Tensor& coef_w, float eps);

// Host-side row gather (logit row selection): out[i] = x[rows[i]].
Tensor gather_rows(ExecContext& ctx, const Tensor& x, std::span<const int64_t> rows);
// Row concatenation of equally wide tensors.
Tensor concat_rows(ExecContext& ctx, std::span<const Tensor> parts);

}  // namespace unicorn::ops
