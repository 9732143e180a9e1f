#include "exec/graph_ops.h"

#include <cstring>

#include "core/check.h"

namespace unicorn::ops {
namespace {

// Outputs live in the primary backend's memory.
Tensor f32(ExecContext& ctx, int64_t rows, int64_t cols) { return ctx.alloc(rows, cols); }

}  // namespace

Tensor embedding(ExecContext& ctx, const Tensor& table, std::span<const int32_t> ids, float scale) {
    Tensor out =
        f32(ctx, static_cast<int64_t>(ids.size()), table.shape().rank() == 2 ? table.cols() : 0);
    Status s = validate_embedding(table, ids, out);
    if (!s.ok()) {
        ctx.fail(s);
        return out;
    }
    ctx.run(OpKind::kEmbedding, table.dtype(),
            [&](Backend& b) { return b.embedding(table, ids, {scale}, out); });
    return out;
}

Tensor linear(ExecContext& ctx, const Tensor& x, const Tensor& w) {
    Tensor y = f32(ctx, x.rows(), w.rows());
    Status s = validate_linear(x, w, y);
    if (!s.ok()) {
        ctx.fail(s);
        return y;
    }
    ctx.observe_linear(w, x);
    ctx.run(OpKind::kLinear, w.dtype(), [&](Backend& b) { return b.linear(x, w, y); });
    return y;
}

Tensor rms_norm(ExecContext& ctx, const Tensor& x, const Tensor& weight, float eps) {
    Tensor out = f32(ctx, x.rows(), x.cols());
    Status s = validate_rms_norm(x, weight, out);
    if (!s.ok()) {
        ctx.fail(s);
        return out;
    }
    ctx.run(OpKind::kRmsNorm, DType::kF32,
            [&](Backend& b) { return b.rms_norm(x, weight, {eps}, out); });
    return out;
}

Tensor rms_norm_add(ExecContext& ctx, const Tensor& x, const Tensor& weight, float eps,
                    const Tensor& residual) {
    Tensor out = f32(ctx, x.rows(), x.cols());
    Status s = validate_rms_norm(x, weight, out, &residual);
    if (!s.ok()) {
        ctx.fail(s);
        return out;
    }
    ctx.run(OpKind::kRmsNorm, DType::kF32, [&](Backend& b) {
        return b.rms_norm(x, weight, {eps, &residual}, out);
    });
    return out;
}

Tensor rms_norm_heads(ExecContext& ctx, const Tensor& x, const Tensor& weight, int head_dim,
                      float eps) {
    if (head_dim <= 0 || x.cols() % head_dim != 0 || !x.contiguous()) {
        ctx.fail(invalid_argument("per-head norm: width " + std::to_string(x.cols()) +
                                  " is not a multiple of head_dim"));
        return f32(ctx, x.rows(), x.cols());
    }
    Tensor heads = x.reshape(Shape{x.rows() * (x.cols() / head_dim), head_dim});  // [T·H, Dh]
    return rms_norm(ctx, heads, weight, eps).reshape(Shape{x.rows(), x.cols()});  // [T, H·Dh]
}

Tensor rope(ExecContext& ctx, Tensor x, std::span<const int32_t> positions, const RopeParams& p) {
    Status s = validate_rope(x, positions, p);
    if (!s.ok()) {
        ctx.fail(s);
        return x;
    }
    ctx.run(OpKind::kRope, DType::kF32, [&](Backend& b) { return b.rope(x, positions, p); });
    return x;
}

Tensor attention(ExecContext& ctx, const Tensor& q, std::span<const int32_t> q_pos, const Tensor& k,
                 const Tensor& v, std::span<const int32_t> k_pos, const AttentionParams& p) {
    Tensor out = f32(ctx, q.rows(), q.cols());
    Status s = validate_attention(q, q_pos, k, v, k_pos, out, p);
    if (!s.ok()) {
        ctx.fail(s);
        return out;
    }
    ctx.run(OpKind::kAttention, DType::kF32,
            [&](Backend& b) { return b.attention(q, q_pos, k, v, k_pos, p, out); });
    return out;
}

#define UNICORN_BINARY_OP(fn, kind)                                                \
    Tensor fn(ExecContext& ctx, const Tensor& a, const Tensor& b) {                \
        Tensor out = f32(ctx, a.rows(), a.cols());                                 \
        Status s = validate_binary(a, b, out);                                     \
        if (!s.ok()) {                                                             \
            ctx.fail(s);                                                           \
            return out;                                                            \
        }                                                                          \
        ctx.run(kind, DType::kF32, [&](Backend& be) { return be.fn(a, b, out); }); \
        return out;                                                                \
    }

UNICORN_BINARY_OP(gelu_tanh_mul, OpKind::kGeluTanhMul)
UNICORN_BINARY_OP(silu_mul, OpKind::kSiluMul)
#undef UNICORN_BINARY_OP

Tensor add(ExecContext& ctx, const Tensor& a, const Tensor& b) {
    Tensor out = f32(ctx, a.rows(), a.cols());
    Status s = validate_add(a, b, out);
    if (!s.ok()) {
        ctx.fail(s);
        return out;
    }
    ctx.run(OpKind::kAdd, DType::kF32, [&](Backend& be) { return be.add(a, b, out); });
    return out;
}

Tensor softcap(ExecContext& ctx, const Tensor& x, float cap) {
    Tensor out = f32(ctx, x.rows(), x.cols());
    Status s = validate_unary(x, out);
    if (s.ok() && !(cap > 0)) s = invalid_argument("softcap must be positive");
    if (!s.ok()) {
        ctx.fail(s);
        return out;
    }
    ctx.run(OpKind::kSoftcap, DType::kF32, [&](Backend& b) { return b.softcap(x, cap, out); });
    return out;
}

Tensor mul(ExecContext& ctx, const Tensor& a, const Tensor& b) {
    Tensor out = f32(ctx, a.rows(), a.cols());
    Status s = validate_mul(a, b, out);
    if (!s.ok()) {
        ctx.fail(s);
        return out;
    }
    ctx.run(OpKind::kMul, DType::kF32, [&](Backend& be) { return be.mul(a, b, out); });
    return out;
}

Tensor scale(ExecContext& ctx, const Tensor& x, float s) {
    Tensor out = f32(ctx, x.rows(), x.cols());
    Status st = validate_scale(x, s, out);
    if (!st.ok()) {
        ctx.fail(st);
        return out;
    }
    ctx.run(OpKind::kScale, DType::kF32, [&](Backend& b) { return b.scale(x, s, out); });
    return out;
}

Tensor gaussian_topk(ExecContext& ctx, const Tensor& x, float z) {
    Tensor out = f32(ctx, x.rows(), x.cols());
    Status s = validate_gaussian_topk(x, z, out);
    if (!s.ok()) {
        ctx.fail(s);
        return out;
    }
    ctx.run(OpKind::kGaussianTopk, DType::kF32,
            [&](Backend& b) { return b.gaussian_topk(x, z, out); });
    return out;
}

Tensor match_magnitude(ExecContext& ctx, const Tensor& x, const Tensor& target, float floor) {
    Tensor out = f32(ctx, x.rows(), x.cols());
    Status s = validate_match_magnitude(x, target, floor, out);
    if (!s.ok()) {
        ctx.fail(s);
        return out;
    }
    ctx.run(OpKind::kMatchMagnitude, DType::kF32,
            [&](Backend& b) { return b.match_magnitude(x, target, floor, out); });
    return out;
}

Tensor altup_predict(ExecContext& ctx, const Tensor& streams, const Tensor& coefs, int n_streams) {
    Tensor out = f32(ctx, streams.rows(), streams.cols());
    Status s = validate_altup_predict(streams, coefs, n_streams, out);
    if (!s.ok()) {
        ctx.fail(s);
        return out;
    }
    ctx.run(OpKind::kAltupPredict, DType::kF32,
            [&](Backend& b) { return b.altup_predict(streams, coefs, n_streams, out); });
    return out;
}

Tensor altup_correct(ExecContext& ctx, const Tensor& pred, const Tensor& actual,
                     const Tensor& coefs, int n_streams) {
    Tensor out = f32(ctx, pred.rows(), pred.cols());
    Status s = validate_altup_correct(pred, actual, coefs, n_streams, out);
    if (!s.ok()) {
        ctx.fail(s);
        return out;
    }
    ctx.run(OpKind::kAltupCorrect, DType::kF32,
            [&](Backend& b) { return b.altup_correct(pred, actual, coefs, n_streams, out); });
    return out;
}

Tensor altup_coefs(ExecContext& ctx, const Tensor& x, const Tensor& norm_w, const Tensor& router_w,
                   const Tensor& coef_w, float eps) {
    if (!ctx.primary().supports(OpKind::kAltupCoefs, router_w.dtype()) ||
        !ctx.primary().supports(OpKind::kAltupCoefs, coef_w.dtype()))
        return linear(ctx, softcap(ctx, linear(ctx, rms_norm(ctx, x, norm_w, eps), router_w), 1.0f),
                      coef_w);  // softcap with c = 1: tanh
    Tensor out = f32(ctx, x.rows(), coef_w.rows());
    Status s = validate_altup_coefs(x, norm_w, router_w, coef_w, out);
    if (!s.ok()) {
        ctx.fail(s);
        return out;
    }
    ctx.run(OpKind::kAltupCoefs, router_w.dtype(),
            [&](Backend& b) { return b.altup_coefs(x, norm_w, router_w, coef_w, eps, out); });
    return out;
}

Tensor gather_rows(ExecContext& ctx, const Tensor& x, std::span<const int64_t> rows) {
    Tensor out = f32(ctx, static_cast<int64_t>(rows.size()), x.cols());
    for (int64_t r : rows) UNI_CHECK(r >= 0 && r < x.rows());
    ctx.copy_rows(x, rows, out, {}, static_cast<int64_t>(rows.size()));
    return out;
}

Tensor concat_rows(ExecContext& ctx, std::span<const Tensor> parts) {
    int64_t rows = 0;
    const int64_t cols = parts.empty() ? 0 : parts[0].cols();
    for (const Tensor& p : parts) rows += p.rows();
    Tensor out = f32(ctx, rows, cols);
    int64_t r = 0;
    for (const Tensor& p : parts) {
        UNI_CHECK(p.cols() == cols);
        ctx.copy_rows(p, {}, out.slice_rows(r, r + p.rows()), {}, p.rows());
        r += p.rows();
    }
    return out;
}

}  // namespace unicorn::ops
