// Gemma 3n text decoder (E2B, E4B and MatFormer slices of E4B).
// Mirrors Gemma3nForCausalLM / Gemma3nTextModel / Gemma3nTextDecoderLayer (transformers,
// models/gemma3n/modeling_gemma3n.py). Facts and pitfalls: docs/reference/gemma-architecture.md
// §1, §2, §4 and §5; the numbered pitfalls below refer to §5.
//
// Per-format fix-ups, all here:
//  - Norms multiply by w (no 1+w) in both formats (pitfall 1); V is normed without a weight.
//  - HF keeps altup_projections.{0,1,2} as separate matrices; llama.cpp stacks them into one
//    [A-1, D, D] tensor (altup_proj / altup_unembd_proj). `correct_output_scale` has no .weight
//    suffix in HF (pitfall 5) and gets one in GGUF.
//  - GGUF carries no LAuReL rank, PLE width or AltUp stream count that llama.cpp reads; we take
//    them from the tensor shapes (or the keys our exporter and llama.cpp's converter write), so
//    slices and tiny fixtures load too.
//  - Local RoPE base: HF rope_local_base_freq / rope_parameters.sliding_attention; GGUF
//    `gemma3n.rope.freq_base_swa`, defaulting to 10 000 (pitfall 22).
//  - Final soft-cap: 30 unless the file says otherwise (HF config; llama.cpp's default).
//  - AltUp coefficient clipping (altup_coef_clip): transformers (5.17) clamps the prediction
//    and correction coefficients only while training, llama.cpp never; its converter and the
//    published weights are already inside the bound. So the coefficients are used as stored,
//    which is what both references compute (Google's JAX code would clamp both).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <tuple>

#include "exec/graph_ops.h"
#include "io/gguf_writer.h"
#include "io/hf_config.h"
#include "models/common/blocks.h"
#include "models/common/gguf_decoder.h"
#include "models/common/matformer.h"
#include "models/common/model_files.h"
#include "models/common/naming.h"
#include "models/common/weight_loader.h"
#include "models/registry.h"

namespace unicorn {
namespace {

NameTable gemma3n_names(const std::string& prefix) {
    NameTable t{prefix,
                {{"token_embd.weight", "embed_tokens.weight"},
                 {"per_layer_token_embd.weight", "embed_tokens_per_layer.weight"},
                 {"per_layer_model_proj.weight", "per_layer_model_projection.weight"},
                 {"per_layer_proj_norm.weight", "per_layer_projection_norm.weight"},
                 {"output_norm.weight", "norm.weight"}},
                gemma_layer_names()};
    const std::pair<const char*, const char*> extra[] = {
        {"inp_gate.weight", "per_layer_input_gate.weight"},
        {"proj.weight", "per_layer_projection.weight"},
        {"post_norm.weight", "post_per_layer_input_norm.weight"},
        {"altup_correct_coef.weight", "altup.correction_coefs.weight"},
        {"altup_correct_scale.weight", "altup.correct_output_scale"},
        {"altup_predict_coef.weight", "altup.prediction_coefs.weight"},
        {"altup_router.weight", "altup.modality_router.weight"},
        {"altup_router_norm.weight", "altup.router_norm.weight"},
        {"laurel_l.weight", "laurel.linear_left.weight"},
        {"laurel_r.weight", "laurel.linear_right.weight"},
        {"laurel_post_norm.weight", "laurel.post_laurel_norm.weight"}};
    for (const auto& [g, h] : extra) t.per_layer.emplace_back(g, h);
    return t;
}

// Gemma3nForConditionalGeneration keeps the text model under model.language_model.;
// Gemma3nForCausalLM under model.
std::string hf_prefix(const ModelFiles& f) {
    for (const char* p : {"model.language_model.", "model."}) {
        if (f.has_tensor(std::string(p) + "embed_tokens.weight")) return p;
    }
    return "model.language_model.";
}

// Φ⁻¹(p) = sqrt(2)·erfinv(2p − 1) in double, rounded once to fp32: for 0.95 that is
// 1.6448535919, the value transformers 5.17 / torch 2.11 compute (Gemma3nTextMLP) and
// llama.cpp's converter stores (older torch gave 1.6448533535, 2 ulp lower). erfinv by Newton
// on std::erf.
float normal_icdf(double p) {
    const double y = 2.0 * p - 1.0;
    double x = 0;
    for (int i = 0; i < 60; ++i) {
        const double step = (std::erf(x) - y) / (2.0 / std::sqrt(M_PI) * std::exp(-x * x));
        x -= step;
        if (std::abs(step) < 1e-15) break;
    }
    return static_cast<float>(std::sqrt(2.0) * x);
}

struct Gemma3nConfig : DecoderKeys {
    Gemma3nConfig() {
        arch = "gemma3n";
        head_dim = 256;
        rms_eps = 1e-6f;
        rope_base = 1e6;
        bos = 2;
    }
    int64_t vocab = 0;      // rows of token_embd = logits width
    int64_t ple_vocab = 0;  // ids at or above map to 0 for the per-layer table (HF)
    int64_t ple_dim = 0;    // P, hidden_size_per_layer_input
    int64_t n_altup = 4, laurel_rank = 0;
    int32_t window = 0;
    double base_local = 1e4;
    float final_softcap = 30.0f;
    float coef_clip = 0;  // 0: none
    bool correct_scale = true;
    int64_t n_kv_shared = 0;
    std::vector<bool> sliding;      // per layer
    std::vector<float> sparsity_z;  // per layer, Φ⁻¹(target); <= 0 or -inf: dense
    std::vector<int64_t> ffn;       // per layer
};

// Layer l's K/V source: itself, or for the last n_kv_shared layers the last earlier layer of
// the same type before the sharing boundary (HF kv_shared_layer_index; pitfall 4).
Result<std::vector<int>> kv_sources(const Gemma3nConfig& c) {
    const int n = static_cast<int>(c.n_layers), first = n - static_cast<int>(c.n_kv_shared);
    std::vector<int> src(static_cast<size_t>(n));
    for (int l = 0; l < n; ++l) {
        src[l] = l;
        if (l < first) continue;
        src[l] = -1;
        for (int p = first - 1; p >= 0 && src[l] < 0; --p)
            if (c.sliding[p] == c.sliding[l]) src[l] = p;
        if (src[l] < 0)
            return corrupt(
                fmt::format("gemma3n: layer {} shares K/V but no earlier {} layer computes them", l,
                            c.sliding[l] ? "sliding" : "global"));
    }
    return src;
}

Result<Gemma3nConfig> parse_gguf(const ModelFiles& f) {
    Gemma3nConfig c;
    UNI_ASSIGN_OR_RETURN(static_cast<DecoderKeys&>(c), read_decoder_keys(f, c));
    const auto key = [](const char* k) { return std::string("gemma3n.") + k; };
    UNI_ASSIGN_OR_RETURN(auto base_swa, f.gguf_float(key("rope.freq_base_swa")));
    if (!base_swa) {  // ollama's converter's name for the same value
        UNI_ASSIGN_OR_RETURN(base_swa, f.gguf_float(key("rope.freq_base_local")));
    }
    c.base_local = base_swa.value_or(10000.0);  // pitfall 22: not the global base
    UNI_ASSIGN_OR_RETURN(auto window, f.gguf_int(key("attention.sliding_window")));
    c.window = static_cast<int32_t>(window.value_or(512));
    UNI_ASSIGN_OR_RETURN(auto fsc, f.gguf_float(key("final_logit_softcapping")));
    c.final_softcap = static_cast<float>(fsc.value_or(30.0));
    // Early files wrote shared_kv_layers as float32 (pitfall 17); as_f64 reads both.
    UNI_ASSIGN_OR_RETURN(auto shared, f.gguf_float(key("attention.shared_kv_layers")));
    c.n_kv_shared = static_cast<int64_t>(shared.value_or(0.0));
    UNI_ASSIGN_OR_RETURN(auto n_altup, f.gguf_int(key("altup.num_inputs")));
    c.n_altup = n_altup.value_or(4);
    UNI_ASSIGN_OR_RETURN(auto active, f.gguf_int(key("altup.active_idx")));
    if (active.value_or(0) != 0)
        return unsupported("gemma3n.altup.active_idx other than 0 is not supported");
    UNI_ASSIGN_OR_RETURN(auto clip, f.gguf_float(key("altup.coef_clip")));
    c.coef_clip = static_cast<float>(clip.value_or(120.0));
    UNI_ASSIGN_OR_RETURN(c.sliding, gguf_sliding_layers(f, "gemma3n", c.n_layers, 5));
    UNI_ASSIGN_OR_RETURN(auto scales, f.gguf_numbers(key("activation_sparsity_scale")));
    for (int64_t l = 0; l < c.n_layers; ++l) {
        // llama.cpp's converter writes −inf for dense layers (pitfall 8); absent: E2B/E4B's
        // hard-coded first ten sparse layers, as llama.cpp assumes.
        const double z = scales ? (static_cast<size_t>(l) < scales->size() ? (*scales)[l] : 0.0)
                                : (l < 10 ? normal_icdf(0.95) : 0.0);
        c.sparsity_z.push_back(std::isfinite(z) ? static_cast<float>(z) : 0.0f);
    }
    if (scales && static_cast<int64_t>(scales->size()) != c.n_layers)
        return corrupt(fmt::format("gemma3n.activation_sparsity_scale has {} entries for {} layers",
                                   scales->size(), c.n_layers));
    c.ffn = c.d_ff_per_layer.empty() ? std::vector<int64_t>(c.n_layers, c.d_ff) : c.d_ff_per_layer;
    UNI_ASSIGN_OR_RETURN(Tensor emb, f.tensor("token_embd.weight"));
    c.vocab = emb.shape().rank() == 2 ? emb.shape()[0] : 0;
    UNI_ASSIGN_OR_RETURN(Tensor ple, f.tensor("per_layer_token_embd.weight"));
    c.ple_vocab = ple.shape().rank() == 2 ? ple.shape()[0] : 0;
    UNI_ASSIGN_OR_RETURN(auto ple_dim, f.gguf_int(key("embedding_length_per_layer_input")));
    c.ple_dim = ple_dim.value_or(
        c.n_layers > 0 && ple.shape().rank() == 2 ? ple.shape()[1] / c.n_layers : 0);
    UNI_ASSIGN_OR_RETURN(Tensor laurel, f.tensor("blk.0.laurel_l.weight"));
    c.laurel_rank = laurel.shape().rank() == 2 ? laurel.shape()[0] : 0;
    return c;
}

Result<Gemma3nConfig> parse_hf(const ModelFiles& f) {
    const io::HfConfig& h = f.hf();
    Gemma3nConfig c;
    UNI_ASSIGN_OR_RETURN(static_cast<DecoderKeys&>(c), read_hf_decoder_keys(h, c));
    UNI_ASSIGN_OR_RETURN(c.vocab, h.get_int("vocab_size"));
    UNI_ASSIGN_OR_RETURN(c.ple_vocab, h.get_int_or("vocab_size_per_layer_input", c.vocab));
    UNI_ASSIGN_OR_RETURN(c.ple_dim, h.get_int_or("hidden_size_per_layer_input", 256));
    UNI_ASSIGN_OR_RETURN(c.n_altup, h.get_int_or("altup_num_inputs", 4));
    UNI_ASSIGN_OR_RETURN(c.laurel_rank, h.get_int_or("laurel_rank", 64));
    UNI_ASSIGN_OR_RETURN(int64_t active, h.get_int_or("altup_active_idx", 0));
    if (active != 0) return unsupported("config.json: altup_active_idx other than 0");
    UNI_ASSIGN_OR_RETURN(double clip, h.get_double_or("altup_coef_clip", 0.0));
    c.coef_clip = static_cast<float>(clip);
    UNI_ASSIGN_OR_RETURN(c.correct_scale, h.get_bool_or("altup_correct_scale", true));
    UNI_ASSIGN_OR_RETURN(c.n_kv_shared, h.get_int_or("num_kv_shared_layers", 0));
    UNI_ASSIGN_OR_RETURN(int64_t window, h.get_int_or("sliding_window", 512));
    c.window = static_cast<int32_t>(window);
    UNI_ASSIGN_OR_RETURN(double cap, h.get_double_or("final_logit_softcapping", 0.0));
    c.final_softcap = static_cast<float>(cap);
    // intermediate_size: one width, or one per layer (configs written by save_pretrained and
    // MatFormer slices).
    auto ffn = h.get_int_list("intermediate_size");
    if (ffn.ok() && ffn->size() == 1) {
        c.ffn.assign(static_cast<size_t>(c.n_layers), (*ffn)[0]);
    } else if (ffn.ok()) {
        c.ffn = *ffn;
    } else {
        return ffn.status();
    }
    if (static_cast<int64_t>(c.ffn.size()) != c.n_layers)
        return corrupt(fmt::format("config.json: intermediate_size has {} entries for {} layers",
                                   c.ffn.size(), c.n_layers));
    c.d_ff = *std::max_element(c.ffn.begin(), c.ffn.end());
    c.d_ff_per_layer = c.ffn;
    UNI_ASSIGN_OR_RETURN(std::vector<double> sparsity,
                         h.has("activation_sparsity_pattern")
                             ? h.get_double_list("activation_sparsity_pattern")
                             : Result<std::vector<double>>(std::vector<double>(c.n_layers, 0.0)));
    if (static_cast<int64_t>(sparsity.size()) != c.n_layers)
        return corrupt(
            fmt::format("config.json: activation_sparsity_pattern has {} entries for {} "
                        "layers",
                        sparsity.size(), c.n_layers));
    for (double p : sparsity) {
        if (p < 0 || p >= 1)
            return corrupt(fmt::format("config.json: activation sparsity {} is outside [0, 1)", p));
        c.sparsity_z.push_back(p > 0 ? normal_icdf(p) : 0.0f);
    }
    UNI_ASSIGN_OR_RETURN(c.sliding, hf_sliding_layers(h, c.n_layers, 5));
    UNI_ASSIGN_OR_RETURN(io::RopeParams global, h.rope_params("full_attention"));
    if (global.type != "default")
        return unsupported("config.json: RoPE type '" + global.type +
                           "' is not supported for gemma3n");
    c.rope_base = global.theta;
    UNI_ASSIGN_OR_RETURN(std::optional<io::RopeParams> local,
                         h.find_rope_params("sliding_attention"));
    c.base_local = local ? local->theta : 10000.0;  // pitfall 22
    return c;
}

Status check_config(const Gemma3nConfig& c) {
    if (c.d_model <= 0 || c.n_layers <= 0 || c.n_heads <= 0 || c.n_kv_heads <= 0 ||
        c.n_heads % c.n_kv_heads != 0 || c.head_dim <= 0 || c.head_dim % 2 != 0 || c.vocab <= 0 ||
        c.ple_vocab <= 0 || c.ple_dim <= 0 || c.n_altup < 1 || c.laurel_rank <= 0 || c.window < 0 ||
        c.n_kv_shared < 0 || c.n_kv_shared >= c.n_layers ||
        static_cast<int64_t>(c.ffn.size()) != c.n_layers ||
        std::any_of(c.ffn.begin(), c.ffn.end(), [](int64_t f) { return f <= 0; }))
        return corrupt(fmt::format(
            "inconsistent gemma3n hyperparameters: d_model={} layers={} heads={}/{} head_dim={} "
            "vocab={} per-layer vocab={} per-layer width={} altup streams={} laurel rank={} "
            "shared-KV layers={}",
            c.d_model, c.n_layers, c.n_heads, c.n_kv_heads, c.head_dim, c.vocab, c.ple_vocab,
            c.ple_dim, c.n_altup, c.laurel_rank, c.n_kv_shared));
    return ok_status();
}

class Gemma3n final : public Model {
  public:
    Status load(std::shared_ptr<ModelFiles> files, const LoadOptions& options);
    const ModelInfo& info() const override { return info_; }
    const std::vector<KvLayerSpec>& kv_layout() const override { return kv_; }
    Result<Tensor> forward(ExecContext& ctx, std::span<const SequenceChunk> batch) override;

  private:
    struct Layer {
        Tensor input_norm, post_attn_norm, pre_ffn_norm, post_ffn_norm;  // [D]
        blocks::AttentionWeights attn;
        blocks::MlpWeights mlp;
        blocks::AttentionConfig attn_cfg;               // window, RoPE base, KV source
        float sparsity_z = 0;                           // > 0: gaussian top-k on the gate
        Tensor router_norm, router;                     // [D] (times 1/D), [A, D]
        Tensor predict_coefs;                           // F32 [A·A, A]
        Tensor correct_coefs;                           // F32 [A, A], clipped
        Tensor correct_scale;                           // F32 [1, D]
        Tensor laurel_left, laurel_right, laurel_norm;  // [R, D], [D, R], [D]
        Tensor ple_gate, ple_proj, ple_norm;            // [P, D], [D, P], [D]
        int64_t ple_block = 0;  // which [P] block of the per-layer inputs this layer reads
    };
    Status load_layer(WeightLoader& load, int l, int src_l, int64_t ffn, Layer* w);
    Tensor router_coefs(ExecContext& ctx, const Layer& w, const Tensor& x, const Tensor& coef);
    Tensor layer(ExecContext& ctx, const Layer& w, int l, const Tensor& xs, const Tensor& ple,
                 const blocks::BatchPlan& plan);
    Tensor per_layer_inputs(ExecContext& ctx, const Tensor& e, const blocks::BatchPlan& plan);

    std::shared_ptr<ModelFiles> files_;
    NameTable names_;
    Gemma3nConfig cfg_;
    ModelInfo info_;
    std::vector<KvLayerSpec> kv_;
    std::vector<float> freq_global_, freq_local_;
    Tensor embed_, output_norm_;
    Tensor ple_table_, ple_model_proj_, ple_proj_norm_;  // [Vp, Lf·P], [Lf·P, D], [P]
    std::vector<Tensor> altup_proj_, altup_unembed_;     // A−1 × [D, D]
    std::vector<Layer> layers_;
};

// HF stores A−1 matrices; GGUF one [A−1, D, D] stack. Views of D rows each.
Result<std::vector<Tensor>> load_stack(WeightLoader& load, const ModelFiles& f,
                                       const NameTable& names, const std::string& gguf_name,
                                       const char* hf_stem, int64_t n, int64_t d) {
    std::vector<Tensor> out;
    if (n == 0) return out;
    if (f.is_gguf()) {
        UNI_ASSIGN_OR_RETURN(Tensor t, load.weight(gguf_name, Shape{n, d, d}));
        for (int64_t a = 0; a < n; ++a)
            out.push_back(t.reshape(Shape{n * d, d}).slice_rows(a * d, (a + 1) * d));
        return out;
    }
    for (int64_t a = 0; a < n; ++a) {
        const std::string name = fmt::format("{}{}.{}.weight", names.hf_prefix, hf_stem, a);
        UNI_ASSIGN_OR_RETURN(Tensor t, f.tensor(name, Shape{d, d}));
        load.count(t);
        out.push_back(t);
    }
    return out;
}

Status Gemma3n::load_layer(WeightLoader& load, int l, int src_l, int64_t ffn, Layer* w) {
    const Gemma3nConfig& c = cfg_;
    const int64_t d = c.d_model, a = c.n_altup, p = c.ple_dim, r = c.laurel_rank;
    const auto norm = [&](const char* s, int64_t n) { return load.norm(blk(src_l, s), n, 0.0f); };
    const auto mat = [&](const char* s, Shape shape) { return load.weight(blk(src_l, s), shape); };
    UNI_ASSIGN_OR_RETURN(w->input_norm, norm("attn_norm.weight", d));
    UNI_ASSIGN_OR_RETURN(w->post_attn_norm, norm("post_attention_norm.weight", d));
    UNI_ASSIGN_OR_RETURN(w->pre_ffn_norm, norm("ffn_norm.weight", d));
    UNI_ASSIGN_OR_RETURN(w->post_ffn_norm, norm("post_ffw_norm.weight", d));
    const int64_t q_width = c.n_heads * c.head_dim, kv_width = c.n_kv_heads * c.head_dim;
    UNI_ASSIGN_OR_RETURN(w->attn.q, mat("attn_q.weight", Shape{q_width, d}));
    UNI_ASSIGN_OR_RETURN(w->attn.o, mat("attn_output.weight", Shape{d, q_width}));
    UNI_ASSIGN_OR_RETURN(w->attn.q_norm, norm("attn_q_norm.weight", c.head_dim));
    if (w->attn_cfg.kv_source == l) {
        // KV-sharing layers still ship k/v weights; they are never used (pitfall 4), so they
        // are not even read.
        UNI_ASSIGN_OR_RETURN(w->attn.k, mat("attn_k.weight", Shape{kv_width, d}));
        UNI_ASSIGN_OR_RETURN(w->attn.v, mat("attn_v.weight", Shape{kv_width, d}));
        UNI_ASSIGN_OR_RETURN(w->attn.k_norm, norm("attn_k_norm.weight", c.head_dim));
    }
    const int64_t full_ffn = c.ffn[static_cast<size_t>(src_l)];
    UNI_ASSIGN_OR_RETURN(Tensor gate, mat("ffn_gate.weight", Shape{full_ffn, d}));
    UNI_ASSIGN_OR_RETURN(Tensor up, mat("ffn_up.weight", Shape{full_ffn, d}));
    UNI_ASSIGN_OR_RETURN(Tensor down, mat("ffn_down.weight", Shape{d, full_ffn}));
    // MatFormer: the nested FFN is a prefix of the full one (views, no copy).
    w->mlp = {gate.slice_rows(0, ffn), up.slice_rows(0, ffn), down.slice_cols(0, ffn)};
    UNI_ASSIGN_OR_RETURN(Tensor router_norm, norm("altup_router_norm.weight", d));
    // The router scales its normed input by 1/D: folded into the norm weight here, one op less
    // per router call on a device (exact for a power-of-two D, else within an ulp of HF's order).
    w->router_norm = Tensor::empty(DType::kF32, Shape{d});
    for (int64_t i = 0; i < d; ++i)
        w->router_norm.data_as<float>()[i] =
            router_norm.data_as<float>()[i] * (1.0f / static_cast<float>(d));
    UNI_ASSIGN_OR_RETURN(w->router, mat("altup_router.weight", Shape{a, d}));
    UNI_ASSIGN_OR_RETURN(w->predict_coefs,
                         load.f32(blk(src_l, "altup_predict_coef.weight"), Shape{a * a, a}));
    UNI_ASSIGN_OR_RETURN(w->correct_coefs,
                         load.f32(blk(src_l, "altup_correct_coef.weight"), Shape{a, a}));
    UNI_ASSIGN_OR_RETURN(w->correct_scale,
                         load.f32(blk(src_l, "altup_correct_scale.weight"), Shape{1, d}));
    UNI_ASSIGN_OR_RETURN(w->laurel_left, mat("laurel_l.weight", Shape{r, d}));
    UNI_ASSIGN_OR_RETURN(w->laurel_right, mat("laurel_r.weight", Shape{d, r}));
    UNI_ASSIGN_OR_RETURN(w->laurel_norm, norm("laurel_post_norm.weight", d));
    UNI_ASSIGN_OR_RETURN(w->ple_gate, mat("inp_gate.weight", Shape{p, d}));
    UNI_ASSIGN_OR_RETURN(w->ple_proj, mat("proj.weight", Shape{d, p}));
    UNI_ASSIGN_OR_RETURN(w->ple_norm, norm("post_norm.weight", d));
    return ok_status();
}

Status Gemma3n::load(std::shared_ptr<ModelFiles> files, const LoadOptions& options) {
    files_ = std::move(files);
    const bool gguf = files_->is_gguf();
    names_ = gemma3n_names(gguf ? "" : hf_prefix(*files_));
    UNI_ASSIGN_OR_RETURN(cfg_, gguf ? parse_gguf(*files_) : parse_hf(*files_));
    UNI_RETURN_IF_ERROR(check_config(cfg_));
    UNI_ASSIGN_OR_RETURN(std::vector<int> src, kv_sources(cfg_));
    const Gemma3nConfig full = cfg_;  // before any MatFormer slicing
    const int64_t d = full.d_model, p = full.ple_dim, lf = full.n_layers;

    // The layers to build: all, or a MatFormer slice (original index, FFN width).
    MatFormerPlan plan;
    if (options.matformer) {
        int64_t block = 1;
        for (int l = 0; l < lf; ++l) {
            const std::string down = blk(l, "ffn_down.weight");
            UNI_ASSIGN_OR_RETURN(Tensor t,
                                 files_->tensor(gguf ? down : hf_tensor_name(names_, down)));
            block = std::max(block, dtype_block_size(t.dtype()));
        }
        UNI_ASSIGN_OR_RETURN(plan, plan_matformer(*options.matformer, full.ffn, src, block));
    } else {
        for (int l = 0; l < lf; ++l) plan.kept.push_back(l);
        plan.ffn = full.ffn;
    }
    std::vector<int> new_index(static_cast<size_t>(lf), -1);
    for (size_t i = 0; i < plan.kept.size(); ++i) new_index[plan.kept[i]] = static_cast<int>(i);

    freq_global_ = blocks::rope_frequencies(full.rope_base, static_cast<int>(full.head_dim));
    freq_local_ = blocks::rope_frequencies(full.base_local, static_cast<int>(full.head_dim));
    WeightLoader load(*files_, names_, info_);
    UNI_ASSIGN_OR_RETURN(embed_, load.weight("token_embd.weight", Shape{full.vocab, d}));
    UNI_ASSIGN_OR_RETURN(output_norm_, load.norm("output_norm.weight", d, 0.0f));
    // The per-layer table stays mmapped; forward() gathers the batch's rows only.
    UNI_ASSIGN_OR_RETURN(ple_table_,
                         load.weight("per_layer_token_embd.weight", Shape{full.ple_vocab, lf * p}));
    info_.host_gathered_bytes = ple_table_.nbytes();
    UNI_ASSIGN_OR_RETURN(ple_model_proj_,
                         load.weight("per_layer_model_proj.weight", Shape{lf * p, d}));
    UNI_ASSIGN_OR_RETURN(ple_proj_norm_, load.norm("per_layer_proj_norm.weight", p, 0.0f));
    UNI_ASSIGN_OR_RETURN(altup_proj_, load_stack(load, *files_, names_, "altup_proj.weight",
                                                 "altup_projections", full.n_altup - 1, d));
    UNI_ASSIGN_OR_RETURN(altup_unembed_,
                         load_stack(load, *files_, names_, "altup_unembd_proj.weight",
                                    "altup_unembed_projections", full.n_altup - 1, d));

    for (size_t i = 0; i < plan.kept.size(); ++i) {
        const int orig = plan.kept[i];
        const bool sliding = full.sliding[orig];
        Layer w;
        blocks::AttentionConfig& ac = w.attn_cfg;
        ac.n_heads = static_cast<int>(full.n_heads);
        ac.n_kv_heads = static_cast<int>(full.n_kv_heads);
        ac.head_dim = static_cast<int>(full.head_dim);
        ac.scale = 1.0f;  // pitfall 2: no 1/sqrt(head_dim); Q/K norms tame the scores
        ac.window = sliding ? full.window : 0;
        ac.qk_norm_eps = full.rms_eps;
        ac.v_norm = true;
        ac.kv_source = new_index[src[orig]];
        ac.rope = {0, ac.head_dim, ac.head_dim, ops::RopeMode::kNeox,
                   sliding ? freq_local_.data() : freq_global_.data()};
        w.sparsity_z = full.sparsity_z[orig];
        w.ple_block = orig;
        UNI_RETURN_IF_ERROR(load_layer(load, static_cast<int>(i), orig, plan.ffn[i], &w));
        const int64_t kv_width = full.n_kv_heads * full.head_dim;
        kv_.push_back(
            {kv_width, ac.window, ac.kv_source == static_cast<int>(i) ? -1 : ac.kv_source});
        layers_.push_back(std::move(w));
    }
    // Per-layer configuration after slicing.
    cfg_.n_layers = static_cast<int64_t>(plan.kept.size());
    cfg_.ffn = plan.ffn;
    cfg_.n_kv_shared = 0;
    for (const KvLayerSpec& k : kv_) cfg_.n_kv_shared += k.source >= 0;

    info_.architecture = "gemma3n";
    info_.source_format = gguf ? "gguf" : "safetensors";
    info_.path = files_->path();
    info_.n_layers = cfg_.n_layers;
    info_.d_model = d;
    info_.n_heads = full.n_heads;
    info_.n_kv_heads = full.n_kv_heads;
    info_.head_dim = full.head_dim;
    info_.d_ff = *std::max_element(plan.ffn.begin(), plan.ffn.end());
    info_.vocab = full.vocab;
    info_.context_length = full.context;
    info_.bos_token = full.bos;
    std::string pattern, sparse, ffn;
    for (size_t i = 0; i < layers_.size(); ++i) {
        pattern += layers_[i].attn_cfg.window > 0 ? 'S' : 'G';
        if (layers_[i].sparsity_z > 0) sparse += fmt::format("{}{}", sparse.empty() ? "" : ",", i);
    }
    const bool uniform =
        std::all_of(plan.ffn.begin(), plan.ffn.end(), [&](int64_t f) { return f == plan.ffn[0]; });
    for (int64_t f : plan.ffn) ffn += fmt::format("{}{}", ffn.empty() ? "" : ",", f);
    info_.hyper = {
        {"rms_norm_eps", fmt::format("{}", full.rms_eps)},
        {"sliding_window", fmt::format("{}", full.window)},
        {"layer_pattern", pattern + " (S sliding, G global)"},
        {"rope_base", fmt::format("global {}, local {}", full.rope_base, full.base_local)},
        {"kv_shared", fmt::format("last {} layers reuse earlier K/V", cfg_.n_kv_shared)},
        {"altup", fmt::format("{} streams, coef clip {}", full.n_altup, full.coef_clip)},
        {"laurel_rank", fmt::format("{}", full.laurel_rank)},
        {"per_layer_in", fmt::format("{} wide, vocab {}", p, full.ple_vocab)},
        {"sparse_ffn", sparse.empty() ? "none" : "layers " + sparse},
        {"ffn_widths", uniform ? fmt::format("{} every layer", plan.ffn[0]) : ffn},
        {"final_softcap", fmt::format("{}", full.final_softcap)}};
    if (options.matformer) {
        std::string kept;
        for (int l : plan.kept) kept += fmt::format("{}{}", kept.empty() ? "" : ",", l);
        info_.hyper.push_back({"matformer", fmt::format("{} slice: layers {} of {}",
                                                        options.matformer->name, kept, lf)});
    }
    return ok_status();
}

// tanh(router(RMSNorm(x) / D)) — the AltUp mixing weights per token (Gemma3nTextAltUp.
// compute_router_modalities; the norm weight carries the 1/D) — projected by `coef` (the
// predict or the correct coefficients). x [T, D] → [T, rows of coef].
Tensor Gemma3n::router_coefs(ExecContext& ctx, const Layer& w, const Tensor& x,
                             const Tensor& coef) {
    return ops::altup_coefs(ctx, x, w.router_norm, w.router, coef, cfg_.rms_eps);
}

// Mirrors Gemma3nTextDecoderLayer.forward. xs: the A streams [A·T, D]; ple: this layer's
// per-layer inputs [T, P].
Tensor Gemma3n::layer(ExecContext& ctx, const Layer& w, int l, const Tensor& xs, const Tensor& ple,
                      const blocks::BatchPlan& plan) {
    const float eps = cfg_.rms_eps;
    const int a_n = static_cast<int>(cfg_.n_altup);
    const int64_t t = xs.rows() / a_n;
    const float inv_sqrt2 = 1.0f / std::sqrt(2.0f);
    // (a) AltUp predict from the active stream's router weights.
    Tensor coefs = router_coefs(ctx, w, xs.slice_rows(0, t), w.predict_coefs);
    Tensor pred = ops::altup_predict(ctx, xs, coefs, a_n);  // [A·T, D]
    Tensor active = pred.slice_rows(0, t);                  // [T, D]
    // (b, c) input norm and LAuReL (low-rank residual on the normed input).
    Tensor h = ops::rms_norm(ctx, active, w.input_norm, eps);  // [T, D]
    Tensor lr = ops::linear(ctx, ops::linear(ctx, h, w.laurel_left), w.laurel_right);
    Tensor laurel = ops::rms_norm_add(ctx, lr, w.laurel_norm, eps, h);  // [T, D]
    // (d, e) attention, post-norm residual, merged with LAuReL.
    Tensor attn = blocks::self_attention(ctx, h, w.attn, w.attn_cfg, l, plan);  // [T, D]
    Tensor gated = ops::rms_norm_add(ctx, attn, w.post_attn_norm, eps, active);
    Tensor x = ops::scale(ctx, ops::add(ctx, gated, laurel), inv_sqrt2);  // [T, D]
    // (f, g) MLP; the first layers keep only the gate's top ~5% (gaussian top-k) before GELU.
    Tensor hf = ops::rms_norm(ctx, x, w.pre_ffn_norm, eps);
    Tensor g = ops::linear(ctx, hf, w.mlp.gate);  // [T, F]
    if (w.sparsity_z > 0) g = ops::gaussian_topk(ctx, g, w.sparsity_z);
    Tensor m = ops::linear(ctx, ops::gelu_tanh_mul(ctx, g, ops::linear(ctx, hf, w.mlp.up)),
                           w.mlp.down);                             // [T, D]
    Tensor y = ops::rms_norm_add(ctx, m, w.post_ffn_norm, eps, x);  // [T, D]
    // (h) AltUp correct: every stream moves by its weight times the active stream's innovation.
    Tensor corr = ops::altup_correct(ctx, pred, y, router_coefs(ctx, w, y, w.correct_coefs),
                                     a_n);  // [A·T, D]
    // (i, j) Per-layer input: gate the corrected active stream, scale by this layer's PLE row,
    // project back and add to the other streams; the active stream passes through.
    Tensor active_corr = corr.slice_rows(0, t);
    Tensor z = cfg_.correct_scale ? ops::mul(ctx, active_corr, w.correct_scale) : active_corr;
    z = ops::gelu_tanh_mul(ctx, ops::linear(ctx, z, w.ple_gate), ple);         // [T, P]
    z = ops::rms_norm(ctx, ops::linear(ctx, z, w.ple_proj), w.ple_norm, eps);  // [T, D]
    // One add for all A−1 other streams (z repeats every T rows).
    Tensor next = a_n == 1
                      ? active_corr
                      : ops::concat_rows(
                            ctx, std::vector<Tensor>{
                                     active_corr, ops::add(ctx, corr.slice_rows(t, a_n * t), z)});
    // [A·T, D]
    ctx.name_layer(l, "out", next);
    return next;
}

// Gemma3nTextModel.get_per_layer_inputs + project_per_layer_inputs: for every token one
// P-wide input per layer (all Lf layers of the file; a MatFormer slice reads its own blocks).
// e: the scaled embeddings [T, D] → [T, Lf·P].
Tensor Gemma3n::per_layer_inputs(ExecContext& ctx, const Tensor& e, const blocks::BatchPlan& plan) {
    const int64_t t = e.rows(), width = ple_model_proj_.rows(), p = cfg_.ple_dim;
    // Ids outside the per-layer vocabulary (multimodal tokens) read row 0 (HF).
    std::vector<int32_t> ids(plan.tokens);
    for (int32_t& id : ids)
        if (id >= cfg_.ple_vocab) id = 0;
    Tensor tok = ops::embedding(ctx, ple_table_, ids, std::sqrt(static_cast<float>(p)));
    Tensor proj = ops::scale(ctx, ops::linear(ctx, e, ple_model_proj_),
                             1.0f / std::sqrt(static_cast<float>(cfg_.d_model)));  // [T, Lf·P]
    proj = ops::rms_norm(ctx, proj.reshape(Shape{t * (width / p), p}), ple_proj_norm_, cfg_.rms_eps)
               .reshape(Shape{t, width});
    return ops::scale(ctx, ops::add(ctx, proj, tok), 1.0f / std::sqrt(2.0f));  // [T, Lf·P]
}

// Mirrors Gemma3nForCausalLM.forward.
Result<Tensor> Gemma3n::forward(ExecContext& ctx, std::span<const SequenceChunk> batch) {
    ctx.clear_error();
    UNI_ASSIGN_OR_RETURN(blocks::BatchPlan plan, blocks::plan_batch(batch));
    for (int32_t id : plan.tokens)
        if (id < 0 || id >= cfg_.vocab)
            return invalid_argument(
                fmt::format("token id {} is outside the vocabulary (0…{})", id, cfg_.vocab - 1));
    const int a_n = static_cast<int>(cfg_.n_altup), p = static_cast<int>(cfg_.ple_dim);
    const int64_t t = static_cast<int64_t>(plan.tokens.size());
    // sqrt(d_model) in fp32, as in an fp32 HF run (pitfall 11).
    Tensor e = ops::embedding(ctx, embed_, plan.tokens,
                              std::sqrt(static_cast<float>(cfg_.d_model)));  // [T, D]
    Tensor ple = per_layer_inputs(ctx, e, plan);                             // [T, Lf·P]
    // AltUp streams: the embedding and A−1 projections of it at the embedding's magnitude.
    std::vector<Tensor> streams{e};
    for (int a = 1; a < a_n; ++a)
        streams.push_back(
            ops::match_magnitude(ctx, ops::linear(ctx, e, altup_proj_[a - 1]), e, 1e-5f));
    Tensor xs = a_n == 1 ? e : ops::concat_rows(ctx, streams);  // [A·T, D]
    for (size_t l = 0; l < layers_.size(); ++l) {
        const int64_t b = layers_[l].ple_block * p;
        xs = layer(ctx, layers_[l], static_cast<int>(l), xs, ple.slice_cols(b, b + p), plan);
    }
    // Only the rows that need logits go on; the stream merge is per token.
    std::vector<Tensor> outs;
    for (int a = 0; a < a_n; ++a) {
        Tensor s = ops::gather_rows(ctx, xs.slice_rows(a * t, (a + 1) * t), plan.logit_rows);
        if (a > 0)
            s = ops::match_magnitude(ctx, ops::linear(ctx, s, altup_unembed_[a - 1]), outs[0],
                                     1e-5f);
        outs.push_back(s);  // [R, D]
    }
    Tensor h = outs[0];
    for (int a = 1; a < a_n; ++a) h = ops::add(ctx, h, outs[a]);
    h = ops::scale(ctx, h, 1.0f / static_cast<float>(a_n));  // mean of the streams
    h = ops::rms_norm(ctx, h, output_norm_, cfg_.rms_eps);   // [R, D]
    Tensor logits = ops::linear(ctx, h, embed_);             // [R, V]
    if (cfg_.final_softcap > 0) logits = ops::softcap(ctx, logits, cfg_.final_softcap);
    if (ctx.failed()) return ctx.status();
    return logits;
}

Status export_gemma3n(const ModelFiles& f, io::GgufWriter& w) {
    if (f.is_gguf()) return invalid_argument("the input is already GGUF");
    UNI_ASSIGN_OR_RETURN(Gemma3nConfig c, parse_hf(f));
    UNI_RETURN_IF_ERROR(check_config(c));
    const NameTable names = gemma3n_names(hf_prefix(f));
    write_decoder_keys(w, c);
    const auto key = [](const char* k) { return std::string("gemma3n.") + k; };
    w.set_u32(key("attention.sliding_window"), static_cast<uint32_t>(c.window));
    w.set_f32(key("rope.freq_base_swa"), static_cast<float>(c.base_local));
    w.set_f32(key("final_logit_softcapping"), c.final_softcap);
    w.set_u32(key("altup.active_idx"), 0);
    w.set_u32(key("altup.num_inputs"), static_cast<uint32_t>(c.n_altup));
    w.set_f32(key("altup.coef_clip"), c.coef_clip);
    w.set_u32(key("embedding_length_per_layer_input"), static_cast<uint32_t>(c.ple_dim));
    w.set_u32(key("attention.shared_kv_layers"), static_cast<uint32_t>(c.n_kv_shared));
    std::vector<float> z;
    for (float v : c.sparsity_z) z.push_back(v > 0 ? v : -INFINITY);  // as llama.cpp writes it
    w.set_array(key("activation_sparsity_scale"), z);
    w.set_array(key("attention.sliding_window_pattern"), c.sliding);
    // The A−1 AltUp matrices are stacked into one [A−1, D, D] tensor, as llama.cpp does.
    for (const auto& [gguf_name, stem] :
         {std::pair<const char*, const char*>{"altup_proj.weight", "altup_projections"},
          {"altup_unembd_proj.weight", "altup_unembed_projections"}}) {
        std::vector<Tensor> parts;
        for (int64_t a = 0; a + 1 < c.n_altup; ++a) {
            UNI_ASSIGN_OR_RETURN(
                Tensor t, f.tensor(names.hf_prefix + stem + "." + std::to_string(a) + ".weight"));
            parts.push_back(t);
        }
        if (parts.empty()) continue;
        Tensor stack = Tensor::empty(parts[0].dtype(), Shape{c.n_altup - 1, c.d_model, c.d_model});
        for (size_t a = 0; a < parts.size(); ++a) {
            if (parts[a].shape() != Shape{c.d_model, c.d_model} ||
                parts[a].dtype() != stack.dtype())
                return corrupt(fmt::format("{}.{} has {}, expected [{}, {}] like the others", stem,
                                           a, parts[a].describe(), c.d_model, c.d_model));
            std::memcpy(static_cast<std::byte*>(stack.data()) + a * parts[a].nbytes(),
                        parts[a].data(), parts[a].nbytes());
        }
        UNI_RETURN_IF_ERROR(w.add_tensor(gguf_name, stack));
    }
    // Norms and the small AltUp/LAuReL parameters stay as stored (no norm shift in Gemma 3n).
    // Newer transformers no longer store k/v/k_norm for KV-sharing layers, but llama.cpp's
    // loader requires them (and never reads them): those get zeros.
    UNI_ASSIGN_OR_RETURN(std::vector<int> src, kv_sources(c));
    const int64_t kv_width = c.n_kv_heads * c.head_dim;
    const auto fixup = [&](const std::string& g, Tensor t) -> Result<Tensor> {
        if (t.defined()) return t;
        for (int l = 0; l < c.n_layers; ++l) {
            if (src[l] == l) continue;
            for (const auto& [suffix, rows, cols] :
                 {std::tuple<const char*, int64_t, int64_t>{"attn_k.weight", kv_width, c.d_model},
                  {"attn_v.weight", kv_width, c.d_model},
                  {"attn_k_norm.weight", 1, c.head_dim}}) {
                if (g != blk(l, suffix)) continue;
                Tensor z = rows == 1 ? Tensor::empty(DType::kF32, Shape{cols})
                                     : Tensor::empty(DType::kF32, Shape{rows, cols});
                std::memset(z.data(), 0, z.nbytes());
                return z;
            }
        }
        return t;
    };
    return export_tensors(f, names, c.n_layers, fixup, w);
}

}  // namespace

extern const ArchitectureEntry kGemma3nArchitecture;
const ArchitectureEntry kGemma3nArchitecture = {
    "gemma3n", {"gemma3n", "gemma3n_text"}, load_architecture<Gemma3n>, export_gemma3n};

}  // namespace unicorn
