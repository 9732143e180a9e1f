// The OpenAI schema without a model: what parses, what is refused (status, type, param), and
// the response and SSE shapes the official clients read.
#include "server/api.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace unicorn::server
