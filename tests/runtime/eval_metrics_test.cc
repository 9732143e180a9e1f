// Perplexity and KL statistics on synthetic logits with answers worked out by hand.
#include "runtime/eval_metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace unicorn::eval {
namespace {

TEST(EvalMetrics, UniformLogitsGivePerplexityOfTheVocabulary) {
    const std::vector<float> logits(8, 3.25f);  // any constant: p = 1/8 for every token
    PerplexityStats s;
    for (int32_t t = 0; t < 8; ++t) s.add(-log_prob(logits, t));
    EXPECT_NEAR(s.ppl(), 8.0, 1e-9);
    EXPECT_EQ(s.count(), 8);
    EXPECT_EQ(s.ppl_error(), 0.0);  // every NLL equal: no spread
}

TEST(EvalMetrics, LogProbIsStableForHugeLogits) {
    const std::vector<float> logits = {1000.0f, 1000.0f, -1000.0f};
    EXPECT_NEAR(log_prob(logits, 0), -std::log(2.0), 1e-12);
    EXPECT_TRUE(std::isfinite(log_prob(logits, 2)));
}

TEST(EvalMetrics, PerplexityAndErrorMatchHandComputation) {
    // p(target) = 3/4 and 1/4: NLLs a = ln(4/3), b = ln 4.
    const std::vector<float> logits = {0.0f, std::log(3.0f)};
    PerplexityStats s;
    s.add(-log_prob(logits, 1));
    s.add(-log_prob(logits, 0));
    const double a = std::log(4.0 / 3.0), b = std::log(4.0);
    const double ppl = std::exp((a + b) / 2);  // = sqrt(16/3)
    EXPECT_NEAR(s.ppl(), ppl, 1e-6);
    // llama-perplexity: ppl · sqrt((mean(nll²) − mean²) / (n − 1)) = ppl · |a − b| / 2.
    EXPECT_NEAR(s.ppl_error(), ppl * (b - a) / 2, 1e-6);
}

TEST(EvalMetrics, MeanAndErrorFollowLlamaCpp) {
    // Fewer than 11 values: the error is reported as 0.
    EXPECT_EQ(mean_and_error(10.0, 30.0, 10).error, 0.0);
    // 11 values, 0 ×5 and 2 ×6: mean 12/11, var = 24/11 − (12/11)²; error sqrt(var / 10).
    const MeanError m = mean_and_error(12.0, 24.0, 11);
    const double mean = 12.0 / 11, var = 24.0 / 11 - mean * mean;
    EXPECT_NEAR(m.mean, mean, 1e-12);
    EXPECT_NEAR(m.error, std::sqrt(var / 10), 1e-12);
}

std::vector<float> log_softmax(const std::vector<float>& logits) {
    double sum = 0;
    for (float x : logits) sum += std::exp(static_cast<double>(x));
    std::vector<float> out;
    for (float x : logits) out.push_back(static_cast<float>(x - std::log(sum)));
    return out;
}

TEST(EvalMetrics, IdenticalDistributionsHaveZeroKlAndAgree) {
    const std::vector<float> logits = {0.5f, -1.0f, 2.0f, 0.0f, 1.5f};
    const std::vector<float> base = log_softmax(logits);
    const PositionComparison c = compare_position(logits, base, 2, base[4], 4);
    EXPECT_NEAR(c.kld, 0.0, 1e-7);
    EXPECT_TRUE(c.same_top);
    EXPECT_NEAR(c.nll, c.nll_base, 1e-6);
    EXPECT_NEAR(c.p_diff, 0.0, 1e-6);
}

TEST(EvalMetrics, KlDivergenceMatchesHandComputation) {
    // base p = (1/2, 1/2), Q = (1/4, 3/4):
    // KL = ½ ln(½ / ¼) + ½ ln(½ / ¾) = ½ ln(4/3); target 1: Δp = ¾ − ½.
    const std::vector<float> q_logits = {std::log(0.25f), std::log(0.75f)};
    const std::vector<float> base = {std::log(0.5f), std::log(0.5f)};
    const PositionComparison c = compare_position(q_logits, base, 0, base[1], 1);
    EXPECT_NEAR(c.kld, 0.5 * std::log(4.0 / 3.0), 1e-6);
    EXPECT_NEAR(c.nll, -std::log(0.75), 1e-6);
    EXPECT_NEAR(c.nll_base, std::log(2.0), 1e-6);
    EXPECT_NEAR(c.p_diff, 0.25, 1e-6);
    EXPECT_FALSE(c.same_top);  // Q's argmax is 1, the base's 0
}

TEST(EvalMetrics, TokensWithoutBaseMassAreLeftOutOfKl) {
    // base (1, 0, 0) as (0, −inf, −inf); Q (½, ¼, ¼): KL = 1 · ln(1 / ½) = ln 2.
    const std::vector<float> q_logits = {std::log(0.5f), std::log(0.25f), std::log(0.25f)};
    const std::vector<float> base = {0.0f, -INFINITY, -INFINITY};
    const PositionComparison c = compare_position(q_logits, base, 0, 0.0f, 0);
    EXPECT_NEAR(c.kld, std::log(2.0), 1e-6);
    EXPECT_TRUE(c.same_top);
}

TEST(EvalMetrics, PercentilesInterpolateLikeLlamaCpp) {
    const std::vector<double> v = {1, 2, 3, 4};
    EXPECT_DOUBLE_EQ(percentile(v, 0.5), 2.5);
    EXPECT_NEAR(percentile(v, 0.99), 3.97, 1e-12);
    EXPECT_DOUBLE_EQ(percentile(v, 0.0), 1.0);
    EXPECT_DOUBLE_EQ(percentile(v, 1.0), 4.0);
    const Quantiles q = quantiles({5, 1, 3});
    EXPECT_EQ(q.min, 1);
    EXPECT_EQ(q.median, 3);
    EXPECT_EQ(q.max, 5);
}

TEST(EvalMetrics, KlSummaryAggregatesPositions) {
    KlStats s;
    // 20 positions: KL 0.1 at even, 0.3 at odd; argmax agrees on 15; NLL − NLL_base = 0.2.
    for (int i = 0; i < 20; ++i) {
        PositionComparison c;
        c.kld = i % 2 == 0 ? 0.1 : 0.3;
        c.nll_base = 1.0 + 0.05 * i;
        c.nll = c.nll_base + 0.2;
        c.p_diff = i % 2 == 0 ? -0.1 : 0.1;
        c.same_top = i < 15;
        s.add(c);
    }
    const KlSummary k = s.summary();
    EXPECT_EQ(k.count, 20);
    EXPECT_NEAR(k.kld.mean, 0.2, 1e-12);
    EXPECT_NEAR(k.kld_q.median, 0.2, 1e-12);  // mean of the middle two: 0.1 and 0.3
    EXPECT_NEAR(k.kld_q.max, 0.3, 1e-12);
    EXPECT_NEAR(k.kld_q.p99, 0.3, 1e-12);
    EXPECT_NEAR(k.same_top.mean, 0.75, 1e-12);
    EXPECT_NEAR(k.same_top.error, std::sqrt(0.75 * 0.25 / 19), 1e-12);
    EXPECT_NEAR(k.ln_ppl_ratio.mean, 0.2, 1e-12);
    // NLL and NLL_base differ by a constant: perfectly correlated, so the ratio has no error.
    EXPECT_NEAR(k.ln_ppl_correlation, 1.0, 1e-9);
    EXPECT_NEAR(k.ln_ppl_ratio.error, 0.0, 1e-6);
    EXPECT_NEAR(k.p_diff.mean, 0.0, 1e-12);
    EXPECT_NEAR(k.p_diff_rms.mean, 0.1, 1e-12);
    EXPECT_NEAR(k.ppl.mean / k.ppl_base.mean, std::exp(0.2), 1e-12);
}

}  // namespace
}  // namespace unicorn::eval
