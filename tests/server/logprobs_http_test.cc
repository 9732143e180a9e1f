// logprobs over HTTP with the real Gemma 3 270M (skipped, saying why, when scripts/fetch-models
// has not run): the chat shape whole and streamed and the legacy completions shape, one entry
// per completion token, each a log-probability (<= 0) whose top list is sorted and sums to at
// most 1, and — greedy — the chosen token first in its top list with the same value. Request
// validation is in api_test.cc.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "server/test_server.h"

namespace unicorn::server {
namespace {

using json = nlohmann::json;

class LogprobsHttpTest : public SharedServerTest {
  protected:
    // A greedy chat completion of 8 tokens at most, with `extra` fields.
    static json chat(const std::string& user, json extra = json::object()) {
        json body = {{"messages", {{{"role", "user"}, {"content", user}}}},
                     {"max_tokens", 8},
                     {"temperature", 0}};
        body.update(extra);
        int status = 0;
        json j = post("/v1/chat/completions", body, &status);
        EXPECT_EQ(status, 200) << j.dump();
        return j;
    }
};

// What every chat logprobs entry must satisfy: logprob <= 0; `top` top_logprobs, most likely
// first, whose probabilities sum to at most 1; under greedy decoding the chosen token is the
// first of them, with the same logprob.
void check_chat_entries(const json& content, size_t top, bool greedy) {
    for (const json& e : content) {
        ASSERT_TRUE(e["token"].is_string()) << e.dump();
        ASSERT_TRUE(e["bytes"].is_array()) << e.dump();
        const double lp = e["logprob"].get<double>();
        EXPECT_LE(lp, 0.0) << e.dump();
        const json& tops = e["top_logprobs"];
        ASSERT_EQ(tops.size(), top) << e.dump();
        double sum = 0.0;
        for (size_t i = 0; i < tops.size(); ++i) {
            const double t = tops[i]["logprob"].get<double>();
            EXPECT_LE(t, 0.0);
            if (i > 0) {
                EXPECT_GE(tops[i - 1]["logprob"].get<double>(), t) << "sorted, most likely first";
            }
            sum += std::exp(t);
        }
        EXPECT_LE(sum, 1.0 + 1e-5) << e.dump();
        if (greedy && top > 0) {
            EXPECT_EQ(tops[0]["bytes"], e["bytes"]) << "greedy picks the most likely: " << e.dump();
            EXPECT_EQ(tops[0]["logprob"].get<double>(), lp) << e.dump();
        }
    }
}

std::string bytes_of(const json& entries) {
    std::string out;
    for (const json& e : entries)
        for (const json& b : e["bytes"]) out.push_back(static_cast<char>(b.get<int>()));
    return out;
}

TEST_F(LogprobsHttpTest, ChatLogprobsOneEntryPerTokenWholeAndStreamed) {
    const json asked = {{"logprobs", true}, {"top_logprobs", 5}};
    json j = chat("Count to five.", asked);
    const json& content = j["choices"][0]["logprobs"]["content"];
    ASSERT_TRUE(content.is_array()) << j.dump();
    EXPECT_EQ(content.size(), j["usage"]["completion_tokens"].get<size_t>());
    check_chat_entries(content, 5, /*greedy=*/true);
    EXPECT_EQ(bytes_of(content), j["choices"][0]["message"]["content"].get<std::string>());

    // Streamed: each chunk carries the entries of its own tokens (their bytes are its text);
    // together they are the whole response's.
    json body = {{"messages", {{{"role", "user"}, {"content", "Count to five."}}}},
                 {"max_tokens", 8},
                 {"temperature", 0},
                 {"stream", true},
                 {"logprobs", true},
                 {"top_logprobs", 5}};
    json streamed = json::array();
    for (const std::string& ev : stream(body)) {
        if (ev == "[DONE]") continue;
        const json c = json::parse(ev);
        const json& ch = c["choices"][0];
        const std::string text = ch["delta"].value("content", "");
        if (ch["logprobs"].is_null()) {
            EXPECT_TRUE(text.empty()) << "text without its tokens' logprobs: " << ev;
            continue;
        }
        EXPECT_EQ(bytes_of(ch["logprobs"]["content"]), text) << ev;
        for (const json& e : ch["logprobs"]["content"]) streamed.push_back(e);
    }
    EXPECT_EQ(streamed, content);

    // top_logprobs 0: the chosen tokens only; not asked: null.
    json bare = chat("Count to five.", {{"logprobs", true}});
    check_chat_entries(bare["choices"][0]["logprobs"]["content"], 0, true);
    EXPECT_TRUE(chat("Count to five.")["choices"][0]["logprobs"].is_null());
    // With a stop string, the stop string's tokens are counted and listed too.
    const std::string full = j["choices"][0]["message"]["content"];
    if (full.size() >= 4) {
        json s = chat("Count to five.", {{"logprobs", true}, {"stop", {full.substr(2, 2)}}});
        EXPECT_EQ(s["choices"][0]["logprobs"]["content"].size(),
                  s["usage"]["completion_tokens"].get<size_t>());
    }
}

TEST_F(LogprobsHttpTest, CompletionsLogprobsHaveTheLegacyShape) {
    int status = 0;
    json j = post("/v1/completions",
                  {{"prompt", "The capital of France is"},
                   {"max_tokens", 6},
                   {"temperature", 0},
                   {"logprobs", 3}},
                  &status);
    ASSERT_EQ(status, 200) << j.dump();
    const json& lp = j["choices"][0]["logprobs"];
    const size_t n = j["usage"]["completion_tokens"].get<size_t>();
    ASSERT_EQ(lp["tokens"].size(), n) << j.dump();
    ASSERT_EQ(lp["token_logprobs"].size(), n);
    ASSERT_EQ(lp["top_logprobs"].size(), n);
    ASSERT_EQ(lp["text_offset"].size(), n);
    std::string joined;
    for (size_t i = 0; i < n; ++i) {
        const std::string tok = lp["tokens"][i];
        const double chosen = lp["token_logprobs"][i].get<double>();
        EXPECT_LE(chosen, 0.0);
        // Characters before this token (all ASCII here, so bytes).
        EXPECT_EQ(lp["text_offset"][i].get<size_t>(), joined.size());
        joined += tok;
        const json& d = lp["top_logprobs"][i];
        EXPECT_GE(d.size(), 3u);
        EXPECT_LE(d.size(), 4u) << "the top 3 plus the sampled token";
        ASSERT_TRUE(d.contains(tok)) << d.dump();
        EXPECT_EQ(d[tok].get<double>(), chosen);
        double best = -1e300, sum = 0.0;
        for (const auto& [k, v] : d.items()) {
            best = std::max(best, v.get<double>());
            sum += std::exp(v.get<double>());
        }
        EXPECT_EQ(best, chosen) << "greedy: the sampled token is the most likely";
        EXPECT_LE(sum, 1.0 + 1e-5);
    }
    EXPECT_EQ(joined, j["choices"][0]["text"].get<std::string>());
}

}  // namespace
}  // namespace unicorn::server
