#include "models/common/naming.h"

namespace unicorn {

std::string hf_tensor_name(const NameTable& table, const std::string& gguf_name) {
    for (const auto& [g, h] : table.globals) {
        if (g == gguf_name) return h.rfind("lm_head", 0) == 0 ? h : table.hf_prefix + h;
    }
    if (gguf_name.rfind("blk.", 0) == 0) {
        const size_t dot = gguf_name.find('.', 4);
        if (dot != std::string::npos) {
            const std::string layer = gguf_name.substr(4, dot - 4);
            const std::string suffix = gguf_name.substr(dot + 1);
            for (const auto& [g, h] : table.per_layer) {
                if (g == suffix) return table.hf_prefix + "layers." + layer + "." + h;
            }
        }
    }
    return gguf_name;
}

std::vector<std::pair<std::string, std::string>> gemma_layer_names() {
    return {{"attn_norm.weight", "input_layernorm.weight"},
            {"attn_q.weight", "self_attn.q_proj.weight"},
            {"attn_k.weight", "self_attn.k_proj.weight"},
            {"attn_v.weight", "self_attn.v_proj.weight"},
            {"attn_output.weight", "self_attn.o_proj.weight"},
            {"attn_q_norm.weight", "self_attn.q_norm.weight"},
            {"attn_k_norm.weight", "self_attn.k_norm.weight"},
            {"post_attention_norm.weight", "post_attention_layernorm.weight"},
            {"ffn_norm.weight", "pre_feedforward_layernorm.weight"},
            {"ffn_gate.weight", "mlp.gate_proj.weight"},
            {"ffn_up.weight", "mlp.up_proj.weight"},
            {"ffn_down.weight", "mlp.down_proj.weight"},
            {"post_ffw_norm.weight", "post_feedforward_layernorm.weight"}};
}

}  // namespace unicorn
