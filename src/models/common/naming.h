// GGUF ⇄ Hugging Face tensor names. Model code asks for GGUF names ("blk.3.attn_q.weight");
// for HF directories they are translated through an architecture's table of per-layer
// suffixes and globals.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace unicorn {

struct NameTable {
    std::string hf_prefix;  // "model." or "model.language_model."
    // GGUF global name → HF name without prefix ("token_embd.weight" → "embed_tokens.weight").
    std::vector<std::pair<std::string, std::string>> globals;
    // GGUF per-layer suffix → HF per-layer suffix ("attn_q.weight" → "self_attn.q_proj.weight").
    std::vector<std::pair<std::string, std::string>> per_layer;
};

// "blk.3.attn_q.weight" → "model.layers.3.self_attn.q_proj.weight"; names not in the table
// map to themselves (and then fail to load with a clear "not found").
std::string hf_tensor_name(const NameTable& table, const std::string& gguf_name);

// The per-layer tensors every Gemma decoder has (Gemma 3 and Gemma 3n): sandwich norms,
// attention with per-head Q/K norms, gated MLP. GGUF suffix → HF suffix.
std::vector<std::pair<std::string, std::string>> gemma_layer_names();

inline std::string blk(int layer, const char* suffix) {
    return "blk." + std::to_string(layer) + "." + suffix;
}

}  // namespace unicorn
