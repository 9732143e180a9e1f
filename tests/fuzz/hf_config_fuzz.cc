// Fuzz target for config.json parsing: every input is parsed as a config; every key present
// (top level and text_config) is read through every getter, and RoPE parameters are asked for
// every layer type. See gguf_fuzz.cc for how it is built.
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "core/log.h"
#include "io/hf_config.h"

namespace {

void require(bool cond) {
    if (!cond) std::abort();
}

void exercise_key(const unicorn::io::HfConfig& c, const std::string& key) {
    (void)c.has(key);
    (void)c.get_int(key);
    (void)c.get_double(key);
    (void)c.get_string(key);
    (void)c.get_bool(key);
    (void)c.get_int_list(key);
    (void)c.get_int_list(key, 4);
    (void)c.get_double_list(key);
    (void)c.get_string_list(key);
    (void)c.get_int_or(key, 1);
    (void)c.get_double_or(key, 1.0);
    (void)c.get_string_or(key, "x");
    (void)c.get_bool_or(key, false);
}

}  // namespace

// Called once by libFuzzer (and smoke_main.cc) before any input. Warnings such as "tensor is
// misaligned, copying it" are expected on fuzzed input and would drown the output.
extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
    unicorn::set_log_level(unicorn::LogLevel::kError);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    auto c = unicorn::io::HfConfig::parse(text);
    if (!c.ok()) {
        require(!c.status().message().empty());
        return 0;
    }
    (void)c->architectures();
    (void)c->model_type();
    (void)c->has_text_config();
    for (const char* layer : {"", "full_attention", "sliding_attention", "chunked_attention"}) {
        auto p = c->find_rope_params(layer);
        if (p.ok() && p->has_value()) require((*p)->theta > 0 && (*p)->factor > 0);
        (void)c->rope_params(layer);
    }
    // The keys actually present, found with a second, independent parse (the config parsed,
    // so this one does too).
    const auto j = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
    require(j.is_object());
    std::vector<std::string> keys = {"hidden_size", "rope_theta", "layer_types", "text_config"};
    for (const auto& [k, v] : j.items()) keys.push_back(k);
    auto text_config = j.find("text_config");
    if (text_config != j.end() && text_config->is_object()) {
        for (const auto& [k, v] : text_config->items()) keys.push_back(k);
    }
    for (const std::string& key : keys) exercise_key(*c, key);
    return 0;
}

std::vector<std::vector<uint8_t>> unicorn_fuzz_seeds() {
    const char* texts[] = {
        R"({"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 64,
            "rms_norm_eps": 1e-05, "tie_word_embeddings": false, "eos_token_id": [1, 2],
            "final_logit_softcapping": null, "intermediate_size": [96, 96, 96, 96], "rope_theta": 500000.0,
            "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
            "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}})",
        R"({"model_type": "gemma3", "text_config": {"hidden_size": 2560, "rope_theta": 1000000.0,
            "rope_local_base_freq": 10000.0, "rope_scaling": {"type": "linear", "factor": 8.0},
            "layer_types": ["sliding_attention", "full_attention"]}, "vocab_size": 262208})",
        R"({"rope_parameters": {"full_attention": {"rope_theta": 1000000.0, "rope_type": "linear",
            "factor": 8.0}, "sliding_attention": {"rope_theta": 10000.0, "rope_type": "default"}}})",
        R"({"rope_parameters": {"rope_theta": 10000.0, "rope_type": "default"}, "num_hidden_layers": 2})",
    };
    std::vector<std::vector<uint8_t>> seeds;
    for (const char* t : texts) seeds.emplace_back(t, t + std::string_view(t).size());
    return seeds;
}
