#include "models/common/gguf_decoder.h"

#include <fmt/format.h>

#include <algorithm>

#include "io/gguf_writer.h"
#include "io/hf_config.h"

namespace unicorn {

void write_decoder_keys(io::GgufWriter& w, const DecoderKeys& k) {
    const auto u32 = [](int64_t v) { return static_cast<uint32_t>(v); };
    const std::string p = k.arch + ".";
    w.set_string("general.architecture", k.arch);
    w.set_u32(p + "embedding_length", u32(k.d_model));
    w.set_u32(p + "block_count", u32(k.n_layers));
    w.set_u32(p + "attention.head_count", u32(k.n_heads));
    w.set_u32(p + "attention.head_count_kv", u32(k.n_kv_heads));
    w.set_u32(p + "attention.key_length", u32(k.head_dim));
    w.set_u32(p + "attention.value_length", u32(k.head_dim));
    if (k.d_ff_per_layer.empty()) {
        w.set_u32(p + "feed_forward_length", u32(k.d_ff));
    } else {
        std::vector<uint32_t> ff;
        for (int64_t f : k.d_ff_per_layer) ff.push_back(u32(f));
        w.set_array(p + "feed_forward_length", ff);
    }
    w.set_u32(p + "context_length", u32(k.context));
    w.set_f32(p + "attention.layer_norm_rms_epsilon", k.rms_eps);
    w.set_f32(p + "rope.freq_base", static_cast<float>(k.rope_base));
    if (k.bos >= 0) w.set_u32("tokenizer.ggml.bos_token_id", u32(k.bos));
}

Result<DecoderKeys> read_decoder_keys(const ModelFiles& f, const DecoderKeys& defaults) {
    DecoderKeys k = defaults;
    const std::string p = k.arch + ".";
    UNI_ASSIGN_OR_RETURN(k.d_model, f.gguf_int_required(p + "embedding_length"));
    UNI_ASSIGN_OR_RETURN(k.n_layers, f.gguf_int_required(p + "block_count"));
    UNI_ASSIGN_OR_RETURN(k.n_heads, f.gguf_int_required(p + "attention.head_count"));
    UNI_ASSIGN_OR_RETURN(auto ff, f.gguf_numbers(p + "feed_forward_length"));
    if (!ff || ff->empty())
        return corrupt("required key '" + p + "feed_forward_length' is missing");
    k.d_ff = 0;
    for (double v : *ff) k.d_ff = std::max(k.d_ff, static_cast<int64_t>(v));
    if (ff->size() > 1) {
        if (static_cast<int64_t>(ff->size()) != k.n_layers)
            return corrupt(fmt::format("{}feed_forward_length has {} entries for {} layers", p,
                                       ff->size(), k.n_layers));
        for (double v : *ff) k.d_ff_per_layer.push_back(static_cast<int64_t>(v));
    }
    if (k.n_heads <= 0) return corrupt(p + "attention.head_count must be positive");
    UNI_ASSIGN_OR_RETURN(auto kv, f.gguf_int(p + "attention.head_count_kv"));
    k.n_kv_heads = kv.value_or(k.n_heads);
    UNI_ASSIGN_OR_RETURN(auto key_len, f.gguf_int(p + "attention.key_length"));
    k.head_dim =
        key_len.value_or(defaults.head_dim > 0 ? defaults.head_dim : k.d_model / k.n_heads);
    UNI_ASSIGN_OR_RETURN(auto eps, f.gguf_float(p + "attention.layer_norm_rms_epsilon"));
    k.rms_eps = static_cast<float>(eps.value_or(defaults.rms_eps));
    UNI_ASSIGN_OR_RETURN(auto base, f.gguf_float(p + "rope.freq_base"));
    k.rope_base = base.value_or(defaults.rope_base);
    UNI_ASSIGN_OR_RETURN(auto ctx, f.gguf_int(p + "context_length"));
    k.context = ctx.value_or(0);
    UNI_ASSIGN_OR_RETURN(auto bos, f.gguf_int("tokenizer.ggml.bos_token_id"));
    k.bos = static_cast<int32_t>(bos.value_or(defaults.bos));
    return k;
}

Result<DecoderKeys> read_hf_decoder_keys(const io::HfConfig& h, const DecoderKeys& defaults) {
    DecoderKeys k = defaults;
    UNI_ASSIGN_OR_RETURN(k.d_model, h.get_int("hidden_size"));
    UNI_ASSIGN_OR_RETURN(k.n_layers, h.get_int("num_hidden_layers"));
    UNI_ASSIGN_OR_RETURN(k.n_heads, h.get_int("num_attention_heads"));
    if (k.n_heads <= 0) return corrupt("config.json: num_attention_heads must be positive");
    UNI_ASSIGN_OR_RETURN(k.n_kv_heads, h.get_int_or("num_key_value_heads", k.n_heads));
    UNI_ASSIGN_OR_RETURN(k.head_dim,
                         h.get_int_or("head_dim", defaults.head_dim > 0 ? defaults.head_dim
                                                                        : k.d_model / k.n_heads));
    UNI_ASSIGN_OR_RETURN(double eps, h.get_double_or("rms_norm_eps", defaults.rms_eps));
    k.rms_eps = static_cast<float>(eps);
    UNI_ASSIGN_OR_RETURN(k.context, h.get_int_or("max_position_embeddings", 0));
    auto bos = h.get_int_list("bos_token_id");  // absent, null or a list: no single BOS
    if (bos.ok() && bos->size() == 1) k.bos = static_cast<int32_t>((*bos)[0]);
    return k;
}

Result<std::vector<bool>> hf_sliding_layers(const io::HfConfig& h, int64_t n_layers,
                                            int64_t default_period) {
    std::vector<bool> sliding;
    if (h.has("layer_types")) {
        UNI_ASSIGN_OR_RETURN(std::vector<std::string> types, h.get_string_list("layer_types"));
        if (static_cast<int64_t>(types.size()) != n_layers)
            return corrupt(fmt::format("config.json: layer_types has {} entries for {} layers",
                                       types.size(), n_layers));
        for (const auto& t : types) sliding.push_back(t == "sliding_attention");
        return sliding;
    }
    UNI_ASSIGN_OR_RETURN(int64_t period, h.get_int_or("sliding_window_pattern", default_period));
    for (int64_t l = 0; l < n_layers; ++l) sliding.push_back(period <= 0 || (l + 1) % period != 0);
    return sliding;
}

Result<std::vector<bool>> gguf_sliding_layers(const ModelFiles& f, const std::string& arch,
                                              int64_t n_layers, int64_t default_period) {
    const std::string key = arch + ".attention.sliding_window_pattern";
    UNI_ASSIGN_OR_RETURN(auto pattern, f.gguf_bool_array(key));
    if (pattern) {
        if (static_cast<int64_t>(pattern->size()) != n_layers)
            return corrupt(
                fmt::format("{} has {} entries for {} layers", key, pattern->size(), n_layers));
        return *pattern;
    }
    std::vector<bool> sliding;
    for (int64_t l = 0; l < n_layers; ++l) sliding.push_back((l + 1) % default_period != 0);
    return sliding;
}

Status export_tensors(const ModelFiles& f, const NameTable& names, int64_t n_layers,
                      const ExportFixup& fixup, io::GgufWriter& w) {
    const auto copy = [&](const std::string& gguf_name) -> Status {
        const std::string hf_name = hf_tensor_name(names, gguf_name);
        Tensor t;
        if (f.has_tensor(hf_name) || !fixup) {
            UNI_ASSIGN_OR_RETURN(t, f.tensor(hf_name));
        }
        if (fixup) {
            UNI_ASSIGN_OR_RETURN(t, fixup(gguf_name, t));
        }
        if (!t.defined())
            return not_found(fmt::format("tensor '{}' not found in {}", hf_name, f.path()));
        return w.add_tensor(gguf_name, t);
    };
    for (const auto& [gguf_name, hf] : names.globals) {
        if (f.has_tensor(hf_tensor_name(names, gguf_name))) UNI_RETURN_IF_ERROR(copy(gguf_name));
    }
    for (int l = 0; l < n_layers; ++l) {
        for (const auto& [suffix, hf] : names.per_layer)
            UNI_RETURN_IF_ERROR(copy(blk(l, suffix.c_str())));
    }
    return ok_status();
}

}  // namespace unicorn
