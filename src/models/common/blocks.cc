#include "models/common/blocks.h"

#include <fmt/format.h>

#include <cmath>

namespace unicorn::blocks {

Result<BatchPlan> plan_batch(std::span<const SequenceChunk> chunks) {
    BatchPlan p;
    p.chunks = chunks;
    for (const SequenceChunk& c : chunks) {
        if (c.tokens.empty()) return invalid_argument("a sequence chunk has no tokens");
        if (c.kv == nullptr) return invalid_argument("a sequence chunk has no KV cache");
        if (c.start_pos != c.kv->length())
            return invalid_argument(fmt::format(
                "chunk starts at position {} but its cache holds {}", c.start_pos, c.kv->length()));
        p.row_begin.push_back(static_cast<int64_t>(p.tokens.size()));
        for (size_t i = 0; i < c.tokens.size(); ++i) {
            p.tokens.push_back(c.tokens[i]);
            p.positions.push_back(c.start_pos + static_cast<int32_t>(i));
        }
        const int64_t end = static_cast<int64_t>(p.tokens.size());
        if (c.all_logits) {
            for (int64_t r = p.row_begin.back(); r < end; ++r) p.logit_rows.push_back(r);
        } else {
            p.logit_rows.push_back(end - 1);
        }
    }
    return p;
}

Tensor self_attention(ExecContext& ctx, const Tensor& h, const AttentionWeights& w,
                      const AttentionConfig& c, int layer, const BatchPlan& plan) {
    const bool shared = c.kv_source >= 0 && c.kv_source != layer;
    const bool qk_norm = w.q_norm.defined() && w.q_norm.numel() > 0;
    ops::RopeParams rq = c.rope, rk = c.rope;
    rq.n_heads = c.n_heads;
    rk.n_heads = c.n_kv_heads;
    Tensor q = ops::linear(ctx, h, w.q);  // [T, H·Dh]
    if (qk_norm) q = ops::rms_norm_heads(ctx, q, w.q_norm, c.head_dim, c.qk_norm_eps);
    q = ops::rope(ctx, q, plan.positions, rq);
    ctx.name_layer(layer, "q", q);
    Tensor k, v;
    if (!shared) {
        k = ops::linear(ctx, h, w.k);  // [T, Hkv·Dh]
        v = ops::linear(ctx, h, w.v);  // [T, Hkv·Dh]
        if (qk_norm) k = ops::rms_norm_heads(ctx, k, w.k_norm, c.head_dim, c.qk_norm_eps);
        if (c.v_norm) v = ops::rms_norm_heads(ctx, v, Tensor(), c.head_dim, c.qk_norm_eps);
        k = ops::rope(ctx, k, plan.positions, rk);
        ctx.name_layer(layer, "k", k);
        ctx.name_layer(layer, "v", v);
    }

    ops::AttentionParams ap{c.n_heads, c.n_kv_heads, c.head_dim, c.scale, c.window, c.softcap};
    std::vector<Tensor> outs;
    for (size_t i = 0; i < plan.chunks.size(); ++i) {
        const int64_t b = plan.row_begin[i];
        const int64_t e = b + static_cast<int64_t>(plan.chunks[i].tokens.size());
        if (ctx.failed()) break;
        KvSequence& seq = *plan.chunks[i].kv;
        Result<KvLayerView> kv = shared ? Result<KvLayerView>(seq.view(c.kv_source))
                                        : seq.append(layer, k.slice_rows(b, e), v.slice_rows(b, e),
                                                     std::span(plan.positions).subspan(b, e - b));
        if (!kv.ok()) {
            ctx.fail(kv.status());
            break;
        }
        outs.push_back(ops::attention(ctx, q.slice_rows(b, e),
                                      std::span(plan.positions).subspan(b, e - b), kv->k, kv->v,
                                      kv->positions, ap));  // [Ti, H·Dh]
    }
    if (outs.empty()) return Tensor::empty(DType::kF32, Shape{h.rows(), h.cols()});  // failed
    Tensor a = outs.size() == 1 ? outs[0] : ops::concat_rows(ctx, outs);             // [T, H·Dh]
    ctx.name_layer(layer, "attn", a);
    return ops::linear(ctx, a, w.o);  // [T, D]
}

Tensor gated_mlp(ExecContext& ctx, const Tensor& h, const MlpWeights& w, Activation act) {
    Tensor g = ops::linear(ctx, h, w.gate);  // [T, F]
    Tensor u = ops::linear(ctx, h, w.up);    // [T, F]
    Tensor a = act == Activation::kSilu ? ops::silu_mul(ctx, g, u) : ops::gelu_tanh_mul(ctx, g, u);
    return ops::linear(ctx, a, w.down);  // [T, D]
}

std::vector<float> rope_frequencies(double base, int rot_dim) {
    // HF: 1 / base ** (arange(0, dim, 2).float() / dim), evaluated in fp32.
    std::vector<float> f(static_cast<size_t>(rot_dim / 2));
    for (int i = 0; i < rot_dim / 2; ++i) {
        const float expo = static_cast<float>(2 * i) / static_cast<float>(rot_dim);
        f[i] = 1.0f / static_cast<float>(std::pow(base, static_cast<double>(expo)));
    }
    return f;
}

std::vector<float> llama3_scaled_frequencies(double base, int rot_dim, double factor,
                                             double low_freq_factor, double high_freq_factor,
                                             double original_context) {
    std::vector<float> f = rope_frequencies(base, rot_dim);
    const double low_wavelen = original_context / low_freq_factor;
    const double high_wavelen = original_context / high_freq_factor;
    for (float& inv : f) {
        const double wavelen = 2.0 * M_PI / inv;
        if (wavelen > low_wavelen) {
            inv = static_cast<float>(inv / factor);  // low frequencies: fully interpolated
        } else if (wavelen >= high_wavelen) {
            // Medium band: blend between interpolated and original.
            const double smooth = (original_context / wavelen - low_freq_factor) /
                                  (high_freq_factor - low_freq_factor);
            inv = static_cast<float>((1.0 - smooth) * inv / factor + smooth * inv);
        }
    }
    return f;
}

}  // namespace unicorn::blocks
