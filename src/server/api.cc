#include "server/api.h"

#include <fmt/format.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "text/unicode.h"

namespace unicorn::server {
namespace {

using json = nlohmann::json;

ApiError bad(std::string param, std::string message) {
    return ApiError{400, "invalid_request_error", std::move(message), std::move(param)};
}

// A number field within [lo, hi]; absent or null leaves *out alone.
template <typename T>
std::optional<ApiError> number(const json& j, const char* key, double lo, double hi, T* out) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return std::nullopt;
    if (!it->is_number())
        return bad(key, fmt::format("'{}' must be a number, got {}", key, it->type_name()));
    const double v = it->get<double>();
    if (!std::isfinite(v) || v < lo || v > hi)
        return bad(
            key, fmt::format("'{}' is {}; it must be between {} and {}", key, it->dump(), lo, hi));
    if constexpr (std::is_integral_v<T>) {
        if (v != std::floor(v)) return bad(key, fmt::format("'{}' must be an integer", key));
    }
    *out = static_cast<T>(v);
    return std::nullopt;
}

std::optional<ApiError> parse_messages(const json& j, std::vector<text::ChatMessage>* out) {
    auto it = j.find("messages");
    if (it == j.end()) return bad("messages", "'messages' is required");
    if (!it->is_array() || it->empty())
        return bad("messages", "'messages' must be a non-empty array");
    for (size_t i = 0; i < it->size(); ++i) {
        const json& m = (*it)[i];
        const std::string where = fmt::format("messages[{}]", i);
        if (!m.is_object()) return bad(where, where + " must be an object");
        auto role = m.find("role");
        if (role == m.end() || !role->is_string())
            return bad(where + ".role", where + ".role must be a string");
        const std::string r = role->get<std::string>();
        if (r != "system" && r != "user" && r != "assistant" && r != "developer")
            return bad(where + ".role", fmt::format("{}.role '{}' is not one of system, developer, "
                                                    "user, assistant",
                                                    where, r));
        std::string content;
        auto c = m.find("content");
        if (c == m.end() || c->is_null()) {
            content = "";
        } else if (c->is_string()) {
            content = c->get<std::string>();
        } else if (c->is_array()) {  // content parts: text only
            for (const json& part : *c) {
                if (!part.is_object() || part.value("type", "") != "text" ||
                    !part.contains("text") || !part["text"].is_string())
                    return bad(where + ".content",
                               where + ".content: only text parts are supported");
                content += part["text"].get<std::string>();
            }
        } else {
            return bad(where + ".content", where + ".content must be a string or an array");
        }
        out->push_back({r == "developer" ? "system" : r, std::move(content)});
    }
    return std::nullopt;
}

// Chat: logprobs (boolean) and top_logprobs (0..20, only with logprobs). Completions: logprobs
// (0..5, the legacy API's cap). *out stays -1 when not asked.
std::optional<ApiError> parse_logprobs(const json& j, bool chat, int32_t* out) {
    if (!chat) return number(j, "logprobs", 0, 5, out);
    bool wanted = false;
    if (auto it = j.find("logprobs"); it != j.end() && !it->is_null()) {
        if (!it->is_boolean())
            return bad("logprobs",
                       fmt::format("'logprobs' must be a boolean, got {}", it->type_name()));
        wanted = it->get<bool>();
    }
    int32_t top = 0;
    if (auto e = number(j, "top_logprobs", 0, 20, &top)) return e;
    if (!wanted && j.contains("top_logprobs") && !j["top_logprobs"].is_null())
        return bad("top_logprobs", "'top_logprobs' needs 'logprobs': true");
    if (wanted) *out = top;
    return std::nullopt;
}

// A token's text can end inside a UTF-8 character (a byte token), which a JSON string cannot
// hold: `token` gets U+FFFD for the incomplete part, `bytes` the exact bytes.
std::string token_string(const std::string& t) { return text::sanitize_utf8(t); }

// Any other invalid UTF-8 that reaches a response becomes U+FFFD rather than a failed dump.
std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// OpenAI reports a probability of zero as -9999.0 (JSON has no -Infinity).
double finite_logprob(double lp) { return std::isfinite(lp) ? lp : -9999.0; }

json token_entry(const TokenInfo& t) {
    json bytes = json::array();
    for (unsigned char c : t.text) bytes.push_back(static_cast<int>(c));
    return {
        {"token", token_string(t.text)}, {"logprob", finite_logprob(t.logprob)}, {"bytes", bytes}};
}

// choices[].logprobs in the chat shape: {content: [{token, logprob, bytes, top_logprobs}]}.
json chat_logprobs(const Logprobs& lps) {
    json content = json::array();
    for (const TokenLogprobs& e : lps) {
        json entry = token_entry(e.chosen);
        json top = json::array();
        for (const TokenInfo& t : e.top) top.push_back(token_entry(t));
        entry["top_logprobs"] = std::move(top);
        content.push_back(std::move(entry));
    }
    return {{"content", std::move(content)}, {"refusal", nullptr}};
}

// The legacy completions shape. As OpenAI documents it, each top_logprobs dict also holds the
// sampled token, so it has up to logprobs + 1 entries; two tokens with the same text keep the
// likelier one's value.
json legacy_logprobs(const Logprobs& lps) {
    json tokens = json::array(), token_logprobs = json::array(), top = json::array(),
         offsets = json::array();
    for (const TokenLogprobs& e : lps) {
        const std::string chosen = token_string(e.chosen.text);
        tokens.push_back(chosen);
        token_logprobs.push_back(finite_logprob(e.chosen.logprob));
        json d = json::object();
        for (const TokenInfo& t : e.top) {
            const std::string key = token_string(t.text);
            if (!d.contains(key)) d[key] = finite_logprob(t.logprob);
        }
        if (!d.contains(chosen)) d[chosen] = finite_logprob(e.chosen.logprob);
        top.push_back(std::move(d));
        offsets.push_back(e.text_offset);
    }
    return {{"tokens", std::move(tokens)},
            {"token_logprobs", std::move(token_logprobs)},
            {"top_logprobs", std::move(top)},
            {"text_offset", std::move(offsets)}};
}

json logprobs_field(bool chat, const Logprobs* lps, bool null_when_empty) {
    if (lps == nullptr || (null_when_empty && lps->empty())) return nullptr;
    return chat ? chat_logprobs(*lps) : legacy_logprobs(*lps);
}

// OpenAI's usage object, with the prompt tokens served from a kept KV cache.
json usage_json(const Usage& u) {
    return {{"prompt_tokens", u.prompt_tokens},
            {"completion_tokens", u.completion_tokens},
            {"total_tokens", u.prompt_tokens + u.completion_tokens},
            {"prompt_tokens_details", {{"cached_tokens", u.cached_tokens}}}};
}

}  // namespace

std::string error_json(const ApiError& e) {
    json err = {{"message", e.message},
                {"type", e.type},
                {"param", e.param.empty() ? json(nullptr) : json(e.param)},
                {"code", std::to_string(e.status)}};
    return dump(json{{"error", err}});
}

Parsed parse_completion_request(const std::string& body, bool chat, const Limits& limits,
                                uint64_t default_seed) {
    Parsed p;
    CompletionRequest& r = p.request;
    r.chat = chat;
    r.max_tokens = limits.default_max_tokens;
    r.sampling.seed = default_seed;
    json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) {
        p.error = bad("", "the request body is not valid JSON");
        return p;
    }
    if (!j.is_object()) {
        p.error = bad("", "the request body must be a JSON object");
        return p;
    }
    auto fail = [&](std::optional<ApiError> e) {
        if (e && !p.error) p.error = std::move(e);
        return p.error.has_value();
    };
    if (auto m = j.find("model"); m != j.end() && !m->is_null()) {
        if (!m->is_string()) return fail(bad("model", "'model' must be a string")), p;
        r.model = m->get<std::string>();
    }
    if (chat) {
        if (fail(parse_messages(j, &r.messages))) return p;
    } else {
        auto it = j.find("prompt");
        if (it == j.end() || !it->is_string()) {
            p.error = bad("prompt", "'prompt' is required and must be a string");
            return p;
        }
        r.prompt = it->get<std::string>();
    }
    // max_completion_tokens (new) and max_tokens (deprecated) mean the same here.
    const char* max_key =
        j.contains("max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
    if (fail(number(j, max_key, 1, limits.max_tokens_cap, &r.max_tokens))) return p;
    SamplingParams& s = r.sampling;
    if (fail(number(j, "temperature", 0, 2, &s.temperature))) return p;
    if (fail(number(j, "top_p", 0, 1, &s.top_p))) return p;
    if (j.contains("top_p") && s.top_p <= 0) return fail(bad("top_p", "'top_p' must be > 0")), p;
    if (fail(number(j, "top_k", 0, 1 << 20, &s.top_k))) return p;
    if (fail(number(j, "min_p", 0, 1, &s.min_p))) return p;
    if (fail(number(j, "repeat_penalty", 0.01, 100, &s.repeat_penalty))) return p;
    double presence = 0;  // accepted for compatibility, only 0 is honoured exactly
    if (fail(number(j, "presence_penalty", -2, 2, &presence))) return p;
    if (fail(number(j, "frequency_penalty", -2, 2, &presence))) return p;
    int64_t seed = -1;
    if (fail(number(j, "seed", -9.2e18, 9.2e18, &seed))) return p;
    if (seed >= 0) s.seed = static_cast<uint64_t>(seed);
    int n = 1;
    if (fail(number(j, "n", 1, 128, &n))) return p;
    if (n != 1)
        return fail(bad("n", "only one choice per request is supported ('n' must be 1)")), p;
    if (auto st = j.find("stop"); st != j.end() && !st->is_null()) {
        if (st->is_string()) {
            r.stop.push_back(st->get<std::string>());
        } else if (st->is_array() && st->size() <= 4) {
            for (const json& x : *st) {
                if (!x.is_string()) return fail(bad("stop", "'stop' entries must be strings")), p;
                r.stop.push_back(x.get<std::string>());
            }
        } else {
            return fail(bad("stop", "'stop' must be a string or an array of at most 4")), p;
        }
    }
    if (auto st = j.find("stream"); st != j.end() && !st->is_null()) {
        if (!st->is_boolean()) return fail(bad("stream", "'stream' must be a boolean")), p;
        r.stream = st->get<bool>();
    }
    if (auto so = j.find("stream_options"); so != j.end() && !so->is_null()) {
        if (!so->is_object()) return fail(bad("stream_options", "must be an object")), p;
        auto iu = so->find("include_usage");
        if (iu != so->end() && !iu->is_boolean())
            return fail(bad("stream_options.include_usage", "must be a boolean")), p;
        r.include_usage = iu != so->end() && iu->get<bool>();
    }
    if (fail(parse_logprobs(j, chat, &r.logprobs))) return p;
    for (const char* unsupported : {"tools", "response_format"}) {
        auto it = j.find(unsupported);
        if (it == j.end() || it->is_null() || (it->is_boolean() && !it->get<bool>())) continue;
        if (std::string(unsupported) == "response_format" && it->is_object() &&
            it->value("type", "") == "text")
            continue;
        p.error = ApiError{400, "invalid_request_error",
                           fmt::format("'{}' is not supported by this server yet", unsupported),
                           unsupported};
        return p;
    }
    return p;
}

std::string completion_json(const ResponseId& r, bool chat, const std::string& text,
                            const std::string& finish_reason, const Usage& u,
                            const Logprobs* logprobs) {
    json choice = {{"index", 0},
                   {"finish_reason", finish_reason},
                   {"logprobs", logprobs_field(chat, logprobs, false)}};
    if (chat)
        choice["message"] = {{"role", "assistant"}, {"content", text}};
    else
        choice["text"] = text;
    return dump(json{{"id", r.id},
                     {"object", chat ? "chat.completion" : "text_completion"},
                     {"created", r.created},
                     {"model", r.model},
                     {"system_fingerprint", "unicorn"},
                     {"choices", json::array({choice})},
                     {"usage", usage_json(u)}});
}

std::string chunk_event(const ResponseId& r, bool chat, bool first, const std::string& text,
                        const std::string& finish_reason, const Logprobs* logprobs) {
    json choice = {{"index", 0},
                   {"finish_reason", finish_reason.empty() ? json(nullptr) : json(finish_reason)},
                   {"logprobs", logprobs_field(chat, logprobs, true)}};
    if (chat) {
        json delta = json::object();
        if (first) delta["role"] = "assistant";
        if (!text.empty() || (first && finish_reason.empty())) delta["content"] = text;
        choice["delta"] = delta;
    } else {
        choice["text"] = text;
    }
    json c = {{"id", r.id},
              {"object", chat ? "chat.completion.chunk" : "text_completion"},
              {"created", r.created},
              {"model", r.model},
              {"system_fingerprint", "unicorn"},
              {"choices", json::array({choice})}};
    return "data: " + dump(c) + "\n\n";
}

std::string usage_event(const ResponseId& r, bool chat, const Usage& u) {
    json c = {{"id", r.id},
              {"object", chat ? "chat.completion.chunk" : "text_completion"},
              {"created", r.created},
              {"model", r.model},
              {"system_fingerprint", "unicorn"},
              {"choices", json::array()},
              {"usage", usage_json(u)}};
    return "data: " + c.dump() + "\n\n";
}

std::string error_event(const ApiError& e) {
    return "event: error\ndata: " + error_json(e) + "\n\n";
}

std::string models_json(const std::string& id, int64_t created, int64_t context) {
    json m = {{"id", id},
              {"object", "model"},
              {"created", created},
              {"owned_by", "unicorn"},
              {"meta", {{"n_ctx", context}}}};
    return json{{"object", "list"}, {"data", json::array({m})}}.dump();
}

}  // namespace unicorn::server
