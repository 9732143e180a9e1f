// The OpenAI API schema ⇄ native structs (docs/reference/formats-and-apis.md §1–3). Requests
// are validated here — types, ranges, caps — so the engine sees only sensible values, and every
// refusal carries the HTTP status, the OpenAI error type and a message naming the field.
// Responses and SSE chunks are built in the exact shapes the official clients parse.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "runtime/sampler.h"
#include "text/chat_format.h"

namespace unicorn::server {

struct ApiError {
    int status = 400;
    std::string type = "invalid_request_error";
    std::string message;
    std::string param;  // the offending field, "" when none
};

// {"error":{"message","type","param","code"}} (OpenAI's envelope; code = the HTTP status as a
// string, as Ollama does, so both openai-python and llama.cpp-style clients read it).
std::string error_json(const ApiError& e);

struct Limits {
    int32_t max_tokens_cap = 4096;  // the most a request may ask for
    int32_t default_max_tokens = 512;
    int32_t context = 4096;
};

struct CompletionRequest {
    bool chat = true;                         // /v1/chat/completions, else /v1/completions
    std::vector<text::ChatMessage> messages;  // chat
    std::string prompt;                       // completions
    std::string model;                        // as sent ("" when absent)
    int32_t max_tokens = 0;
    SamplingParams sampling;
    std::vector<std::string> stop;
    bool stream = false;
    bool include_usage = false;  // stream_options.include_usage
    // Log-probabilities: -1 = not asked; else how many most likely tokens to list per generated
    // token (chat: logprobs true + top_logprobs 0..20; completions: logprobs 0..5).
    int32_t logprobs = -1;
};

// The body of a chat or completions request; an ApiError names what is wrong.
struct Parsed {
    CompletionRequest request;
    std::optional<ApiError> error;
};
Parsed parse_completion_request(const std::string& body, bool chat, const Limits& limits,
                                uint64_t default_seed);

struct Usage {
    int64_t prompt_tokens = 0, completion_tokens = 0;
    int64_t cached_tokens = 0;  // prompt tokens whose KV came from an earlier request
};

// One generated token's log-probabilities as the API reports them (engine → HTTP). Texts are
// the token's bytes (special tokens spelled out), which may end inside a UTF-8 character.
struct TokenInfo {
    std::string text;
    double logprob = 0.0;
};
struct TokenLogprobs {
    TokenInfo chosen;
    std::vector<TokenInfo> top;  // most likely first
    int64_t text_offset = 0;     // characters of the completion before this token (legacy API)
};
using Logprobs = std::vector<TokenLogprobs>;

// Identity of one response: every chunk of a stream repeats it.
struct ResponseId {
    std::string id;  // "chatcmpl-…" / "cmpl-…"
    int64_t created = 0;
    std::string model;
};

// The whole non-streamed response. `logprobs` null: not asked (the field is null); else one
// entry per generated token, as choices[0].logprobs in the chat shape ({content: [{token,
// logprob, bytes, top_logprobs}]}) or the legacy completions one ({tokens, token_logprobs,
// top_logprobs, text_offset}).
std::string completion_json(const ResponseId& r, bool chat, const std::string& text,
                            const std::string& finish_reason, const Usage& u,
                            const Logprobs* logprobs = nullptr);
// One SSE event ("data: {…}\n\n"). The first chat chunk carries the role; `finish_reason`
// "" means null; the usage chunk has no choices. `logprobs`: the entries of this chunk's tokens
// (null or empty: the field is null).
std::string chunk_event(const ResponseId& r, bool chat, bool first, const std::string& text,
                        const std::string& finish_reason, const Logprobs* logprobs = nullptr);
std::string usage_event(const ResponseId& r, bool chat, const Usage& u);
// An error inside a stream: "event: error" plus a data line with the error envelope, which
// openai-python raises as APIError (a bare "error:" field would be ignored).
std::string error_event(const ApiError& e);
constexpr const char* kDoneEvent = "data: [DONE]\n\n";

std::string models_json(const std::string& id, int64_t created, int64_t context);

}  // namespace unicorn::server
