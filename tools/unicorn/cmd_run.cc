// unicorn run: one prompt in, streamed text out (stdout), a stats line on stderr.
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>

#include "commands.h"
#include "engine.h"
#include "model_flags.h"
#include "profile_report.h"
#include "run_stats.h"
#include "runtime/generator.h"
#include "sampling_flags.h"
#include "text/detokenizer.h"

namespace unicorn::cli {
namespace {

struct RunOptions {
    std::string model;
    ModelFlags model_flags;
    std::string prompt;
    std::string prompt_file;
    int n_predict = 256;
    int threads = 0;
    int ctx_size = 4096;
    int chunk = 512;
    bool chat = false;
    std::string chat_format;
    std::string system;
    std::vector<std::string> stop;
    std::string device = "auto";
    SamplingParams sampling;
    int64_t seed = -1;
    bool quiet_stats = false;
    bool stats = false;    // the detailed block (run_stats.h) instead of the one line
    bool profile = false;  // time per op at exit
    bool json = false;     // the profile as JSON
};

int run(RunOptions o) {
    if (!o.prompt_file.empty()) {
        std::ifstream in(o.prompt_file, std::ios::binary);
        if (!in) return fail(fmt::format("cannot read prompt file '{}'", o.prompt_file));
        std::stringstream ss;
        ss << in.rdbuf();
        o.prompt = ss.str();
    }
    if (o.prompt.empty()) return fail("the prompt is empty (give -p TEXT or -f FILE)");
    if (o.n_predict < 0) return fail("-n must be >= 0");
    if (o.ctx_size < 1) return fail("-c must be >= 1");
    o.sampling.seed = resolve_seed(o.seed);
    Status valid = validate(o.sampling);
    if (!valid.ok()) return fail(valid.message());

    auto load = load_options(o.model_flags);
    if (!load.ok()) return fail(load.status().message());
    auto e = Engine::open(o.model, o.threads, o.device, *load);
    if (!e.ok()) return fail(e.status().to_string());
    const text::Tokenizer& tok = *(*e)->tokenizer;

    // A raw prompt is tokenized as llama.cpp's completion tools do (BOS per the vocabulary,
    // special-token text kept literal); a chat prompt by the rule all chat paths share.
    Result<std::vector<int32_t>> ids = std::vector<int32_t>{};
    if (!o.chat) {
        ids = tok.encode(o.prompt, /*add_special=*/true, /*parse_special=*/false);
    } else {
        auto chat = (*e)->chat_format(o.chat_format);
        if (!chat.ok()) return fail(chat.status().message());
        std::vector<text::ChatMessage> msgs;
        if (!o.system.empty()) msgs.push_back({"system", o.system});
        msgs.push_back({"user", o.prompt});
        auto rendered = chat->render(msgs, true);
        if (!rendered.ok()) return fail(rendered.status().message());
        ids = text::encode_chat_prompt(tok, *rendered);
    }
    if (!ids.ok()) return fail(ids.status().to_string());
    if (static_cast<int>(ids->size()) >= o.ctx_size)
        return fail(
            fmt::format("the prompt is {} tokens, which does not fit the context of {} (raise -c)",
                        ids->size(), o.ctx_size));

    Session session(*(*e)->model, *(*e)->ctx, SessionOptions{o.ctx_size, o.chunk});
    text::IncrementalDetokenizer detok(tok);
    std::string produced;
    GenerateRequest req;
    req.prompt = *ids;
    req.max_tokens = o.n_predict;
    req.sampling = o.sampling;
    req.is_eog = [&](int32_t id) { return tok.is_eog(id); };
    req.on_token = [&](int32_t id) {
        std::string piece = detok.push(id);
        produced += piece;
        for (const std::string& s : o.stop) {
            const size_t at = produced.find(s);
            if (!s.empty() && at != std::string::npos) {
                // Print what precedes the stop string and end.
                const size_t printed = produced.size() - piece.size();
                if (at > printed) std::fwrite(produced.data() + printed, 1, at - printed, stdout);
                std::fflush(stdout);
                return false;
            }
        }
        std::fwrite(piece.data(), 1, piece.size(), stdout);
        std::fflush(stdout);
        return true;
    };
    (*e)->ctx->set_profiling(o.profile);
    const auto wall0 = std::chrono::steady_clock::now();
    auto st = generate(session, req);
    const double wall_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
    const std::string rest = detok.flush();
    std::fwrite(rest.data(), 1, rest.size(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
    if (!st.ok()) return fail(st.status().to_string());
    if (o.stats) {
        print_run_stats(*st, *(*e)->ctx, o.json);
    } else if (!o.quiet_stats) {
        std::fprintf(stderr,
                     "unicorn: prompt %lld tokens, time to first token %.1f ms, prefill %.1f "
                     "tok/s, decode %.1f tok/s "
                     "(%lld tokens), seed %llu\n",
                     static_cast<long long>(st->prompt_tokens), st->ttft_s * 1e3,
                     st->prefill_tok_s(), st->decode_tok_s(),
                     static_cast<long long>(st->generated_tokens),
                     static_cast<unsigned long long>(o.sampling.seed));
    }
    if (o.profile) print_profile(*(*e)->ctx, wall_s, o.json);
    return 0;
}

}  // namespace

Runner add_run(CLI::App& app) {
    auto o = std::make_shared<RunOptions>();
    app.add_option("-m,--model", o->model,
                   "Model: .gguf file or HF directory (default: Gemma 3 270M from the cache)");
    add_model_flags(app, o->model_flags);
    app.add_option("-p,--prompt", o->prompt, "Prompt text");
    app.add_option("-f,--file", o->prompt_file, "Read the prompt from a file");
    app.add_option("-n,--n-predict", o->n_predict, "Tokens to generate at most")
        ->capture_default_str();
    app.add_option("-t,--threads", o->threads, "CPU threads (default: one per physical core)");
    app.add_option("-c,--ctx-size", o->ctx_size, "Context size in tokens")->capture_default_str();
    app.add_option("--chunk", o->chunk, "Prefill chunk size in tokens")
        ->check(CLI::Range(1, 65536))
        ->capture_default_str();
    app.add_flag("--chat", o->chat, "Wrap the prompt as a user turn in the model's chat template");
    app.add_option("--system", o->system, "System prompt (with --chat)");
    app.add_option("--chat-format", o->chat_format,
                   "With --chat: jinja (the model's template), gemma or chatml (built-in); "
                   "default: the model's template, else a built-in one");
    app.add_option("--stop", o->stop, "Stop when this text appears (repeatable)");
    app.add_option("--device", o->device,
                   "Device: auto (the CPU for now), cpu, cuda[:N], vulkan[:N]");
    app.add_flag("--no-stats", o->quiet_stats, "Do not print the stats line");
    app.add_flag("--stats", o->stats,
                 "Instead of the stats line: time to first token, prefill/decode rates, "
                 "inter-token latency percentiles and memory per device (--json: one object)");
    app.add_flag("--profile", o->profile,
                 "At exit, time per op (and waiting for the device) against wall time, on stderr");
    app.add_flag("--json", o->json, "With --profile or --stats: JSON instead of a table");
    add_sampling_flags(app, o->sampling, o->seed);
    return [o] { return run(*o); };
}

}  // namespace unicorn::cli
