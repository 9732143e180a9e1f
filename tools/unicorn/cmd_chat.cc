// unicorn chat: an interactive conversation using the model's chat template. Each turn
// re-renders the whole conversation and feeds only the tokens the KV cache does not hold yet.
#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <memory>

#include "commands.h"
#include "engine.h"
#include "model_flags.h"
#include "runtime/generator.h"
#include "sampling_flags.h"
#include "text/detokenizer.h"

namespace unicorn::cli {
namespace {

struct ChatOptions {
    std::string model;
    ModelFlags model_flags;
    std::string system;
    std::string chat_format;
    int n_predict = 1024;
    int threads = 0;
    int ctx_size = 4096;
    std::string device = "auto";
    SamplingParams sampling;
    int64_t seed = -1;
    bool stats = false;
};

int run(ChatOptions o) {
    o.sampling.seed = resolve_seed(o.seed);
    Status valid = validate(o.sampling);
    if (!valid.ok()) return fail(valid.message());
    auto load = load_options(o.model_flags);
    if (!load.ok()) return fail(load.status().message());
    auto e = Engine::open(o.model, o.threads, o.device, *load);
    if (!e.ok()) return fail(e.status().to_string());
    const text::Tokenizer& tok = *(*e)->tokenizer;
    auto chat = (*e)->chat_format(o.chat_format);
    if (!chat.ok()) return fail(chat.status().message());

    const bool tty = isatty(STDIN_FILENO) != 0;
    Session session(*(*e)->model, *(*e)->ctx, SessionOptions{o.ctx_size, 512});
    std::vector<text::ChatMessage> messages;
    if (!o.system.empty()) messages.push_back({"system", o.system});
    std::vector<int32_t> in_cache;  // the ids the KV cache holds, in order
    if (tty) std::fprintf(stderr, "unicorn chat — /clear starts over, /exit or Ctrl-D quits\n");
    std::string line;
    while (true) {
        if (tty) std::fprintf(stderr, "\n> ");
        if (!std::getline(std::cin, line) || line == "/exit") break;
        if (line == "/clear") {
            messages.resize(o.system.empty() ? 0 : 1);
            session.kv().clear();
            in_cache.clear();
            continue;
        }
        if (line.empty()) continue;
        messages.push_back({"user", line});
        auto prompt = chat->render(messages, true);
        if (!prompt.ok()) return fail(prompt.status().message());
        auto ids = text::encode_chat_prompt(tok, *prompt);
        if (!ids.ok()) return fail(ids.status().to_string());
        size_t common = 0;
        while (common < in_cache.size() && common < ids->size() &&
               in_cache[common] == (*ids)[common])
            ++common;
        if (common < in_cache.size()) {  // the cache diverged from the new rendering: start over
            session.kv().clear();
            in_cache.clear();
            common = 0;
        }
        if (ids->size() + 1 >= static_cast<size_t>(session.context()))
            return fail(
                fmt::format("the conversation ({} tokens) no longer fits the context of {}; use "
                            "/clear or a larger -c",
                            ids->size(), session.context()));
        std::vector<int32_t> all(*ids);
        std::string reply;
        text::IncrementalDetokenizer detok(tok);
        GenerateRequest req;
        req.prompt = std::span<const int32_t>(*ids).subspan(common);
        req.max_tokens = std::min<int32_t>(
            o.n_predict, session.context() - static_cast<int32_t>(ids->size()) - 1);
        req.sampling = o.sampling;
        req.is_eog = [&](int32_t id) { return tok.is_eog(id); };
        req.on_token = [&](int32_t id) {
            all.push_back(id);
            const std::string piece = detok.push(id);
            reply += piece;
            std::fwrite(piece.data(), 1, piece.size(), stdout);
            std::fflush(stdout);
            return true;
        };
        auto st = generate(session, req);
        const std::string rest = detok.flush();
        reply += rest;
        std::fwrite(rest.data(), 1, rest.size(), stdout);
        std::fputc('\n', stdout);
        std::fflush(stdout);
        if (!st.ok()) return fail(st.status().to_string());
        all.resize(static_cast<size_t>(session.length()));
        in_cache = std::move(all);
        messages.push_back({"assistant", reply});
        if (o.stats) {
            std::fprintf(
                stderr, "unicorn: prompt %lld new tokens, first token %.1f ms, decode %.1f tok/s\n",
                static_cast<long long>(st->prompt_tokens), st->ttft_s * 1e3, st->decode_tok_s());
        }
    }
    return 0;
}

}  // namespace

Runner add_chat(CLI::App& app) {
    auto o = std::make_shared<ChatOptions>();
    app.add_option("-m,--model", o->model,
                   "Model: .gguf file or HF directory (default: Gemma 3 270M from the cache)");
    add_model_flags(app, o->model_flags);
    app.add_option("--system", o->system, "System prompt");
    app.add_option("--chat-format", o->chat_format,
                   "jinja (the model's template), gemma or chatml (built-in); default: the "
                   "model's template, else a built-in one");
    app.add_option("-n,--n-predict", o->n_predict, "Tokens per reply at most")
        ->capture_default_str();
    app.add_option("-t,--threads", o->threads, "CPU threads (default: one per physical core)");
    app.add_option("-c,--ctx-size", o->ctx_size, "Context size in tokens")->capture_default_str();
    app.add_option("--device", o->device,
                   "Device: auto (the CPU for now), cpu, cuda[:N], vulkan[:N]");
    app.add_flag("--stats", o->stats, "Print speed after each reply (stderr)");
    add_sampling_flags(app, o->sampling, o->seed);
    return [o] { return run(*o); };
}

}  // namespace unicorn::cli
