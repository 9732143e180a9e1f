// The hybrid preset's selection (models/hybrid_plan.h) on synthetic sensitivities: grouping,
// the candidate ladder per row length, and the greedy choice under a KLD target.
#include "models/hybrid_plan.h"

#include <gtest/gtest.h>

#include <cmath>

namespace unicorn {
namespace {

HybridOptionSet opts(std::vector<double> kld, std::vector<uint64_t> bytes) {
    return {std::move(kld), std::move(bytes)};
}

TEST(HybridPlan, GroupsPerLayerAndKindWithTheTypesThatFit) {
    const std::vector<QuantTensor> t = {
        {"token_embd.weight", DType::kF16, Shape{1000, 640}},
        {"blk.0.attn_norm.weight", DType::kF32, Shape{640}},
        {"blk.0.attn_q.weight", DType::kF16, Shape{1024, 640}},
        {"blk.0.ffn_down.weight", DType::kF16, Shape{640, 2048}},
        {"blk.1.attn_q.weight", DType::kF16, Shape{1024, 640}},
    };
    const std::vector<QuantChoice> c = {{DType::kQ8_0, true, false},
                                        {DType::kF32, false, false},
                                        {DType::kQ8_0, true, false},
                                        {DType::kQ8_0, true, false},
                                        {DType::kQ8_0, true, false}};
    const std::vector<HybridGroup> g = hybrid_groups(t, c);
    ASSERT_EQ(g.size(), 4u);
    EXPECT_EQ(g[0].name, "token_embd");
    EXPECT_EQ(g[1].name, "blk.0.attn_q");
    EXPECT_EQ(g[2].name, "blk.0.ffn_down");
    EXPECT_EQ(g[3].name, "blk.1.attn_q");
    // Rows of 640 fit only the 32-element blocks (and F16); rows of 2048 fit every type.
    EXPECT_EQ(g[1].types,
              (std::vector<DType>{DType::kQ4_0, DType::kQ5_0, DType::kQ8_0, DType::kF16}));
    EXPECT_EQ(g[2].types.size(), std::size(kHybridLadder));
    EXPECT_EQ(g[1].type_bytes.front(), 1024u * 20 * 18);  // 20 Q4_0 blocks of 18 bytes a row
    EXPECT_EQ(g[1].type_bytes.back(), 1024u * 640 * 2);
    EXPECT_EQ(g[2].n_elements, 640 * 2048);
}

TEST(HybridPlan, SmallestWhenTheTargetIsLoose) {
    const std::vector<HybridOptionSet> g = {opts({0.02, 0.01, 0}, {10, 20, 40}),
                                            opts({0.03, 0.01, 0}, {10, 20, 40})};
    const HybridPlan p = choose_hybrid_types(g, 1.0);
    EXPECT_TRUE(p.target_met);
    EXPECT_EQ(p.choice, (std::vector<size_t>{0, 0}));
    EXPECT_EQ(p.bytes, 20u);
    EXPECT_DOUBLE_EQ(p.predicted_kld, 0.05);
}

TEST(HybridPlan, SpendsBytesWhereTheyBuyTheMostKld) {
    // Group 0 is sensitive (upgrading it removes 0.09 for 10 bytes); group 1 is not (0.005 for
    // 10 bytes). A target of 0.03 needs only group 0 upgraded.
    const std::vector<HybridOptionSet> g = {opts({0.1, 0.01, 0}, {10, 20, 40}),
                                            opts({0.01, 0.005, 0}, {10, 20, 40})};
    const HybridPlan p = choose_hybrid_types(g, 0.03);
    EXPECT_TRUE(p.target_met);
    EXPECT_EQ(p.choice, (std::vector<size_t>{1, 0}));
    EXPECT_NEAR(p.predicted_kld, 0.02, 1e-12);
    EXPECT_EQ(p.bytes, 30u);
}

TEST(HybridPlan, UndoesOvershootWithTheLargestSafeDowngrade) {
    // Greedy takes group 0's jump to the 100-byte type first (best ratio), which alone meets
    // the target; then group 1's upgrade is unnecessary, and no downgrade may cross it.
    const std::vector<HybridOptionSet> g = {opts({1.0, 0.0}, {10, 100}),
                                            opts({0.2, 0.0}, {10, 1000})};
    const HybridPlan p = choose_hybrid_types(g, 0.25);
    EXPECT_TRUE(p.target_met);
    EXPECT_EQ(p.choice, (std::vector<size_t>{1, 0}));
    EXPECT_EQ(p.bytes, 110u);
    // After an overshoot the downgrade pass trims: a target met by a big upgrade alone, where a
    // cheaper middle type also suffices.
    const std::vector<HybridOptionSet> h = {opts({1.0, 0.3, 0.0}, {10, 11, 100})};
    const HybridPlan q = choose_hybrid_types(h, 0.0);
    EXPECT_EQ(q.choice, (std::vector<size_t>{2}));  // only the exact type reaches 0
    const HybridPlan r = choose_hybrid_types(h, 0.5);
    EXPECT_EQ(r.choice, (std::vector<size_t>{1}));
    EXPECT_EQ(r.bytes, 11u);
}

TEST(HybridPlan, ReportsATargetNoTypesReach) {
    const std::vector<HybridOptionSet> g = {opts({0.5, 0.2}, {10, 20})};
    const HybridPlan p = choose_hybrid_types(g, 0.1);
    EXPECT_FALSE(p.target_met);
    EXPECT_EQ(p.choice, (std::vector<size_t>{1}));  // the best it could do
    EXPECT_DOUBLE_EQ(p.predicted_kld, 0.2);
}

TEST(HybridPlan, MeetsTheTargetOnManyRandomGroupsAtNoMoreBytesThanUniformTypes) {
    // 40 groups, 4 types each with sensitivities spread over two decades: the plan must meet
    // a target that uniform type 2 meets, with no more bytes than uniform type 2.
    std::vector<HybridOptionSet> g;
    double uniform_kld = 0;
    uint64_t uniform_bytes = 0;
    for (int i = 0; i < 40; ++i) {
        const double s = std::pow(10.0, (i % 7) / 3.0) * 1e-4;
        const uint64_t n = 1000 + 37 * static_cast<uint64_t>(i);
        g.push_back(opts({8 * s, 2 * s, 0.5 * s, 0.0}, {n * 3, n * 4, n * 5, n * 16}));
        uniform_kld += 0.5 * s;
        uniform_bytes += n * 5;
    }
    const HybridPlan p = choose_hybrid_types(g, uniform_kld);
    EXPECT_TRUE(p.target_met);
    EXPECT_LE(p.predicted_kld, uniform_kld + 1e-12);
    EXPECT_LE(p.bytes, uniform_bytes);
    double kld = 0;
    uint64_t bytes = 0;
    for (size_t i = 0; i < g.size(); ++i) {
        kld += g[i].kld[p.choice[i]];
        bytes += g[i].bytes[p.choice[i]];
    }
    EXPECT_NEAR(kld, p.predicted_kld, 1e-12);
    EXPECT_EQ(bytes, p.bytes);
}

}  // namespace
}  // namespace unicorn
