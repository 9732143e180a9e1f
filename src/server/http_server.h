// The HTTP transport (cpp-httplib): OpenAI endpoints (/v1/chat/completions, /v1/completions,
// /v1/models), llama-server's /health, /tokenize, /detokenize, and Prometheus /metrics. Workers
// validate, render and tokenize a request, hand the engine thread a Job and relay its events —
// as one JSON response or as SSE. Safe defaults: loopback only unless told otherwise, Bearer
// API key compared in constant time (/health stays public), a request-body size limit, caps on
// max_tokens and context; no endpoint touches files.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "server/api.h"
#include "server/engine.h"
#include "server/metrics.h"
#include "text/chat_format.h"
#include "text/tokenizer.h"

namespace unicorn::server {

struct ServerOptions {
    std::string host = "127.0.0.1";
    int port = 8080;  // 0: any free port (tests)
    std::string api_key;
    size_t max_body_bytes = size_t{1} << 20;
    // Worker threads; 0: enough for every request the engine can hold (running + queued, each
    // stream keeps its worker) plus a few for /health and /metrics.
    int http_threads = 0;
    std::string model_id;  // what /v1/models lists and requests may name
    Limits limits;
};

// Chat messages → prompt text (the model's chat template).
using ChatRenderer = std::function<Result<std::string>(const std::vector<text::ChatMessage>&)>;

class HttpServer {
  public:
    HttpServer(Engine& engine, const text::Tokenizer& tok, ChatRenderer render, Metrics& metrics,
               ServerOptions opt);
    ~HttpServer();
    // Binds the listening socket; returns the port.
    Result<int> bind();
    // Serves until stop() (from any thread); returns once the listener has closed.
    Status serve();
    void stop();

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// a == b without an early exit, so the time taken does not reveal how much of a key matched.
bool constant_time_equal(const std::string& a, const std::string& b);

}  // namespace unicorn::server
