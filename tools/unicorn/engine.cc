#include "engine.h"

#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>

#include "backend/registry.h"
#include "core/cache_dir.h"
#include "core/log.h"
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
    e->pool = std::make_unique<ThreadPool>(threads);
    UNI_ASSIGN_OR_RETURN(e->backend, create_backend(device, *e->pool));
    UNI_ASSIGN_OR_RETURN(e->cpu, create_backend("cpu", *e->pool));
    e->ctx = std::make_unique<ExecContext>(*e->backend, *e->cpu);
    return e;
}

Result<text::ChatTemplate> Engine::chat_format(const std::string& forced) const {
    auto text_of = [&](int32_t id) {
        return std::string(id >= 0 ? tokenizer->token_text(id) : "");
    };
    text::ChatTemplateSource src;
    src.template_text = chat_template;
    src.bos_token = text_of(tokenizer->bos());
    src.eos_token = text_of(tokenizer->eos());
    // Without a usable template, the family the vocabulary's turn tokens belong to (what the
    // template would have used; some GGUF exports drop it), else the architecture's.
    if (tokenizer->find_token("<start_of_turn>") >= 0) {
        src.fallback_family = "gemma";
        src.fallback_why = "the vocabulary has <start_of_turn>";
    } else if (tokenizer->find_token("<|im_start|>") >= 0) {
        src.fallback_family = "chatml";
        src.fallback_why = "the vocabulary has <|im_start|>";
    } else if (model->info().architecture.rfind("gemma", 0) == 0) {
        src.fallback_family = "gemma";
        src.fallback_why = "a Gemma architecture";
    } else {
        src.fallback_family = "chatml";
        src.fallback_why = "the default when nothing names a family, as in llama.cpp";
    }
    auto t = text::ChatTemplate::choose(src, forced);
    if (t.ok()) {
        // A fallback is worth a warning (replies may be worse); the normal case is not.
        if (t->uses_jinja() || !forced.empty())
            log_info("{}", t->reason());
        else
            log_warn("{}", t->reason());
    }
    return t;
}

}  // namespace unicorn::cli
