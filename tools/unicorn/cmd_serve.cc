// unicorn serve: the OpenAI-compatible HTTP server (src/server/). One engine thread owns the
// model; SIGINT/SIGTERM stop taking connections, fail queued requests with 503, let the running
// one finish and exit 0.
#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <thread>

#include "commands.h"
#include "engine.h"
#include "model_flags.h"
#include "server/engine.h"
#include "server/http_server.h"
#include "server/metrics.h"

namespace unicorn::cli {
namespace {

std::atomic<bool> g_stop{false};
extern "C" void on_signal(int) { g_stop = true; }

struct ServeOptions {
    std::string model;
    ModelFlags model_flags;
    std::string host = "127.0.0.1";
    int port = 8080;
    int parallel = 1;
    int cache_slots = -1;  // -1: as many as --parallel
    int ctx_size = 4096;
    int queue = 64;
    int max_tokens = 4096;
    size_t max_body = size_t{1} << 20;
    std::string api_key;
    std::string alias;
    std::string chat_format;
    int threads = 0;
    std::string device = "auto";
};

int run(const ServeOptions& o) {
    if (o.ctx_size < 16) return fail("--ctx-size must be at least 16");
    if (o.port < 0 || o.port > 65535) return fail("--port must be between 0 and 65535");
    if (o.parallel < 1) return fail("--parallel must be at least 1");
    if (o.cache_slots < -1 || o.cache_slots > 1024)
        return fail("--cache-slots must be between 0 and 1024");
    auto load = load_options(o.model_flags);
    if (!load.ok()) return fail(load.status().message());
    auto e = Engine::open(o.model, o.threads, o.device, *load);
    if (!e.ok()) return fail(e.status().to_string());
    const text::Tokenizer& tok = *(*e)->tokenizer;
    auto chat = (*e)->chat_format(o.chat_format);
    if (!chat.ok()) return fail(chat.status().message());

    server::Metrics metrics;
    server::Engine engine(*(*e)->model, *(*e)->ctx, tok, metrics,
                          {o.ctx_size, 512, static_cast<size_t>(std::max(o.queue, 1)), o.parallel,
                           512, o.cache_slots < 0 ? o.parallel : o.cache_slots});
    server::ServerOptions so;
    so.host = o.host;
    so.port = o.port;
    so.api_key = o.api_key;
    so.max_body_bytes = o.max_body;
    so.model_id = !o.alias.empty() ? o.alias
                  : o.model.empty()
                      ? "gemma-3-270m"
                      : std::filesystem::path(o.model).filename().replace_extension().string();
    so.limits = {o.max_tokens, std::min(o.max_tokens, 512), o.ctx_size};
    server::HttpServer http(
        engine, tok,
        [chat = *chat](const std::vector<text::ChatMessage>& m) { return chat.render(m, true); },
        metrics, so);
    auto port = http.bind();
    if (!port.ok()) return fail(port.status().message());
    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    std::signal(SIGPIPE, SIG_IGN);  // a client that hangs up mid-stream is not fatal
    std::thread watcher([&] {
        while (!g_stop) std::this_thread::sleep_for(std::chrono::milliseconds(50));
        engine.shutdown();
        http.stop();
    });
    std::fprintf(stderr,
                 "unicorn serve: %s on http://%s:%d (context %d per sequence, %d at once, queue "
                 "%d)%s\n",
                 so.model_id.c_str(), o.host.c_str(), *port, o.ctx_size, o.parallel, o.queue,
                 o.api_key.empty() ? "" : ", API key required");
    Status st = http.serve();
    g_stop = true;
    watcher.join();
    if (!st.ok()) return fail(st.message());
    std::fprintf(stderr, "unicorn serve: stopped\n");
    return 0;
}

}  // namespace

Runner add_serve(CLI::App& app) {
    auto o = std::make_shared<ServeOptions>();
    app.add_option("-m,--model", o->model, "GGUF file or HF directory (default: Gemma 3 270M)");
    add_model_flags(app, o->model_flags);
    app.add_option("--host", o->host, "Address to listen on")->capture_default_str();
    app.add_option("--port", o->port, "Port (0: any free one)")->capture_default_str();
    app.add_option("--parallel", o->parallel,
                   "Sequences generated at once (continuous batching); later requests queue")
        ->capture_default_str();
    app.add_option("--cache-slots", o->cache_slots,
                   "Finished requests' KV caches kept so a later prompt with the same start "
                   "reuses them (0: off; default: --parallel)");
    app.add_option("-c,--ctx-size", o->ctx_size, "Context per request, in tokens")
        ->capture_default_str();
    app.add_option("--queue", o->queue, "Requests that may wait; more get 503 + Retry-After")
        ->capture_default_str();
    app.add_option("--max-tokens-cap", o->max_tokens, "Largest max_tokens a request may ask")
        ->capture_default_str();
    app.add_option("--max-body", o->max_body, "Largest request body, bytes")->capture_default_str();
    app.add_option("--api-key", o->api_key, "Require 'Authorization: Bearer KEY' (not /health)");
    app.add_option("--alias", o->alias, "Model id clients name (default: the file name)");
    app.add_option("--chat-format", o->chat_format,
                   "jinja (the model's template), gemma or chatml (built-in); default: the "
                   "model's template, else a built-in one");
    app.add_option("-t,--threads", o->threads, "CPU threads (default: one per physical core)");
    app.add_option("--device", o->device,
                   "Device: auto (the CPU for now), cpu, cuda[:N], vulkan[:N]");
    return [o] { return run(*o); };
}

}  // namespace unicorn::cli
