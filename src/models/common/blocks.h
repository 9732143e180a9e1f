// Building blocks shared by the decoder architectures, each a small function with an explicit
// parameter struct (architecture §4.2).
#pragma once

#include <span>
#include <vector>

#include "exec/batch.h"
#include "exec/exec_context.h"
#include "exec/graph_ops.h"

namespace unicorn::blocks {

// The flattened view of a batch: all tokens of all chunks in order, with their positions.
struct BatchPlan {
    std::span<const SequenceChunk> chunks;
    std::vector<int32_t> tokens;      // [T]
    std::vector<int32_t> positions;   // [T]
    std::vector<int64_t> row_begin;   // per chunk: first row in [T]
    std::vector<int64_t> logit_rows;  // rows whose logits are returned
};
Result<BatchPlan> plan_batch(std::span<const SequenceChunk> chunks);

struct AttentionWeights {
    Tensor q, k, v, o;      // [H·Dh, D], [Hkv·Dh, D], [Hkv·Dh, D], [D, H·Dh]
    Tensor q_norm, k_norm;  // [Dh] per-head RMSNorm weights (undefined: no Q/K norm)
};

struct AttentionConfig {
    int n_heads = 0, n_kv_heads = 0, head_dim = 0;
    float scale = 1.0f;
    int32_t window = 0;    // 0: global layer
    float softcap = 0.0f;  // attention logit soft-cap (0: none)
    float qk_norm_eps = 1e-6f;
    bool v_norm = false;   // unscaled per-head RMSNorm on V (Gemma 3n)
    int kv_source = -1;    // >= 0 and != layer: attend over that layer's cache, compute Q only
    ops::RopeParams rope;  // n_heads is overridden per use (Q and K differ)
};

// q/k/v projections, optional per-head Q/K (and V) norms, RoPE, KV append and attention per
// sequence, output projection. h: [T, D] → [T, D]. A KV-sharing layer (c.kv_source) projects
// only Q and reads the source layer's cache, which already holds this batch's rows because the
// source layer ran earlier in the same forward pass.
Tensor self_attention(ExecContext& ctx, const Tensor& h, const AttentionWeights& w,
                      const AttentionConfig& c, int layer, const BatchPlan& plan);

enum class Activation { kSilu, kGeluTanh };
struct MlpWeights {
    Tensor gate, up, down;  // [F, D], [F, D], [D, F]
};
// down(act(gate(h)) ⊙ up(h)). h: [T, D] → [T, D].
Tensor gated_mlp(ExecContext& ctx, const Tensor& h, const MlpWeights& w, Activation act);

// RoPE frequencies: base^(-2i/rot_dim) in fp32 as HF computes them.
std::vector<float> rope_frequencies(double base, int rot_dim);
// Llama 3 frequency scaling (transformers _compute_llama3_parameters).
std::vector<float> llama3_scaled_frequencies(double base, int rot_dim, double factor,
                                             double low_freq_factor, double high_freq_factor,
                                             double original_context);

}  // namespace unicorn::blocks
