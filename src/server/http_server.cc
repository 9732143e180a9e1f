#include "server/http_server.h"

#include <fmt/format.h>
#include <httplib.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "text/chat_template.h"

namespace unicorn::server {
namespace {

using json = nlohmann::json;
using std::chrono::milliseconds;

void send_error(httplib::Response& res, const ApiError& e) {
    res.status = e.status;
    res.set_content(error_json(e), "application/json");
}

bool is_public(const std::string& path) { return path == "/health" || path == "/v1/health"; }

int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace

bool constant_time_equal(const std::string& a, const std::string& b) {
    unsigned char diff = a.size() == b.size() ? 0 : 1;
    const std::string& longer = a.size() >= b.size() ? a : b;
    for (size_t i = 0; i < longer.size(); ++i) {
        const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
        const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
        diff |= static_cast<unsigned char>(x ^ y);
    }
    return diff == 0;
}

struct HttpServer::Impl {
    Engine& engine;
    const text::Tokenizer& tok;
    ChatRenderer render;
    Metrics& metrics;
    ServerOptions opt;
    httplib::Server http;
    std::atomic<uint64_t> next_id{1};

    Impl(Engine& e, const text::Tokenizer& t, ChatRenderer r, Metrics& m, ServerOptions o)
        : engine(e), tok(t), render(std::move(r)), metrics(m), opt(std::move(o)) {}

    void routes();
    void completion(const httplib::Request& req, httplib::Response& res, bool chat);
    void tokenize(const httplib::Request& req, httplib::Response& res);
    void detokenize(const httplib::Request& req, httplib::Response& res);
};

void HttpServer::Impl::routes() {
    http.set_payload_max_length(opt.max_body_bytes);
    const int threads =
        opt.http_threads > 0
            ? opt.http_threads
            : engine.options().parallel + static_cast<int>(engine.options().queue_capacity) + 8;
    http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
    http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
        if (opt.api_key.empty() || is_public(req.path))
            return httplib::Server::HandlerResponse::Unhandled;
        const std::string auth = req.get_header_value("Authorization");
        const std::string prefix = "Bearer ";
        const std::string key = auth.rfind(prefix, 0) == 0 ? auth.substr(prefix.size()) : "";
        if (!key.empty() && constant_time_equal(key, opt.api_key))
            return httplib::Server::HandlerResponse::Unhandled;
        send_error(
            res,
            {401, "authentication_error",
             key.empty() ? "missing API key (Authorization: Bearer …)" : "invalid API key", ""});
        metrics.count_request(req.path, 401);
        return httplib::Server::HandlerResponse::Handled;
    });
    // Statuses httplib sets itself (unknown path 404, body over the limit 413, …) get an
    // OpenAI error body too.
    http.set_error_handler([this](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty()) return;
        std::string type = res.status == 404 ? "not_found_error" : "invalid_request_error";
        std::string msg = res.status == 404 ? fmt::format("no endpoint {} {}", req.method, req.path)
                          : res.status == 413 ? fmt::format(
                                                    "the request body is larger than {} "
                                                    "bytes",
                                                    opt.max_body_bytes)
                                              : fmt::format("HTTP {}", res.status);
        if (res.status >= 500) type = "server_error";
        res.set_content(error_json({res.status, type, msg, ""}), "application/json");
        metrics.count_request(req.path, res.status);
    });
    http.set_exception_handler(
        [this](const httplib::Request& req, httplib::Response& res, const std::exception_ptr& ep) {
            std::string what = "internal error";
            try {
                if (ep) std::rethrow_exception(ep);
            } catch (const std::exception& e) {
                what = e.what();
            } catch (...) {
            }
            send_error(res, {500, "server_error", what, ""});
            metrics.count_request(req.path, 500);
        });
    auto health = [this](const httplib::Request& req, httplib::Response& res) {
        res.set_content(R"({"status":"ok"})", "application/json");
        metrics.count_request(req.path, 200);
    };
    http.Get("/health", health);
    http.Get("/v1/health", health);
    auto models = [this](const httplib::Request& req, httplib::Response& res) {
        res.set_content(models_json(opt.model_id, unix_now(), opt.limits.context),
                        "application/json");
        metrics.count_request(req.path, 200);
    };
    http.Get("/v1/models", models);
    http.Get("/models", models);
    http.Get("/metrics", [this](const httplib::Request& req, httplib::Response& res) {
        res.set_content(metrics.render(), "text/plain; version=0.0.4");
        metrics.count_request(req.path, 200);
    });
    http.Post("/v1/chat/completions", [this](const httplib::Request& req, httplib::Response& res) {
        completion(req, res, true);
    });
    http.Post("/chat/completions", [this](const httplib::Request& req, httplib::Response& res) {
        completion(req, res, true);
    });
    http.Post("/v1/completions", [this](const httplib::Request& req, httplib::Response& res) {
        completion(req, res, false);
    });
    http.Post("/tokenize",
              [this](const httplib::Request& req, httplib::Response& res) { tokenize(req, res); });
    http.Post("/detokenize", [this](const httplib::Request& req, httplib::Response& res) {
        detokenize(req, res);
    });
}

void HttpServer::Impl::completion(const httplib::Request& req, httplib::Response& res, bool chat) {
    const auto arrived = std::chrono::steady_clock::now();
    auto refuse = [&](const ApiError& e) {
        send_error(res, e);
        metrics.count_request(req.path, e.status);
    };
    Parsed p = parse_completion_request(req.body, chat, opt.limits,
                                        next_id.load() * 0x9E3779B97F4A7C15ull);
    if (p.error) return refuse(*p.error);
    CompletionRequest& r = p.request;
    if (!r.model.empty() && r.model != opt.model_id)
        return refuse(
            {404, "not_found_error",
             fmt::format("model '{}' does not exist (this server has '{}')", r.model, opt.model_id),
             "model"});
    std::vector<int32_t> ids;
    if (chat) {
        Result<std::string> text = render(r.messages);
        if (!text.ok())
            return refuse({400, "invalid_request_error", text.status().message(), "messages"});
        auto enc = text::encode_chat_prompt(tok, *text);
        if (!enc.ok()) return refuse({400, "invalid_request_error", enc.status().message(), ""});
        ids = std::move(*enc);
    } else {
        auto enc = tok.encode(r.prompt, /*add_special=*/true, /*parse_special=*/false);
        if (!enc.ok()) return refuse({400, "invalid_request_error", enc.status().message(), ""});
        ids = std::move(*enc);
    }
    const int32_t ctx = opt.limits.context;
    if (ids.empty()) return refuse({400, "invalid_request_error", "the prompt is empty", ""});
    if (static_cast<int64_t>(ids.size()) >= ctx)
        return refuse(
            {400, "exceed_context_size_error",
             fmt::format("the prompt is {} tokens; the context holds {}", ids.size(), ctx), ""});
    // Generation stops where the context ends, as if max_tokens said so.
    const int32_t room = ctx - static_cast<int32_t>(ids.size());
    Job job;
    job.prompt = std::move(ids);
    job.max_tokens = std::min(r.max_tokens, room);
    job.sampling = r.sampling;
    job.stop = r.stop;
    job.logprobs = r.logprobs;
    job.out = std::make_shared<Channel>();
    job.arrived = arrived;
    std::shared_ptr<Channel> ch = job.out;
    if (!engine.submit(std::move(job))) {
        res.set_header("Retry-After", "1");
        return refuse({503, "unavailable_error", "the server is busy; retry shortly", ""});
    }
    const ResponseId rid{fmt::format("{}-{}", chat ? "chatcmpl" : "cmpl", next_id++), unix_now(),
                         opt.model_id};
    const bool logprobs = r.logprobs >= 0;
    if (!r.stream) {
        std::string text;
        Logprobs lps;
        while (true) {
            std::optional<Event> e = ch->pop(milliseconds(1000));
            if (!e) continue;
            lps.insert(lps.end(), std::make_move_iterator(e->logprobs.begin()),
                       std::make_move_iterator(e->logprobs.end()));
            if (e->kind == Event::Kind::kText) {
                text += e->text;
            } else if (e->kind == Event::Kind::kError) {
                return refuse(e->error);
            } else {
                res.set_content(completion_json(rid, chat, text, e->finish_reason, e->usage,
                                                logprobs ? &lps : nullptr),
                                "application/json");
                metrics.count_request(req.path, 200);
                return;
            }
        }
    }
    metrics.count_request(req.path, 200);
    const bool usage = r.include_usage;
    res.set_header("Cache-Control", "no-cache");
    res.set_chunked_content_provider(
        "text/event-stream",
        [ch, rid, chat, usage, logprobs](size_t, httplib::DataSink& sink) {
            auto write = [&](const std::string& s) { return sink.write(s.data(), s.size()); };
            bool first = true;
            while (true) {
                std::optional<Event> e = ch->pop(milliseconds(1000));
                // A comment line while waiting (queued behind other requests): a client that has
                // gone away is noticed and its job cancelled.
                if (!e) {
                    if (!write(": waiting\n\n")) return ch->cancel(), false;
                    continue;
                }
                bool ok = true;
                const Logprobs* lps = logprobs ? &e->logprobs : nullptr;
                if (e->kind == Event::Kind::kText) {
                    ok = write(chunk_event(rid, chat, first, e->text, "", lps));
                    first = false;
                } else if (e->kind == Event::Kind::kError) {
                    write(error_event(e->error));
                    sink.done();
                    return true;
                } else {
                    if (first) ok = write(chunk_event(rid, chat, true, "", ""));
                    ok = ok && write(chunk_event(rid, chat, false, "", e->finish_reason, lps));
                    if (ok && usage) ok = write(usage_event(rid, chat, e->usage));
                    ok = ok && write(kDoneEvent);
                    if (ok) sink.done();
                    if (!ok) ch->cancel();
                    return ok;
                }
                if (!ok) return ch->cancel(), false;
            }
        },
        [ch](bool success) {
            if (!success) ch->cancel();
        });
}

void HttpServer::Impl::tokenize(const httplib::Request& req, httplib::Response& res) {
    json j = json::parse(req.body, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("content") || !j["content"].is_string()) {
        send_error(res,
                   {400, "invalid_request_error", "expected {\"content\": string}", "content"});
        return metrics.count_request(req.path, 400);
    }
    const bool add_special = j.value("add_special", false);
    const bool parse_special = j.value("parse_special", true);
    auto ids = tok.encode(j["content"].get<std::string>(), add_special, parse_special);
    if (!ids.ok()) {
        send_error(res, {400, "invalid_request_error", ids.status().message(), "content"});
        return metrics.count_request(req.path, 400);
    }
    res.set_content(json{{"tokens", *ids}}.dump(), "application/json");
    metrics.count_request(req.path, 200);
}

void HttpServer::Impl::detokenize(const httplib::Request& req, httplib::Response& res) {
    json j = json::parse(req.body, nullptr, false);
    std::vector<int32_t> ids;
    bool ok = !j.is_discarded() && j.is_object() && j.contains("tokens") && j["tokens"].is_array();
    if (ok) {
        for (const json& x : j["tokens"]) {
            if (!x.is_number_integer()) {
                ok = false;
                break;
            }
            ids.push_back(x.get<int32_t>());
        }
    }
    Status valid = ok ? tok.check_ids(ids) : invalid_argument("expected {\"tokens\": [integers]}");
    if (!valid.ok()) {
        send_error(res, {400, "invalid_request_error", valid.message(), "tokens"});
        return metrics.count_request(req.path, 400);
    }
    res.set_content(json{{"content", tok.decode(ids, /*special=*/false)}}.dump(),
                    "application/json");
    metrics.count_request(req.path, 200);
}

HttpServer::HttpServer(Engine& engine, const text::Tokenizer& tok, ChatRenderer render,
                       Metrics& metrics, ServerOptions opt)
    : impl_(std::make_unique<Impl>(engine, tok, std::move(render), metrics, std::move(opt))) {
    impl_->routes();
}

HttpServer::~HttpServer() { stop(); }

Result<int> HttpServer::bind() {
    const ServerOptions& o = impl_->opt;
    int port = o.port;
    if (port == 0) {
        port = impl_->http.bind_to_any_port(o.host);
        if (port < 0) port = 0;
    } else if (!impl_->http.bind_to_port(o.host, port)) {
        port = 0;
    }
    if (port <= 0)
        return io_error(
            fmt::format("cannot listen on {}:{} (in use, or not an address of this "
                        "machine)",
                        o.host, o.port));
    return port;
}

Status HttpServer::serve() {
    if (!impl_->http.listen_after_bind())
        return io_error("the HTTP listener stopped with an error");
    return ok_status();
}

void HttpServer::stop() {
    if (impl_) impl_->http.stop();
}

}  // namespace unicorn::server
