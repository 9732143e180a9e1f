// What the text-facing subcommands (run, chat) share: a loaded model with its tokenizer,
// backend and execution context, and the default-model lookup.
#pragma once

#include <memory>
#include <string>

#include "backend/backend.h"
#include "core/thread_pool.h"
#include "exec/exec_context.h"
#include "models/model.h"
#include "models/registry.h"
#include "text/chat_template.h"
#include "text/tokenizer.h"

namespace unicorn::cli {

// ${UNICORN_CACHE:-~/.cache/unicorn}/models/gemma-3-270m-Q4_K_M.gguf (scripts/fetch-models).
std::string default_model_path();

struct Engine {
    std::unique_ptr<ThreadPool> pool;
    std::unique_ptr<Backend> backend, cpu;
    std::unique_ptr<ExecContext> ctx;
    std::unique_ptr<Model> model;
    std::unique_ptr<text::Tokenizer> tokenizer;
    std::string chat_template;  // from the model's metadata, "" when absent

    // How run --chat, chat and serve render conversations — the one place that chooses:
    // --chat-format `forced` ("jinja", "gemma", "chatml"), else the model's own template through
    // the Jinja interpreter, else a built-in family (named by the template's text, the vocabulary's
    // turn tokens, or the architecture; ChatML otherwise, as llama.cpp does). Logs the choice.
    Result<text::ChatTemplate> chat_format(const std::string& forced) const;

    // path "" → default model. Errors name the file and what is wrong with it.
    static Result<std::unique_ptr<Engine>> open(const std::string& path, int threads,
                                                const std::string& device,
                                                const LoadOptions& load = {});
};

}  // namespace unicorn::cli
