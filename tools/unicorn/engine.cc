#include "engine.h"

#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>

#include "backend/registry.h"
#include "core/cache_dir.h"
#include "io/gguf.h"
#include "models/registry.h"

namespace unicorn::cli {

std::string default_model_path() { return cached_model_path("gemma-3-270m-Q4_K_M.gguf"); }

Result<std::unique_ptr<Engine>> Engine::open(const std::string& path_in, int threads,
                                             const std::string& device, const LoadOptions& load) {
    std::string path = path_in;
    if (path.empty()) {
        path = default_model_path();
        if (!std::filesystem::exists(path))
            return not_found(
                fmt::format("no model given and the default model is not at {} (run "
                            "scripts/fetch-models, or pass -m)",
                            path));
    }
    auto e = std::make_unique<Engine>();
    UNI_ASSIGN_OR_RETURN(e->model, load_model(path, load));
    if (std::filesystem::is_directory(path)) {
        UNI_ASSIGN_OR_RETURN(e->tokenizer, text::Tokenizer::from_hf_json(path + "/tokenizer.json"));
    } else {
        UNI_ASSIGN_OR_RETURN(io::GgufFile g, io::GgufFile::open(path));
        auto tok = text::Tokenizer::from_gguf(g);
        if (!tok.ok()) return tok.status().with_context(path);
        e->tokenizer = std::move(*tok);
    }
    e->chat_template = e->tokenizer->chat_template();
    if (e->chat_template.empty()) {
        // No template in the file (some GGUF exports drop it): recognise the family by its
        // turn tokens, which is what the template would have used.
        if (e->tokenizer->find_token("<start_of_turn>") >= 0)
            e->chat_template = "<start_of_turn>";
        else if (e->tokenizer->find_token("<|im_start|>") >= 0)
            e->chat_template = "<|im_start|>";
    }
    e->pool = std::make_unique<ThreadPool>(threads);
    UNI_ASSIGN_OR_RETURN(e->backend, create_backend(device, *e->pool));
    UNI_ASSIGN_OR_RETURN(e->cpu, create_backend("cpu", *e->pool));
    e->ctx = std::make_unique<ExecContext>(*e->backend, *e->cpu);
    return e;
}

Result<text::ChatFormat> Engine::chat_format(const std::string& forced) const {
    const std::string bos_text(tokenizer->bos() >= 0 ? tokenizer->token_text(tokenizer->bos())
                                                     : "");
    return forced.empty() ? text::detect_chat_format(chat_template, bos_text)
                          : text::chat_format_by_name(forced, bos_text);
}

}  // namespace unicorn::cli
