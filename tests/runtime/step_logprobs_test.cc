// step_logprobs (the API's logprobs) against log-softmax computed directly in long double, over
// logits that break naive code: a large offset (exp overflows without the max shift), ties (the
// order the greedy sampler uses), -inf and NaN entries, and top_n past the vocabulary.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "runtime/sampler.h"

namespace unicorn {
namespace {

std::vector<long double> log_softmax(const std::vector<float>& l) {
    long double m = -INFINITY;
    for (float x : l)
        if (std::isfinite(x)) m = std::max<long double>(m, x);
    long double s = 0;
    for (float x : l)
        if (std::isfinite(x)) s += std::exp(static_cast<long double>(x) - m);
    std::vector<long double> out;
    for (float x : l) out.push_back(std::isfinite(x) ? x - m - std::log(s) : -INFINITY);
    return out;
}

TEST(StepLogprobsTest, MatchesLogSoftmaxAndSortsTheTop) {
    std::mt19937 rng(3);
    std::normal_distribution<float> normal(0.0f, 4.0f);
    for (int n : {1, 7, 33, 1000}) {
        std::vector<float> l(n);
        for (float& x : l) x = 500.0f + normal(rng);  // exp(500) overflows a double
        const std::vector<long double> want = log_softmax(l);
        const int32_t chosen = n / 2;
        const StepLogprobs got = step_logprobs(l.data(), n, chosen, 5);
        EXPECT_EQ(got.chosen.id, chosen);
        EXPECT_NEAR(got.chosen.logprob, static_cast<double>(want[chosen]), 1e-9) << n;
        ASSERT_EQ(got.top.size(), static_cast<size_t>(std::min(n, 5)));
        double sum = 0;
        for (size_t i = 0; i < got.top.size(); ++i) {
            const TokenLogprob& t = got.top[i];
            EXPECT_NEAR(t.logprob, static_cast<double>(want[t.id]), 1e-9);
            EXPECT_LE(t.logprob, 0.0);
            if (i > 0) {
                EXPECT_GE(got.top[i - 1].logprob, t.logprob);
            }
            sum += std::exp(t.logprob);
        }
        EXPECT_LE(sum, 1.0 + 1e-12);
        // Nothing outside the top beats its last entry.
        for (int id = 0; id < n; ++id) {
            bool in_top = false;
            for (const TokenLogprob& t : got.top) in_top |= t.id == id;
            if (!in_top) {
                EXPECT_LE(want[id], want[got.top.back().id]);
            }
        }
    }
}

TEST(StepLogprobsTest, TiesGoToTheLowerIdAsTheGreedySamplerPicks) {
    const std::vector<float> l = {1.0f, 3.0f, 2.0f, 3.0f, 3.0f};
    const StepLogprobs got = step_logprobs(l.data(), 5, 1, 4);
    ASSERT_EQ(got.top.size(), 4u);
    EXPECT_EQ(got.top[0].id, 1);
    EXPECT_EQ(got.top[1].id, 3);
    EXPECT_EQ(got.top[2].id, 4);
    EXPECT_EQ(got.top[3].id, 2);
    SamplingParams greedy;
    greedy.temperature = 0.0f;
    Sampler s(greedy);
    EXPECT_EQ(s.sample(l.data(), 5, {}), got.top[0].id);
}

TEST(StepLogprobsTest, NonFiniteLogitsHaveProbabilityZeroAndTopNIsClamped) {
    const float nan = std::numeric_limits<float>::quiet_NaN();
    const std::vector<float> l = {0.0f, -INFINITY, nan, 0.0f};
    const StepLogprobs got = step_logprobs(l.data(), 4, 3, 50);
    EXPECT_NEAR(got.chosen.logprob, std::log(0.5), 1e-12);
    ASSERT_EQ(got.top.size(), 4u);
    EXPECT_NEAR(got.top[0].logprob, std::log(0.5), 1e-12);
    EXPECT_NEAR(got.top[1].logprob, std::log(0.5), 1e-12);
    EXPECT_TRUE(std::isinf(got.top[2].logprob) && got.top[2].logprob < 0);
    EXPECT_TRUE(step_logprobs(l.data(), 4, 0, 0).top.empty());
}

}  // namespace
}  // namespace unicorn
