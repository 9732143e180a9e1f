// HfConfig: a Hugging Face `config.json`, read with typed getters.
//
// Multimodal checkpoints (Gemma 3 4B+, Gemma 3n) nest the language model's settings under
// `text_config`; text-only ones keep them at the top level. Every getter looks in
// `text_config` first (when it exists) and then at the top level, so model code asks for
// "hidden_size" without caring which kind of checkpoint it has. A key whose value is JSON null
// counts as absent (HF writes `"final_logit_softcapping": null` for "off").
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace unicorn::io {

// RoPE settings of one kind of layer, in transformers' vocabulary (rope_type "default",
// "linear", "llama3", "yarn", "dynamic", ...). Which types a model supports is the model's
// business; this only reads them.
struct RopeParams {
    double theta = 10000.0;
    std::string type = "default";
    double factor = 1.0;
    double low_freq_factor = 1.0;                  // llama3
    double high_freq_factor = 4.0;                 // llama3
    int64_t original_max_position_embeddings = 0;  // llama3 / yarn; 0 when absent
};

class HfConfig {
  public:
    // `path` is a checkpoint folder (reads its config.json) or a JSON file.
    static Result<HfConfig> load(const std::string& path);
    // `source` names the text in error messages.
    static Result<HfConfig> parse(std::string_view json_text,
                                  const std::string& source = "config.json");

    const std::string& source() const;
    bool has_text_config() const;

    // Present and not null, in text_config or at the top level.
    bool has(const std::string& key) const;

    // not_found when absent or null; corrupt when the value has the wrong JSON type
    // ("config.json: 'hidden_size' must be an integer, found string \"64\""); out_of_range
    // for an integer beyond int64. Integers accept integral floats (1000000.0).
    Result<int64_t> get_int(const std::string& key) const;
    Result<double> get_double(const std::string& key) const;  // any JSON number
    Result<std::string> get_string(const std::string& key) const;
    Result<bool> get_bool(const std::string& key) const;
    // A list of integers; a single integer gives a one-element list (eos_token_id is written
    // both ways).
    Result<std::vector<int64_t>> get_int_list(const std::string& key) const;
    // Per-layer values: a single integer gives n copies; a list must have exactly n entries
    // (Gemma 3n's intermediate_size is a list, other models' a scalar).
    Result<std::vector<int64_t>> get_int_list(const std::string& key, size_t n) const;
    Result<std::vector<double>> get_double_list(const std::string& key) const;
    Result<std::vector<std::string>> get_string_list(const std::string& key) const;

    // Absent or null gives `def`; a present value of the wrong type is still an error.
    Result<int64_t> get_int_or(const std::string& key, int64_t def) const;
    Result<double> get_double_or(const std::string& key, double def) const;
    Result<std::string> get_string_or(const std::string& key, const std::string& def) const;
    Result<bool> get_bool_or(const std::string& key, bool def) const;

    // Top-level identity of the checkpoint (not text_config's): "Gemma3ForCausalLM" and
    // "gemma3_text"; empty when absent or malformed.
    std::vector<std::string> architectures() const;
    std::string model_type() const;

    // RoPE parameters for a kind of layer: "full_attention", "sliding_attention", or "" for
    // models with one kind. Understands both forms:
    //  - transformers >= 5 `rope_parameters`: one dict ({"rope_theta", "rope_type", "factor",
    //    ...}) for every layer, or a dict keyed by layer type ({"full_attention": {...},
    //    "sliding_attention": {...}}; "" picks "full_attention");
    //  - older keys: `rope_theta` + `rope_scaling` ({"rope_type" or "type", "factor",
    //    llama3's low/high_freq_factor and original_max_position_embeddings}) for full
    //    layers, and `rope_local_base_freq` (unscaled) for sliding layers.
    // nullopt when the config says nothing for that layer type (no rope_theta; no
    // rope_local_base_freq for sliding layers; no entry in a keyed dict), because the right
    // default is model-specific. Errors for malformed values.
    Result<std::optional<RopeParams>> find_rope_params(const std::string& layer_type) const;
    // As find_rope_params, with not_found instead of nullopt.
    Result<RopeParams> rope_params(const std::string& layer_type) const;

  private:
    HfConfig() = default;
    struct Impl;
    std::shared_ptr<const Impl> impl_;
};

}  // namespace unicorn::io
