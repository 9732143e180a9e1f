// MatFormer slice planning: the official E2B recipe on an E4B-shaped layer table, and the
// requests that cannot be honoured, each with an error that names the problem.
#include "models/common/matformer.h"

#include <gtest/gtest.h>

namespace unicorn {
namespace {

// E4B: 35 layers of FFN 16384; the last 15 share K/V of layer 18 (sliding) or 19 (global).
std::vector<int> e4b_kv_sources() {
    std::vector<int> src(35);
    for (int l = 0; l < 35; ++l) src[l] = l < 20 ? l : ((l + 1) % 5 == 0 ? 19 : 18);
    return src;
}

TEST(MatFormerTest, E2BPresetKeepsThirtyLayersAtHalfWidth) {
    auto spec = parse_matformer("E2B", "", "");
    ASSERT_TRUE(spec.ok()) << spec.status().to_string();
    auto plan = plan_matformer(*spec, std::vector<int64_t>(35, 16384), e4b_kv_sources(), 256);
    ASSERT_TRUE(plan.ok()) << plan.status().to_string();
    ASSERT_EQ(plan->kept.size(), 30u);
    EXPECT_EQ(plan->kept[19], 19);
    EXPECT_EQ(plan->kept[20], 25);  // 20…24 dropped
    for (int64_t f : plan->ffn) EXPECT_EQ(f, 8192);
}

TEST(MatFormerTest, CustomListsPerLayer) {
    auto spec = parse_matformer("", "1", "64,32,96");
    ASSERT_TRUE(spec.ok()) << spec.status().to_string();
    auto plan = plan_matformer(*spec, {128, 128, 128, 128}, {0, 1, 2, 2}, 32);
    ASSERT_TRUE(plan.ok()) << plan.status().to_string();
    EXPECT_EQ(plan->kept, (std::vector<int>{0, 2, 3}));
    EXPECT_EQ(plan->ffn, (std::vector<int64_t>{64, 32, 96}));
}

TEST(MatFormerTest, RejectsWhatCannotBeSliced) {
    const auto error = [](const std::string& preset, const std::string& skip,
                          const std::string& ffn, std::vector<int64_t> widths, std::vector<int> src,
                          int64_t block) {
        auto spec = parse_matformer(preset, skip, ffn);
        if (!spec.ok()) return spec.status().message();
        auto plan = plan_matformer(*spec, widths, src, block);
        return plan.ok() ? std::string("ok") : plan.status().message();
    };
    const std::vector<int64_t> w4(4, 128);
    const std::vector<int> src = {0, 1, 2, 1};
    EXPECT_NE(error("E3B", "", "", w4, src, 1).find("unknown MatFormer preset"), std::string::npos);
    EXPECT_NE(error("E2B", "1", "", w4, src, 1).find("not both"), std::string::npos);
    EXPECT_NE(error("", "1", "", w4, src, 1).find("FFN width list"), std::string::npos);
    EXPECT_NE(error("", "x", "64", w4, src, 1).find("not a comma-separated"), std::string::npos);
    EXPECT_NE(error("", "7", "64", w4, src, 1).find("does not exist"), std::string::npos);
    EXPECT_NE(error("", "2,2", "64", w4, src, 1).find("skipped twice"), std::string::npos);
    EXPECT_NE(error("", "1", "64", w4, src, 1).find("producers cannot be skipped"),
              std::string::npos);
    EXPECT_NE(error("", "0,1,2,3", "64", w4, src, 1).find("drops every layer"), std::string::npos);
    EXPECT_NE(error("", "2", "64,64", w4, src, 1).find("FFN widths for 3 kept layers"),
              std::string::npos);
    EXPECT_NE(error("", "2", "256", w4, src, 1).find("outside 1…128"), std::string::npos);
    EXPECT_NE(error("", "2", "100", w4, src, 32).find("32-element blocks"), std::string::npos);
    // The E2B preset on a model with fewer than 25 layers names the missing layer.
    EXPECT_NE(error("E2B", "", "", w4, src, 1).find("layer 20 does not exist"), std::string::npos);
}

}  // namespace
}  // namespace unicorn
