// Sampler against the definitions of each filter on synthetic logits, and reproducibility.
#include "runtime/sampler.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <vector>

namespace unicorn {
namespace {

std::vector<double> softmax(const std::vector<float>& l, double temp = 1.0) {
    std::vector<double> p(l.size());
    const double m = *std::max_element(l.begin(), l.end());
    double s = 0;
    for (size_t i = 0; i < l.size(); ++i) s += (p[i] = std::exp((l[i] - m) / temp));
    for (auto& x : p) x /= s;
    return p;
}

const std::vector<float> kLogits = {2.0f, 1.0f, 0.5f, 0.0f, -1.0f, 3.0f, -2.0f, 1.5f};

SamplingParams plain(float temp) {
    SamplingParams p;
    p.temperature = temp;
    p.top_k = 0;
    p.top_p = 1.0f;
    p.min_p = 0.0f;
    return p;
}

TEST(Sampler, TemperatureIsSoftmaxOfScaledLogits) {
    for (float t : {0.5f, 1.0f, 2.0f}) {
        Sampler s(plain(t));
        auto d = s.distribution(kLogits.data(), 8, {});
        auto want = softmax(kLogits, t);
        for (size_t i = 0; i < 8; ++i) EXPECT_NEAR(d[i], want[i], 1e-12);
    }
}

TEST(Sampler, GreedyIsArgmaxWithLowestIdOnTies) {
    Sampler s(plain(0.0f));
    EXPECT_EQ(s.sample(kLogits.data(), 8, {}), 5);
    std::vector<float> tie = {1, 3, 3, 0};
    EXPECT_EQ(s.sample(tie.data(), 4, {}), 1);
}

TEST(Sampler, TopKKeepsTheKLargest) {
    SamplingParams p = plain(1.0f);
    p.top_k = 3;  // ids 5 (3.0), 0 (2.0), 7 (1.5)
    Sampler s(p);
    auto d = s.distribution(kLogits.data(), 8, {});
    const double z = std::exp(3.0) + std::exp(2.0) + std::exp(1.5);
    EXPECT_NEAR(d[5], std::exp(3.0) / z, 1e-12);
    EXPECT_NEAR(d[0], std::exp(2.0) / z, 1e-12);
    EXPECT_NEAR(d[7], std::exp(1.5) / z, 1e-12);
    EXPECT_EQ(d[1] + d[2] + d[3] + d[4] + d[6], 0.0);
}

// A vocabulary the size of Gemma's, logits on a coarse grid (many ties) and a repetition
// penalty: top-k (a bounded selection, not a sort) keeps exactly the k best by (penalized logit,
// then lowest id), and greedy takes the first of them.
TEST(Sampler, TopKAndGreedyOnALargeVocabularyWithTiesAndPenalty) {
    const int64_t n = 262144;
    std::vector<float> l(static_cast<size_t>(n));
    uint32_t x = 12345;
    for (float& v : l) {
        x = x * 1664525u + 1013904223u;
        v = static_cast<float>(static_cast<int>(x >> 24) % 64) / 8.0f;  // 64 levels: ties
    }
    const std::vector<int32_t> history = {7, 99, 7, 2000, 123456};
    SamplingParams p = plain(0.7f);
    p.top_k = 40;
    p.repeat_penalty = 1.3f;
    std::vector<float> pen = l;
    for (int32_t id : {7, 99, 2000, 123456})
        pen[id] = pen[id] > 0 ? pen[id] / p.repeat_penalty : pen[id] * p.repeat_penalty;
    std::vector<int32_t> order(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](int32_t a, int32_t b) { return pen[a] > pen[b]; });
    Sampler s(p);
    const std::vector<double> d = s.distribution(l.data(), n, history);
    double z = 0;
    for (int i = 0; i < 40; ++i) z += std::exp((pen[order[i]] - pen[order[0]]) / 0.7);
    for (int i = 0; i < 40; ++i)
        EXPECT_NEAR(d[order[i]], std::exp((pen[order[i]] - pen[order[0]]) / 0.7) / z, 1e-12) << i;
    EXPECT_NEAR(std::accumulate(d.begin(), d.end(), 0.0), 1.0, 1e-9);
    SamplingParams g = p;
    g.temperature = 0;
    Sampler greedy(g);
    EXPECT_EQ(greedy.sample(l.data(), n, history), order[0]);
}

TEST(Sampler, TopPKeepsTheSmallestPrefixReachingP) {
    auto full = softmax(kLogits);
    std::vector<int> order(8);
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](int a, int b) { return full[a] > full[b]; });
    SamplingParams p = plain(1.0f);
    p.top_p = 0.8f;
    Sampler s(p);
    auto d = s.distribution(kLogits.data(), 8, {});
    double cum = 0;
    size_t kept = 0;
    while (cum < 0.8) cum += full[order[kept++]];
    for (size_t i = 0; i < 8; ++i) EXPECT_EQ(d[order[i]] > 0, i < kept) << i;
}

TEST(Sampler, MinPDropsTokensBelowFractionOfTheBest) {
    SamplingParams p = plain(1.0f);
    p.min_p = 0.3f;  // keep p_i >= 0.3·p_max: logits >= 3 + ln 0.3 = 1.796
    Sampler s(p);
    auto d = s.distribution(kLogits.data(), 8, {});
    for (size_t i = 0; i < 8; ++i) EXPECT_EQ(d[i] > 0, kLogits[i] >= 3.0f + std::log(0.3f)) << i;
}

TEST(Sampler, RepetitionPenaltyDividesPositiveAndMultipliesNegative) {
    SamplingParams p = plain(1.0f);
    p.repeat_penalty = 2.0f;
    Sampler s(p);
    const std::vector<int32_t> hist = {5, 4, 5};
    auto d = s.distribution(kLogits.data(), 8, hist);
    std::vector<float> pen = kLogits;
    pen[5] = 1.5f;   // 3.0 / 2
    pen[4] = -2.0f;  // -1.0 * 2
    auto want = softmax(pen);
    for (size_t i = 0; i < 8; ++i) EXPECT_NEAR(d[i], want[i], 1e-12);
}

TEST(Sampler, DrawsFollowTheDistribution) {
    SamplingParams p = plain(1.0f);
    p.seed = 7;
    Sampler s(p);
    auto want = softmax(kLogits);
    std::vector<int> counts(8, 0);
    const int n = 200000;
    for (int i = 0; i < n; ++i) counts[s.sample(kLogits.data(), 8, {})]++;
    for (size_t i = 0; i < 8; ++i) {
        const double sd = std::sqrt(want[i] * (1 - want[i]) / n);
        EXPECT_NEAR(counts[i] / static_cast<double>(n), want[i], 5 * sd + 1e-9) << i;
    }
}

TEST(Sampler, SameSeedSameTokens) {
    SamplingParams p;
    p.seed = 42;
    Sampler a(p), b(p);
    for (int i = 0; i < 100; ++i)
        EXPECT_EQ(a.sample(kLogits.data(), 8, {}), b.sample(kLogits.data(), 8, {}));
}

TEST(Sampler, RejectsAbsurdParameters) {
    SamplingParams p;
    p.top_p = 0.0f;
    EXPECT_EQ(validate(p).code(), StatusCode::kInvalidArgument);
    p = {};
    p.top_k = -1;
    EXPECT_NE(validate(p).message().find("top-k"), std::string::npos);
    p = {};
    p.temperature = NAN;
    EXPECT_FALSE(validate(p).ok());
    p = {};
    p.repeat_penalty = 0;
    EXPECT_FALSE(validate(p).ok());
    EXPECT_TRUE(validate(SamplingParams{}).ok());
}

}  // namespace
}  // namespace unicorn
