// Gemma 3 text decoder (270M, 1B, and the text part of 4B/12B/27B).
// Mirrors Gemma3ForCausalLM / Gemma3DecoderLayer (transformers, models/gemma3/modeling_gemma3.py).
// Facts and pitfalls: docs/reference/gemma-architecture.md §3 and §5.
//
// Per-format fix-ups, all here:
//  - Norms: HF stores w with y = x̂·(1+w); llama.cpp's converter folds the +1 into the GGUF
//    weights. We add 1 when loading HF and when exporting to GGUF, never for GGUF input.
//  - Attention scale: HF uses query_pre_attn_scalar^-0.5; GGUF files carry no such key, so
//    llama.cpp uses 1/sqrt(head_dim) (27B: 1/sqrt(d_model/heads)) unless `gemma3.attention.scale`
//    is present, which our exporter writes when the two differ.
//  - Layer pattern: HF `layer_types`; GGUF `gemma3.attention.sliding_window_pattern` when
//    present (our exporter writes it), else llama.cpp's fixed period of 6.
//  - Attention soft-capping: Gemma3Attention never passes attn_logit_softcapping to its
//    attention function (transformers 4.5x-5.x), and llama.cpp's gemma3 graph has none, so a
//    value in config.json or GGUF is ignored here (Gemma 2 applied it; Gemma 3 does not).
//  - Local RoPE base: HF rope_local_base_freq / rope_parameters.sliding_attention; GGUF
//    `gemma3.rope.freq_base_swa`, defaulting to 10 000 (never to the global base).
#include <fmt/format.h>

#include <cmath>

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

NameTable gemma3_names(const std::string& prefix) {
    return {prefix,
            {{"token_embd.weight", "embed_tokens.weight"}, {"output_norm.weight", "norm.weight"}},
            gemma_layer_names()};
}

// Text weights sit under model. (Gemma3ForCausalLM), model.language_model. (transformers 5
// multimodal) or language_model.model. (older multimodal checkpoints).
std::string hf_prefix(const ModelFiles& f) {
    for (const char* p : {"model.", "model.language_model.", "language_model.model."}) {
        if (f.has_tensor(std::string(p) + "embed_tokens.weight")) return p;
    }
    return "model.";
}

// The shared decoder keys (rope_base is the global layers' base) plus Gemma 3's own.
struct Gemma3Config : DecoderKeys {
    Gemma3Config() {
        arch = "gemma3";
        head_dim = 256;
        rms_eps = 1e-6f;
        rope_base = 1e6;
        bos = 2;
    }
    int64_t vocab = 0;
    float attn_scale = 0;
    int32_t window = 0;
    std::vector<bool> sliding;  // per layer
    double base_local = 1e4;
    double global_linear_factor = 1.0;  // linear RoPE scaling on global layers (4B+)
    float final_softcap = 0;
};

Result<Gemma3Config> parse_gguf(const ModelFiles& f) {
    Gemma3Config c;
    UNI_ASSIGN_OR_RETURN(static_cast<DecoderKeys&>(c), read_decoder_keys(f, c));
    UNI_ASSIGN_OR_RETURN(auto base_swa, f.gguf_float("gemma3.rope.freq_base_swa"));
    c.base_local = base_swa.value_or(10000.0);  // pitfall 22: not the global base
    UNI_ASSIGN_OR_RETURN(auto window, f.gguf_int("gemma3.attention.sliding_window"));
    c.window = static_cast<int32_t>(window.value_or(512));
    UNI_ASSIGN_OR_RETURN(auto scale, f.gguf_float("gemma3.attention.scale"));
    const float default_scale =
        c.n_layers == 62
            ? 1.0f / std::sqrt(static_cast<float>(c.d_model) / static_cast<float>(c.n_heads))
            : 1.0f / std::sqrt(static_cast<float>(c.head_dim));
    c.attn_scale = scale ? static_cast<float>(*scale) : default_scale;
    UNI_ASSIGN_OR_RETURN(auto fsc, f.gguf_float("gemma3.final_logit_softcapping"));
    c.final_softcap = static_cast<float>(fsc.value_or(0.0));
    UNI_ASSIGN_OR_RETURN(auto scaling, f.gguf_string("gemma3.rope.scaling.type"));
    if (scaling && *scaling == "linear") {
        UNI_ASSIGN_OR_RETURN(auto factor, f.gguf_float("gemma3.rope.scaling.factor"));
        c.global_linear_factor = factor.value_or(1.0);
    }
    UNI_ASSIGN_OR_RETURN(c.sliding, gguf_sliding_layers(f, "gemma3", c.n_layers, 6));
    UNI_ASSIGN_OR_RETURN(Tensor emb, f.tensor("token_embd.weight"));
    c.vocab = emb.shape().rank() == 2 ? emb.shape()[0] : 0;
    return c;
}

Result<Gemma3Config> parse_hf(const ModelFiles& f) {
    const io::HfConfig& h = f.hf();
    Gemma3Config c;
    UNI_ASSIGN_OR_RETURN(static_cast<DecoderKeys&>(c), read_hf_decoder_keys(h, c));
    UNI_ASSIGN_OR_RETURN(c.d_ff, h.get_int("intermediate_size"));
    UNI_ASSIGN_OR_RETURN(c.vocab, h.get_int("vocab_size"));
    UNI_ASSIGN_OR_RETURN(double qpas,
                         h.get_double_or("query_pre_attn_scalar", static_cast<double>(c.head_dim)));
    if (!(qpas > 0)) return corrupt("config.json: query_pre_attn_scalar must be positive");
    c.attn_scale = static_cast<float>(1.0 / std::sqrt(qpas));
    UNI_ASSIGN_OR_RETURN(int64_t window, h.get_int_or("sliding_window", 512));
    c.window = static_cast<int32_t>(window);
    // null or absent → no soft-cap
    UNI_ASSIGN_OR_RETURN(double final_cap, h.get_double_or("final_logit_softcapping", 0.0));
    c.final_softcap = static_cast<float>(final_cap);
    UNI_ASSIGN_OR_RETURN(c.sliding, hf_sliding_layers(h, c.n_layers, 6));
    UNI_ASSIGN_OR_RETURN(io::RopeParams global, h.rope_params("full_attention"));
    c.rope_base = global.theta;
    if (global.type == "linear")
        c.global_linear_factor = global.factor;
    else if (global.type != "default")
        return unsupported("config.json: RoPE type '" + global.type +
                           "' is not supported for gemma3");
    UNI_ASSIGN_OR_RETURN(std::optional<io::RopeParams> local,
                         h.find_rope_params("sliding_attention"));
    c.base_local = local ? local->theta : 10000.0;  // pitfall 22: never the global base
    return c;
}

class Gemma3 final : public Model {
  public:
    Status load(std::shared_ptr<ModelFiles> files);
    const ModelInfo& info() const override { return info_; }
    const std::vector<KvLayerSpec>& kv_layout() const override { return kv_; }
    Result<Tensor> forward(ExecContext& ctx, std::span<const SequenceChunk> batch) override;

  private:
    struct Layer {
        Tensor input_norm, post_attn_norm, pre_ffn_norm, post_ffn_norm;  // [D], already 1+w
        blocks::AttentionWeights attn;
        blocks::MlpWeights mlp;
        blocks::AttentionConfig attn_cfg;  // window, RoPE base per layer type
    };
    Tensor layer(ExecContext& ctx, const Layer& w, int l, Tensor x, const blocks::BatchPlan& plan);

    std::shared_ptr<ModelFiles> files_;
    NameTable names_;
    Gemma3Config cfg_;
    ModelInfo info_;
    std::vector<KvLayerSpec> kv_;
    std::vector<float> freq_global_, freq_local_;
    Tensor embed_, output_norm_;
    std::vector<Layer> layers_;
};

Status Gemma3::load(std::shared_ptr<ModelFiles> files) {
    files_ = std::move(files);
    const bool gguf = files_->is_gguf();
    names_ = gemma3_names(gguf ? "" : hf_prefix(*files_));
    UNI_ASSIGN_OR_RETURN(cfg_, gguf ? parse_gguf(*files_) : parse_hf(*files_));
    const Gemma3Config& c = cfg_;
    if (c.d_model <= 0 || c.n_layers <= 0 || c.n_kv_heads <= 0 || c.n_heads % c.n_kv_heads != 0 ||
        c.head_dim <= 0 || c.head_dim % 2 != 0 || c.d_ff <= 0 || c.vocab <= 0 || c.window < 0)
        return corrupt(fmt::format(
            "inconsistent gemma3 hyperparameters: d_model={} layers={} heads={}/{} head_dim={} "
            "ffn={} vocab={}",
            c.d_model, c.n_layers, c.n_heads, c.n_kv_heads, c.head_dim, c.d_ff, c.vocab));
    const int64_t q_width = c.n_heads * c.head_dim, kv_width = c.n_kv_heads * c.head_dim;

    freq_global_ = blocks::rope_frequencies(c.rope_base, static_cast<int>(c.head_dim));
    for (float& f : freq_global_) f = static_cast<float>(f / c.global_linear_factor);
    freq_local_ = blocks::rope_frequencies(c.base_local, static_cast<int>(c.head_dim));

    // Norms hold w in HF checkpoints and 1+w in GGUF files (pitfall 1): +1 for HF only.
    WeightLoader load(*files_, names_, info_);
    auto norm = [&](const std::string& name, int64_t n) { return load.norm(name, n, 1.0f); };
    UNI_ASSIGN_OR_RETURN(embed_, load.weight("token_embd.weight", Shape{c.vocab, c.d_model}));
    UNI_ASSIGN_OR_RETURN(output_norm_, norm("output_norm.weight", c.d_model));
    for (int l = 0; l < c.n_layers; ++l) {
        Layer w;
        UNI_ASSIGN_OR_RETURN(w.input_norm, norm(blk(l, "attn_norm.weight"), c.d_model));
        UNI_ASSIGN_OR_RETURN(w.post_attn_norm,
                             norm(blk(l, "post_attention_norm.weight"), c.d_model));
        UNI_ASSIGN_OR_RETURN(w.pre_ffn_norm, norm(blk(l, "ffn_norm.weight"), c.d_model));
        UNI_ASSIGN_OR_RETURN(w.post_ffn_norm, norm(blk(l, "post_ffw_norm.weight"), c.d_model));
        UNI_ASSIGN_OR_RETURN(w.attn.q_norm, norm(blk(l, "attn_q_norm.weight"), c.head_dim));
        UNI_ASSIGN_OR_RETURN(w.attn.k_norm, norm(blk(l, "attn_k_norm.weight"), c.head_dim));
        UNI_RETURN_IF_ERROR(load.attention(l, c.d_model, q_width, kv_width, &w.attn));
        UNI_RETURN_IF_ERROR(load.mlp(l, c.d_model, c.d_ff, &w.mlp));
        // Per-layer behaviour is data (architecture §4.3): window and RoPE base by layer type.
        const bool sliding = c.sliding[l];
        w.attn_cfg.n_heads = static_cast<int>(c.n_heads);
        w.attn_cfg.n_kv_heads = static_cast<int>(c.n_kv_heads);
        w.attn_cfg.head_dim = static_cast<int>(c.head_dim);
        w.attn_cfg.scale = c.attn_scale;
        w.attn_cfg.window = sliding ? c.window : 0;
        w.attn_cfg.qk_norm_eps = c.rms_eps;
        w.attn_cfg.rope = {0, static_cast<int>(c.head_dim), static_cast<int>(c.head_dim),
                           ops::RopeMode::kNeox,
                           sliding ? freq_local_.data() : freq_global_.data()};
        kv_.push_back({kv_width, sliding ? c.window : 0});
        layers_.push_back(std::move(w));
    }

    info_.architecture = "gemma3";
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
    std::string pattern;
    for (bool s : c.sliding) pattern += s ? 'S' : 'G';
    info_.hyper = {{"rms_norm_eps", fmt::format("{}", c.rms_eps)},
                   {"attention_scale", fmt::format("{}", c.attn_scale)},
                   {"sliding_window", fmt::format("{}", c.window)},
                   {"layer_pattern", pattern + " (S sliding, G global)"},
                   {"rope_base", fmt::format("global {} (linear ×{}), local {}", c.rope_base,
                                             c.global_linear_factor, c.base_local)},
                   {"final_softcap", fmt::format("{}", c.final_softcap)}};
    return ok_status();
}

// Mirrors Gemma3DecoderLayer.forward: sandwich norms around attention and MLP.
Tensor Gemma3::layer(ExecContext& ctx, const Layer& w, int l, Tensor x /* [T, D] */,
                     const blocks::BatchPlan& plan) {
    const float eps = cfg_.rms_eps;
    Tensor h = ops::rms_norm(ctx, x, w.input_norm, eps);  // [T, D]
    ctx.name_layer(l, "attn_norm", h);
    Tensor a = blocks::self_attention(ctx, h, w.attn, w.attn_cfg, l, plan);  // [T, D]
    ctx.name_layer(l, "attn_proj", a);
    x = ops::rms_norm_add(ctx, a, w.post_attn_norm, eps, x);  // [T, D]
    ctx.name_layer(l, "sa_out", x);
    h = ops::rms_norm(ctx, x, w.pre_ffn_norm, eps);                              // [T, D]
    Tensor m = blocks::gated_mlp(ctx, h, w.mlp, blocks::Activation::kGeluTanh);  // [T, D]
    ctx.name_layer(l, "ffn_out", m);
    x = ops::rms_norm_add(ctx, m, w.post_ffn_norm, eps, x);  // [T, D]
    ctx.name_layer(l, "out", x);
    return x;
}

// Mirrors Gemma3ForCausalLM.forward (tied head, optional final soft-cap).
Result<Tensor> Gemma3::forward(ExecContext& ctx, std::span<const SequenceChunk> batch) {
    ctx.clear_error();
    UNI_ASSIGN_OR_RETURN(blocks::BatchPlan plan, blocks::plan_batch(batch));
    // sqrt(d_model) in fp32, as in an fp32 HF run (pitfall 11).
    const float emb_scale = std::sqrt(static_cast<float>(cfg_.d_model));
    Tensor x = ops::embedding(ctx, embed_, plan.tokens, emb_scale);  // [T, D]
    for (int l = 0; l < cfg_.n_layers; ++l) x = layer(ctx, layers_[l], l, x, plan);
    x = ops::gather_rows(ctx, x, plan.logit_rows);          // [R, D]
    x = ops::rms_norm(ctx, x, output_norm_, cfg_.rms_eps);  // [R, D]
    Tensor logits = ops::linear(ctx, x, embed_);            // [R, V]
    if (cfg_.final_softcap > 0) logits = ops::softcap(ctx, logits, cfg_.final_softcap);
    if (ctx.failed()) return ctx.status();
    return logits;
}

Status export_gemma3(const ModelFiles& f, io::GgufWriter& w) {
    if (f.is_gguf()) return invalid_argument("the input is already GGUF");
    UNI_ASSIGN_OR_RETURN(Gemma3Config c, parse_hf(f));
    const NameTable names = gemma3_names(hf_prefix(f));
    write_decoder_keys(w, c);
    w.set_u32("gemma3.attention.sliding_window", static_cast<uint32_t>(c.window));
    w.set_f32("gemma3.rope.freq_base_swa", static_cast<float>(c.base_local));
    if (std::abs(c.attn_scale * std::sqrt(static_cast<float>(c.head_dim)) - 1.0f) > 1e-6f)
        w.set_f32("gemma3.attention.scale", c.attn_scale);
    if (c.final_softcap > 0) w.set_f32("gemma3.final_logit_softcapping", c.final_softcap);
    if (c.global_linear_factor != 1.0) {
        w.set_string("gemma3.rope.scaling.type", "linear");
        w.set_f32("gemma3.rope.scaling.factor", static_cast<float>(c.global_linear_factor));
    }
    w.set_array("gemma3.attention.sliding_window_pattern", c.sliding);
    // llama.cpp folds Gemma's 1+w into the file (norm_shift = 1); norms are F32 there.
    const auto fixup = [&](const std::string& g, Tensor t) -> Result<Tensor> {
        if (!t.defined()) return t;
        if (g.size() < 11 || g.compare(g.size() - 11, 11, "norm.weight") != 0) return t;
        return load_norm(f, hf_tensor_name(names, g), t.numel(), 1.0f);
    };
    return export_tensors(f, names, c.n_layers, fixup, w);
}

}  // namespace

extern const ArchitectureEntry kGemma3Architecture;
const ArchitectureEntry kGemma3Architecture = {
    "gemma3", {"gemma3", "gemma3_text"}, load_architecture<Gemma3>, export_gemma3};

}  // namespace unicorn
