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

}  // namespace unicorn
