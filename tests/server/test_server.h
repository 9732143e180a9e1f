// What the server tests share: the real Gemma 3 270M loaded once, a server on a free loopback
// port serving on its own thread, and small test options (context 256, max_tokens cap 64).
#pragma once

#include <gtest/gtest.h>
#include <httplib.h>

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "backend/registry.h"
#include "core/cache_dir.h"
#include "io/gguf.h"
#include "models/registry.h"
#include "server/engine.h"
#include "server/http_server.h"
#include "text/chat_template.h"
#include "text/text_test_util.h"

namespace unicorn::server {

struct Loaded {
    std::unique_ptr<ThreadPool> pool;
    std::unique_ptr<Backend> cpu;
    std::unique_ptr<ExecContext> ctx;
    std::unique_ptr<Model> model;
    std::unique_ptr<text::Tokenizer> tok;
    std::unique_ptr<text::ChatTemplate> chat;
};

// One load per test binary (the model is read-only; each engine serializes its use); null when
// the model is not fetched. Chat prompts are rendered through the Jinja interpreter with the
// Gemma 3 -it template (the 270M GGUF is the base model and has none), as `unicorn serve`
// renders a model's own template.
inline Loaded* loaded() {
    static std::unique_ptr<Loaded> l = []() -> std::unique_ptr<Loaded> {
        const std::string path = cached_model_path("gemma-3-270m-Q4_K_M.gguf");
        if (!std::filesystem::exists(path)) return nullptr;
        auto l = std::make_unique<Loaded>();
        l->pool = std::make_unique<ThreadPool>(2);
        l->cpu = std::move(create_backend("cpu", *l->pool).value());
        l->ctx = std::make_unique<ExecContext>(*l->cpu, *l->cpu);
        l->model = std::move(load_model(path).value());
        l->tok = std::move(text::Tokenizer::from_gguf(io::GgufFile::open(path).value()).value());
        text::ChatTemplateSource src;
        testing::read_file(std::filesystem::path(UNICORN_TEST_DATA) / "templates/gemma3.jinja",
                           src.template_text);
        src.bos_token = l->tok->token_text(l->tok->bos());
        src.eos_token = l->tok->token_text(l->tok->eos());
        l->chat = std::make_unique<text::ChatTemplate>(text::ChatTemplate::choose(src, "").value());
        EXPECT_TRUE(l->chat->uses_jinja()) << l->chat->reason();
        return l;
    }();
    return l.get();
}

// A server on a free loopback port, serving on its own thread.
struct Running {
    Metrics metrics;
    std::unique_ptr<Engine> engine;
    std::unique_ptr<HttpServer> http;
    std::thread thread;
    int port = 0;

    explicit Running(ServerOptions o, size_t queue = 64, int parallel = 1, int cache_slots = 1) {
        Loaded* l = loaded();
        engine = std::make_unique<Engine>(
            *l->model, *l->ctx, *l->tok, metrics,
            Engine::Options{o.limits.context, 512, queue, parallel, 512, cache_slots});
        o.port = 0;
        const text::ChatTemplate* chat = l->chat.get();
        http = std::make_unique<HttpServer>(
            *engine, *l->tok,
            [chat](const std::vector<text::ChatMessage>& m) { return chat->render(m, true); },
            metrics, o);
        port = http->bind().value();
        thread = std::thread([this] { EXPECT_TRUE(http->serve().ok()); });
    }
    ~Running() {
        engine->shutdown();
        http->stop();
        thread.join();
    }
    httplib::Client client() const {
        httplib::Client c("127.0.0.1", port);
        c.set_read_timeout(60, 0);
        return c;
    }
};

inline ServerOptions options() {
    ServerOptions o;
    o.model_id = "gemma-3-270m";
    o.limits = {64, 8, 256};  // max_tokens cap, default, context
    o.max_body_bytes = 64 * 1024;
    return o;
}

// A test suite sharing one server (skipped, saying why, without the model), and JSON posts.
class SharedServerTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        // No kept caches: these suites compare a request with its repeat (streamed against
        // whole), and a reused prefix computes the last prompt token alone, which moves the
        // CPU's logits slightly (prefix_cache_test.cc covers reuse).
        if (loaded() != nullptr) server_ = new Running(options(), 64, 1, /*cache_slots=*/0);
    }
    static void TearDownTestSuite() {
        delete server_;
        server_ = nullptr;
    }
    void SetUp() override {
        if (server_ == nullptr)
            GTEST_SKIP() << "the Gemma 3 270M GGUF is not fetched (run scripts/fetch-models)";
    }
    static nlohmann::json post(const std::string& path, const nlohmann::json& body,
                               int* status = nullptr) {
        auto r = server_->client().Post(path, body.dump(), "application/json");
        EXPECT_TRUE(r) << "no response from " << path;
        if (!r) return nlohmann::json();
        if (status) *status = r->status;
        return nlohmann::json::parse(r->body, nullptr, false);
    }
    // The data payloads of an SSE response, in order ("[DONE]" included).
    static std::vector<std::string> stream(const nlohmann::json& body, std::string* raw = nullptr) {
        auto r = server_->client().Post("/v1/chat/completions", body.dump(), "application/json");
        EXPECT_TRUE(r);
        if (!r) return {};
        EXPECT_EQ(r->status, 200);
        EXPECT_EQ(r->get_header_value("Content-Type"), "text/event-stream");
        if (raw) *raw = r->body;
        std::vector<std::string> out;
        size_t at = 0;
        while ((at = r->body.find("data: ", at)) != std::string::npos) {
            const size_t end = r->body.find("\n\n", at);
            out.push_back(r->body.substr(at + 6, end - at - 6));
            at = end;
        }
        return out;
    }
    inline static Running* server_ = nullptr;
};

}  // namespace unicorn::server
