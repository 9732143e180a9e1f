// unicorn convert: HF directory → GGUF with llama.cpp's names, metadata and fix-ups.
#include <memory>

#include "commands.h"
#include "models/registry.h"

namespace unicorn::cli {

Runner add_convert(CLI::App& app) {
    auto in = std::make_shared<std::string>();
    auto out = std::make_shared<std::string>();
    app.add_option("input", *in, "Hugging Face model directory (config.json + safetensors)")
        ->required();
    app.add_option("output", *out,
                   "Output .gguf path (written to a temporary name, renamed on success)")
        ->required();
    return [in, out] {
        Status s = convert_to_gguf(*in, *out);
        if (!s.ok()) return fail(s.to_string());
        return 0;
    };
}

}  // namespace unicorn::cli
