// Llama-family decoder: SmolLM2, Llama 3.x.
// Mirrors LlamaForCausalLM / LlamaDecoderLayer (transformers, models/llama/modeling_llama.py).
//
// Per-format fix-ups, all here:
//  - GGUF q/k weights: llama.cpp's converter permutes the rows of each head from rotate-half
//    order to interleaved pairs, so GGUF files use the normal (interleaved) RoPE and HF
//    directories use NeoX (rotate-half). Export applies the same permutation.
//  - Llama 3 RoPE scaling: HF computes scaled frequencies from rope_parameters/rope_scaling;
//    GGUF files carry them as the `rope_freqs.weight` divisor table.
#include <fmt/format.h>

#include <cmath>
#include <cstring>

#include "exec/graph_ops.h"
#include "io/gguf_writer.h"
#include "io/hf_config.h"
#include "models/common/blocks.h"
#include "models/common/gguf_decoder.h"
#include "models/common/model_files.h"
#include "models/common/naming.h"
#include "models/common/weight_loader.h"
#include "models/registry.h"

namespace unicorn {
namespace {

const NameTable kLlamaNames = {
    "model.",
    {{"token_embd.weight", "embed_tokens.weight"},
     {"output_norm.weight", "norm.weight"},
     {"output.weight", "lm_head.weight"}},
    {{"attn_norm.weight", "input_layernorm.weight"},
     {"attn_q.weight", "self_attn.q_proj.weight"},
     {"attn_k.weight", "self_attn.k_proj.weight"},
     {"attn_v.weight", "self_attn.v_proj.weight"},
     {"attn_output.weight", "self_attn.o_proj.weight"},
     {"ffn_norm.weight", "post_attention_layernorm.weight"},
     {"ffn_gate.weight", "mlp.gate_proj.weight"},
     {"ffn_up.weight", "mlp.up_proj.weight"},
     {"ffn_down.weight", "mlp.down_proj.weight"}},
};

// The shared decoder keys (with llama.cpp's defaults for llama) plus llama's own.
struct LlamaConfig : DecoderKeys {
    LlamaConfig() {
        arch = "llama";
        rms_eps = 1e-5f;
        rope_base = 10000.0;
    }
    int64_t vocab = 0, rot_dim = 0;
    // Llama 3 scaling (rope_type "llama3"); factor 0: none.
    double rope_factor = 0, low_freq_factor = 1, high_freq_factor = 4, original_context = 8192;
};

Result<LlamaConfig> parse_gguf(const ModelFiles& f) {
    LlamaConfig c;
    UNI_ASSIGN_OR_RETURN(static_cast<DecoderKeys&>(c), read_decoder_keys(f, c));
    UNI_ASSIGN_OR_RETURN(auto rot, f.gguf_int("llama.rope.dimension_count"));
    c.rot_dim = rot.value_or(c.head_dim);
    UNI_ASSIGN_OR_RETURN(Tensor emb, f.tensor("token_embd.weight"));
    c.vocab = emb.shape().rank() == 2 ? emb.shape()[0] : 0;
    return c;
}

Result<LlamaConfig> parse_hf(const ModelFiles& f) {
    const io::HfConfig& h = f.hf();
    LlamaConfig c;
    c.head_dim = 0;     // default: hidden_size / heads
    c.rms_eps = 1e-6f;  // transformers' LlamaConfig default (GGUF files carry theirs)
    UNI_ASSIGN_OR_RETURN(static_cast<DecoderKeys&>(c), read_hf_decoder_keys(h, c));
    UNI_ASSIGN_OR_RETURN(c.d_ff, h.get_int("intermediate_size"));
    UNI_ASSIGN_OR_RETURN(c.vocab, h.get_int("vocab_size"));
    c.rot_dim = c.head_dim;
    UNI_ASSIGN_OR_RETURN(io::RopeParams rope, h.rope_params(""));
    c.rope_base = rope.theta;
    if (rope.type == "llama3") {
        c.rope_factor = rope.factor;
        c.low_freq_factor = rope.low_freq_factor;
        c.high_freq_factor = rope.high_freq_factor;
        c.original_context = static_cast<double>(rope.original_max_position_embeddings);
    } else if (rope.type != "default") {
        return unsupported(
            fmt::format("config.json: RoPE type '{}' is not supported for llama", rope.type));
    }
    return c;
}

class Llama final : public Model {
  public:
    Status load(std::shared_ptr<ModelFiles> files);
    const ModelInfo& info() const override { return info_; }
    const std::vector<KvLayerSpec>& kv_layout() const override { return kv_; }
    Result<Tensor> forward(ExecContext& ctx, std::span<const SequenceChunk> batch) override;

  private:
    struct Layer {
        Tensor attn_norm;  // [D]
        blocks::AttentionWeights attn;
        Tensor ffn_norm;  // [D]
        blocks::MlpWeights mlp;
    };
    Tensor layer(ExecContext& ctx, const Layer& w, int l, Tensor x, const blocks::BatchPlan& plan);

    std::shared_ptr<ModelFiles> files_;
    NameTable names_ = kLlamaNames;
    LlamaConfig cfg_;
    ModelInfo info_;
    std::vector<KvLayerSpec> kv_;
    std::vector<float> inv_freq_;
    blocks::AttentionConfig attn_cfg_;
    Tensor embed_, output_norm_, output_;
    std::vector<Layer> layers_;
};

Status Llama::load(std::shared_ptr<ModelFiles> files) {
    files_ = std::move(files);
    const bool gguf = files_->is_gguf();
    UNI_ASSIGN_OR_RETURN(cfg_, gguf ? parse_gguf(*files_) : parse_hf(*files_));
    const LlamaConfig& c = cfg_;
    if (c.d_model <= 0 || c.n_layers <= 0 || c.n_kv_heads <= 0 || c.n_heads % c.n_kv_heads != 0 ||
        c.head_dim <= 0 || c.d_ff <= 0 || c.vocab <= 0 || c.rot_dim <= 0 ||
        c.rot_dim > c.head_dim || c.rot_dim % 2 != 0)
        return corrupt(fmt::format(
            "inconsistent llama hyperparameters: d_model={} layers={} heads={}/{} head_dim={} "
            "ffn={} vocab={}",
            c.d_model, c.n_layers, c.n_heads, c.n_kv_heads, c.head_dim, c.d_ff, c.vocab));
    const int64_t q_width = c.n_heads * c.head_dim, kv_width = c.n_kv_heads * c.head_dim;

    WeightLoader load(*files_, names_, info_);
    UNI_ASSIGN_OR_RETURN(embed_, load.weight("token_embd.weight", Shape{c.vocab, c.d_model}));
    UNI_ASSIGN_OR_RETURN(output_norm_, load.norm("output_norm.weight", c.d_model, 0.0f));
    if (load.has("output.weight")) {
        UNI_ASSIGN_OR_RETURN(output_, load.weight("output.weight", Shape{c.vocab, c.d_model}));
    } else {
        output_ = embed_;  // tied embeddings
    }
    for (int l = 0; l < c.n_layers; ++l) {
        Layer w;
        UNI_ASSIGN_OR_RETURN(w.attn_norm, load.norm(blk(l, "attn_norm.weight"), c.d_model, 0.0f));
        UNI_ASSIGN_OR_RETURN(w.ffn_norm, load.norm(blk(l, "ffn_norm.weight"), c.d_model, 0.0f));
        UNI_RETURN_IF_ERROR(load.attention(l, c.d_model, q_width, kv_width, &w.attn));
        UNI_RETURN_IF_ERROR(load.mlp(l, c.d_model, c.d_ff, &w.mlp));
        layers_.push_back(std::move(w));
        kv_.push_back({kv_width, 0});
    }

    if (c.rope_factor > 0) {
        inv_freq_ = blocks::llama3_scaled_frequencies(c.rope_base, static_cast<int>(c.rot_dim),
                                                      c.rope_factor, c.low_freq_factor,
                                                      c.high_freq_factor, c.original_context);
    } else {
        inv_freq_ = blocks::rope_frequencies(c.rope_base, static_cast<int>(c.rot_dim));
    }
    if (gguf && files_->has_tensor("rope_freqs.weight")) {
        // llama.cpp divides each frequency by this factor table (Llama 3 scaling).
        UNI_ASSIGN_OR_RETURN(Tensor factors,
                             load_norm(*files_, "rope_freqs.weight", c.rot_dim / 2, 0.0f));
        for (size_t i = 0; i < inv_freq_.size(); ++i) inv_freq_[i] /= factors.data_as<float>()[i];
    }
    attn_cfg_.n_heads = static_cast<int>(c.n_heads);
    attn_cfg_.n_kv_heads = static_cast<int>(c.n_kv_heads);
    attn_cfg_.head_dim = static_cast<int>(c.head_dim);
    attn_cfg_.scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));
    attn_cfg_.rope = {0, static_cast<int>(c.head_dim), static_cast<int>(c.rot_dim),
                      gguf ? ops::RopeMode::kNormal : ops::RopeMode::kNeox, inv_freq_.data()};

    info_.architecture = "llama";
    info_.source_format = gguf ? "gguf" : "safetensors";
    info_.path = files_->path();
    info_.n_layers = c.n_layers;
    info_.d_model = c.d_model;
    info_.n_heads = c.n_heads;
    info_.n_kv_heads = c.n_kv_heads;
    info_.head_dim = c.head_dim;
    info_.d_ff = c.d_ff;
    info_.vocab = c.vocab;
    info_.context_length = c.context;
    info_.bos_token = c.bos;
    info_.hyper = {
        {"rms_norm_eps", fmt::format("{}", c.rms_eps)},
        {"rope",
         fmt::format("{} base {}{}", gguf ? "normal (GGUF q/k permuted)" : "neox", c.rope_base,
                     c.rope_factor > 0 ? fmt::format(", llama3 scaling ×{}", c.rope_factor) : "")},
        {"tied_embeddings", output_.data() == embed_.data() ? "yes" : "no"}};
    return ok_status();
}

// Mirrors LlamaDecoderLayer.forward.
Tensor Llama::layer(ExecContext& ctx, const Layer& w, int l, Tensor x /* [T, D] */,
                    const blocks::BatchPlan& plan) {
    Tensor h = ops::rms_norm(ctx, x, w.attn_norm, cfg_.rms_eps);                        // [T, D]
    x = ops::add(ctx, x, blocks::self_attention(ctx, h, w.attn, attn_cfg_, l, plan));   // [T, D]
    h = ops::rms_norm(ctx, x, w.ffn_norm, cfg_.rms_eps);                                // [T, D]
    x = ops::add(ctx, x, blocks::gated_mlp(ctx, h, w.mlp, blocks::Activation::kSilu));  // [T, D]
    ctx.name_layer(l, "out", x);
    return x;
}

// Mirrors LlamaForCausalLM.forward.
Result<Tensor> Llama::forward(ExecContext& ctx, std::span<const SequenceChunk> batch) {
    ctx.clear_error();
    UNI_ASSIGN_OR_RETURN(blocks::BatchPlan plan, blocks::plan_batch(batch));
    Tensor x = ops::embedding(ctx, embed_, plan.tokens, 1.0f);  // [T, D]
    for (int l = 0; l < cfg_.n_layers; ++l) x = layer(ctx, layers_[l], l, x, plan);
    x = ops::gather_rows(ctx, x, plan.logit_rows);          // [R, D]
    x = ops::rms_norm(ctx, x, output_norm_, cfg_.rms_eps);  // [R, D]
    Tensor logits = ops::linear(ctx, x, output_);           // [R, V]
    if (ctx.failed()) return ctx.status();
    return logits;
}

// HF → GGUF in llama.cpp's layout: q/k rows permuted per head to interleaved RoPE order.
Tensor permute_for_interleaved_rope(const Tensor& w, int64_t n_heads) {
    const int64_t rows = w.rows(), head = rows / n_heads, half = head / 2;
    Tensor out = Tensor::empty(w.dtype(), w.shape());
    for (int64_t h = 0; h < n_heads; ++h)
        for (int64_t i = 0; i < half; ++i)
            for (int64_t j = 0; j < 2; ++j)
                std::memcpy(out.row_bytes_ptr(h * head + 2 * i + j),
                            w.row_bytes_ptr(h * head + j * half + i), w.row_bytes());
    return out;
}

Status export_llama(const ModelFiles& f, io::GgufWriter& w) {
    if (f.is_gguf()) return invalid_argument("the input is already GGUF");
    UNI_ASSIGN_OR_RETURN(LlamaConfig c, parse_hf(f));
    write_decoder_keys(w, c);
    w.set_u32("llama.rope.dimension_count", static_cast<uint32_t>(c.rot_dim));
    if (c.rope_factor > 0) {
        const auto plain = blocks::rope_frequencies(c.rope_base, static_cast<int>(c.rot_dim));
        const auto scaled = blocks::llama3_scaled_frequencies(
            c.rope_base, static_cast<int>(c.rot_dim), c.rope_factor, c.low_freq_factor,
            c.high_freq_factor, c.original_context);
        Tensor factors = Tensor::empty(DType::kF32, Shape{static_cast<int64_t>(plain.size())});
        for (size_t i = 0; i < plain.size(); ++i)
            factors.data_as<float>()[i] = plain[i] / scaled[i];
        UNI_RETURN_IF_ERROR(w.add_tensor("rope_freqs.weight", factors));
    }
    // llama.cpp's converter permutes q/k rows per head to interleaved RoPE order.
    const auto fixup = [&](const std::string& g, Tensor t) -> Result<Tensor> {
        if (g.find("attn_q.weight") != std::string::npos)
            return permute_for_interleaved_rope(t, c.n_heads);
        if (g.find("attn_k.weight") != std::string::npos)
            return permute_for_interleaved_rope(t, c.n_kv_heads);
        return t;
    };
    return export_tensors(f, kLlamaNames, c.n_layers, fixup, w);
}

}  // namespace

extern const ArchitectureEntry kLlamaArchitecture;
const ArchitectureEntry kLlamaArchitecture = {
    "llama", {"llama", "mistral"}, load_architecture<Llama>, export_llama};

}  // namespace unicorn
