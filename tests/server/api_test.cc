// The OpenAI schema without a model: what parses, what is refused (status, type, param), and
// the response and SSE shapes the official clients read.
#include "server/api.h"

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

namespace unicorn::server {
namespace {

using json = nlohmann::json;

Parsed chat(const std::string& body) { return parse_completion_request(body, true, {}, 7); }

TEST(ApiTest, ChatRequestFieldsArrive) {
    Parsed p = chat(R"({"model":"m","messages":[{"role":"system","content":"be brief"},
        {"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}],
        "max_completion_tokens":12,"temperature":0.5,"top_p":0.9,"top_k":5,"min_p":0.1,
        "seed":42,"stop":["x","y"],"stream":true,"stream_options":{"include_usage":true}})");
    ASSERT_FALSE(p.error) << p.error->message;
    const CompletionRequest& r = p.request;
    ASSERT_EQ(r.messages.size(), 2u);
    EXPECT_EQ(r.messages[1].content, "ab");
    EXPECT_EQ(r.max_tokens, 12);
    EXPECT_FLOAT_EQ(r.sampling.temperature, 0.5f);
    EXPECT_EQ(r.sampling.top_k, 5);
    EXPECT_EQ(r.sampling.seed, 42u);
    EXPECT_EQ(r.stop, (std::vector<std::string>{"x", "y"}));
    EXPECT_TRUE(r.stream && r.include_usage);
}

TEST(ApiTest, DefaultsApplyWhenFieldsAreAbsent) {
    Parsed p = chat(R"({"messages":[{"role":"user","content":"hi"}],"stop":"END"})");
    ASSERT_FALSE(p.error);
    EXPECT_EQ(p.request.max_tokens, Limits{}.default_max_tokens);
    EXPECT_EQ(p.request.sampling.seed, 7u);
    EXPECT_EQ(p.request.stop, std::vector<std::string>{"END"});
    EXPECT_FALSE(p.request.stream);
}

TEST(ApiTest, RefusalsNameTheField) {
    struct Case {
        const char* body;
        const char* param;
    };
    const std::string m = R"("messages":[{"role":"user","content":"hi"}])";
    for (const Case& c :
         {Case{R"("max_tokens":0)", "max_tokens"}, Case{R"("max_tokens":5000)", "max_tokens"},
          Case{R"("temperature":-1)", "temperature"}, Case{R"("temperature":"x")", "temperature"},
          Case{R"("top_p":0)", "top_p"}, Case{R"("n":3)", "n"},
          Case{R"("stop":["a","b","c","d","e"])", "stop"}, Case{R"("tools":[{}])", "tools"},
          Case{R"("model":5)", "model"}}) {
        Parsed p = chat("{" + m + "," + c.body + "}");
        ASSERT_TRUE(p.error) << c.body;
        EXPECT_EQ(p.error->status, 400);
        EXPECT_EQ(p.error->param, c.param) << c.body;
    }
    EXPECT_TRUE(chat("{").error);
    EXPECT_TRUE(chat(R"({"messages":[]})").error);
    EXPECT_TRUE(chat(R"({"messages":[{"role":"user","content":{"a":1}}]})").error);
    EXPECT_TRUE(parse_completion_request(R"({"prompt":["a"]})", false, {}, 0).error);
    EXPECT_FALSE(parse_completion_request(R"({"prompt":"a"})", false, {}, 0).error);
}

TEST(ApiTest, ErrorEnvelopeAndStreamEvents) {
    json e = json::parse(error_json({404, "not_found_error", "no such model", "model"}));
    EXPECT_EQ(e["error"]["type"], "not_found_error");
    EXPECT_EQ(e["error"]["code"], "404");
    EXPECT_EQ(e["error"]["param"], "model");
    const std::string ev = error_event({500, "server_error", "boom", ""});
    EXPECT_EQ(ev.rfind("event: error\ndata: {", 0), 0u);

    const ResponseId id{"chatcmpl-1", 100, "m"};
    const std::string first = chunk_event(id, true, true, "", "");
    ASSERT_EQ(first.rfind("data: ", 0), 0u);
    json c = json::parse(first.substr(6));
    EXPECT_EQ(c["choices"][0]["delta"]["role"], "assistant");
    EXPECT_TRUE(c["choices"][0]["finish_reason"].is_null());
    json last = json::parse(chunk_event(id, true, false, "", "length").substr(6));
    EXPECT_EQ(last["choices"][0]["finish_reason"], "length");
    EXPECT_TRUE(last["choices"][0]["delta"].empty());
    json u = json::parse(usage_event(id, true, {3, 4}).substr(6));
    EXPECT_TRUE(u["choices"].empty());
    EXPECT_EQ(u["usage"]["total_tokens"], 7);
    json whole = json::parse(completion_json(id, false, "txt", "stop", {1, 2}));
    EXPECT_EQ(whole["object"], "text_completion");
    EXPECT_EQ(whole["choices"][0]["text"], "txt");
}

Parsed completions(const std::string& body) { return parse_completion_request(body, false, {}, 7); }

TEST(ApiTest, LogprobsRequestFields) {
    const std::string m = R"("messages":[{"role":"user","content":"hi"}])";
    EXPECT_EQ(chat("{" + m + "}").request.logprobs, -1) << "not asked";
    EXPECT_EQ(chat("{" + m + R"(,"logprobs":false})").request.logprobs, -1);
    EXPECT_EQ(chat("{" + m + R"(,"logprobs":true})").request.logprobs, 0);
    EXPECT_EQ(chat("{" + m + R"(,"logprobs":true,"top_logprobs":20})").request.logprobs, 20);
    EXPECT_EQ(chat("{" + m + R"(,"logprobs":null,"top_logprobs":null})").request.logprobs, -1);
    EXPECT_EQ(completions(R"({"prompt":"a","logprobs":5})").request.logprobs, 5);
    EXPECT_EQ(completions(R"({"prompt":"a","logprobs":0})").request.logprobs, 0);
    EXPECT_EQ(completions(R"({"prompt":"a"})").request.logprobs, -1);
    struct Case {
        bool chat;
        std::string body;
        const char* param;
    };
    for (const Case& c : {
             Case{true, "{" + m + R"(,"logprobs":true,"top_logprobs":21})", "top_logprobs"},
             Case{true, "{" + m + R"(,"logprobs":true,"top_logprobs":-1})", "top_logprobs"},
             Case{true, "{" + m + R"(,"logprobs":true,"top_logprobs":"3"})", "top_logprobs"},
             Case{true, "{" + m + R"(,"logprobs":true,"top_logprobs":2.5})", "top_logprobs"},
             Case{true, "{" + m + R"(,"logprobs":"yes"})", "logprobs"},
             Case{true, "{" + m + R"(,"logprobs":1})", "logprobs"},
             Case{true, "{" + m + R"(,"top_logprobs":3})", "top_logprobs"},
             Case{false, R"({"prompt":"a","logprobs":6})", "logprobs"},
             Case{false, R"({"prompt":"a","logprobs":true})", "logprobs"},
             Case{false, R"({"prompt":"a","logprobs":-1})", "logprobs"},
         }) {
        Parsed p = c.chat ? chat(c.body) : completions(c.body);
        ASSERT_TRUE(p.error) << c.body;
        EXPECT_EQ(p.error->status, 400);
        EXPECT_EQ(p.error->type, "invalid_request_error");
        EXPECT_EQ(p.error->param, c.param) << c.body;
        json e = json::parse(error_json(*p.error));
        EXPECT_NE(e["error"]["message"].get<std::string>().find(c.param), std::string::npos)
            << "the message names the field: " << e.dump();
    }
}

// Two tokens: "é" split over two byte tokens (texts that are not UTF-8 on their own) and " b".
Logprobs sample_logprobs() {
    TokenLogprobs a{{"\xC3", -0.25}, {{"\xC3", -0.25}, {"x", -2.0}}, 0};
    TokenLogprobs b{{"\xA9", -0.5}, {{"y", -0.125}, {"\xA9", -0.5}}, 0};
    TokenLogprobs c{{" b", -1.5}, {{" b", -1.5}, {" c", -1.5}}, 1};
    return {a, b, c};
}

TEST(ApiTest, ChatLogprobsHaveTheOpenAiShape) {
    const ResponseId id{"chatcmpl-1", 100, "m"};
    const Logprobs lps = sample_logprobs();
    json whole = json::parse(completion_json(id, true, "\xC3\xA9 b", "length", {1, 3}, &lps));
    const json& lp = whole["choices"][0]["logprobs"];
    ASSERT_TRUE(lp["content"].is_array()) << whole.dump();
    ASSERT_EQ(lp["content"].size(), 3u);
    const json& first = lp["content"][0];
    EXPECT_EQ(first["bytes"], json::array({0xC3})) << "the exact bytes";
    EXPECT_EQ(first["token"], "\xEF\xBF\xBD") << "an incomplete character becomes U+FFFD";
    EXPECT_DOUBLE_EQ(first["logprob"].get<double>(), -0.25);
    ASSERT_EQ(first["top_logprobs"].size(), 2u);
    EXPECT_EQ(first["top_logprobs"][1]["token"], "x");
    EXPECT_EQ(first["top_logprobs"][1]["bytes"], json::array({'x'}));
    EXPECT_EQ(lp["content"][2]["token"], " b");
    // Not asked: null, as before.
    EXPECT_TRUE(
        json::parse(completion_json(id, true, "t", "stop", {1, 1}))["choices"][0]["logprobs"]
            .is_null());
    // A stream chunk carries its own tokens' entries; a chunk without tokens has null.
    const Logprobs one = {lps[2]};
    json c = json::parse(chunk_event(id, true, false, " b", "", &one).substr(6));
    ASSERT_EQ(c["choices"][0]["logprobs"]["content"].size(), 1u);
    EXPECT_EQ(c["choices"][0]["logprobs"]["content"][0]["token"], " b");
    const Logprobs none;
    EXPECT_TRUE(
        json::parse(chunk_event(id, true, true, "", "", &none).substr(6))["choices"][0]["logprobs"]
            .is_null());
}

TEST(ApiTest, CompletionsLogprobsHaveTheLegacyShape) {
    const ResponseId id{"cmpl-1", 100, "m"};
    const Logprobs lps = sample_logprobs();
    json whole = json::parse(completion_json(id, false, "\xC3\xA9 b", "length", {1, 3}, &lps));
    const json& lp = whole["choices"][0]["logprobs"];
    EXPECT_EQ(lp["tokens"].size(), 3u);
    EXPECT_EQ(lp["tokens"][2], " b");
    EXPECT_EQ(lp["token_logprobs"], json::array({-0.25, -0.5, -1.5}));
    EXPECT_EQ(lp["text_offset"], json::array({0, 0, 1}));
    ASSERT_EQ(lp["top_logprobs"].size(), 3u);
    // Each dict: the top entries plus the sampled token (up to logprobs + 1 entries).
    EXPECT_EQ(lp["top_logprobs"][1].size(), 2u);
    EXPECT_DOUBLE_EQ(lp["top_logprobs"][1]["y"].get<double>(), -0.125);
    EXPECT_EQ(lp["top_logprobs"][2].size(), 2u);
    EXPECT_DOUBLE_EQ(lp["top_logprobs"][2][" c"].get<double>(), -1.5);
    // A probability of zero is -9999 (JSON has no -Infinity), as OpenAI writes it.
    const Logprobs zero = {TokenLogprobs{{"z", -INFINITY}, {}, 0}};
    json z = json::parse(chunk_event(id, false, false, "z", "", &zero).substr(6));
    EXPECT_EQ(z["choices"][0]["logprobs"]["token_logprobs"][0], -9999.0);
    EXPECT_EQ(z["choices"][0]["logprobs"]["top_logprobs"][0]["z"], -9999.0);
}

}  // namespace
}  // namespace unicorn::server
