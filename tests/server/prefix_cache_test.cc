// Prefix reuse with the real Gemma 3 270M (skipped, saying why, when scripts/fetch-models has not
// run): a chat's next turn, which resends the conversation, takes the previous request's KV cache
// for the shared start; usage counts those tokens as cached; and the reply is the same text a
// server without kept caches gives (greedy), so reuse changes only the work done.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "server/test_server.h"

namespace unicorn::server {
namespace {

using json = nlohmann::json;

json post_on(const Running& s, const std::string& path, const json& body) {
    auto r = s.client().Post(path, body.dump(), "application/json");
    EXPECT_TRUE(r);
    if (!r) return json();
    EXPECT_EQ(r->status, 200) << r->body;
    return json::parse(r->body, nullptr, false);
}

json turn(const json& messages) {
    return {{"messages", messages}, {"max_tokens", 10}, {"temperature", 0}};
}

TEST(PrefixCacheTest, NextChatTurnReusesTheConversationAndGivesTheSameReply) {
    if (loaded() == nullptr) GTEST_SKIP() << "the Gemma 3 270M GGUF is not fetched";
    json first = json::array({{{"role", "user"}, {"content", "Name three colors."}}});
    Running kept(options(), 64, 1, /*cache_slots=*/2), fresh(options(), 64, 1, /*cache_slots=*/0);
    const json a = post_on(kept, "/v1/chat/completions", turn(first));
    const json a_usage = a["usage"];
    EXPECT_EQ(a_usage["prompt_tokens_details"]["cached_tokens"], 0);
    json second = first;
    second.push_back({{"role", "assistant"}, {"content", a["choices"][0]["message"]["content"]}});
    second.push_back({{"role", "user"}, {"content", "And two more?"}});
    const json b = post_on(kept, "/v1/chat/completions", turn(second));
    const json b_fresh = post_on(fresh, "/v1/chat/completions", turn(second));
    // The whole first prompt is in the kept cache (and the reply's tokens, where the template
    // re-tokenizes them the same way).
    const int64_t cached = b["usage"]["prompt_tokens_details"]["cached_tokens"];
    EXPECT_GE(cached, a_usage["prompt_tokens"].get<int64_t>());
    EXPECT_LT(cached, b["usage"]["prompt_tokens"].get<int64_t>());
    EXPECT_EQ(b_fresh["usage"]["prompt_tokens_details"]["cached_tokens"], 0);
    EXPECT_EQ(b["choices"][0]["message"]["content"], b_fresh["choices"][0]["message"]["content"]);
    EXPECT_EQ(b["usage"]["prompt_tokens"], b_fresh["usage"]["prompt_tokens"]);
    // /metrics counts them.
    auto m = kept.client().Get("/metrics");
    ASSERT_TRUE(m);
    EXPECT_NE(m->body.find("unicorn_prompt_tokens_cached_total " + std::to_string(cached)),
              std::string::npos)
        << m->body;
}

// The same completion prompt again: all but its last token come from the kept cache (the last
// is computed for its logits), and the text repeats.
TEST(PrefixCacheTest, RepeatedPromptReusesAllButItsLastToken) {
    if (loaded() == nullptr) GTEST_SKIP() << "the Gemma 3 270M GGUF is not fetched";
    Running s(options(), 64, 1, /*cache_slots=*/1);
    const json body = {
        {"prompt", "The capital of France is"}, {"max_tokens", 8}, {"temperature", 0}};
    const json a = post_on(s, "/v1/completions", body);
    const json b = post_on(s, "/v1/completions", body);
    EXPECT_EQ(b["usage"]["prompt_tokens_details"]["cached_tokens"],
              b["usage"]["prompt_tokens"].get<int64_t>() - 1);
    EXPECT_EQ(a["choices"][0]["text"], b["choices"][0]["text"]);
}

}  // namespace
}  // namespace unicorn::server
