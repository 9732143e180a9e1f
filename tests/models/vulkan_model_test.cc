// Every model fixture (llama, gemma3, gemma3n) on the Vulkan backend (lavapipe in CI): the
// transformers goldens and invariants of golden_test.cc, and the CPU's own logits and greedy
// tokens. Skips, saying why, without a Vulkan device.
#include <gtest/gtest.h>

#include "fixture.h"

namespace unicorn {
namespace {

using testing::fixture_dir;
using testing::Golden;
using testing::load_golden;
using testing::Runner;
using testing::worst_relative_row_error;

class VulkanModelTest : public ::testing::TestWithParam<std::string> {
  protected:
    void SetUp() override {
        ThreadPool pool(1);
        auto b = create_backend("vulkan", pool);
        if (!b.ok()) GTEST_SKIP() << b.status().message();
    }
};

// fp32 on the device: the CPU goldens' bound (1e-3 of the row's largest logit) holds; the
// shaders sum in another order than the CPU, so the two agree to accumulation noise (1e-4).
TEST_P(VulkanModelTest, LogitsMatchTransformersAndTheCpu) {
    Golden g = load_golden(GetParam());
    Runner gpu(fixture_dir(GetParam()), {}, "vulkan"), cpu(fixture_dir(GetParam()));
    ASSERT_TRUE(gpu.model && cpu.model);
    Tensor logits = gpu.logits(g.prompt);
    ASSERT_TRUE(logits.defined() && logits.rows() == g.logits.shape[0]);
    const double err =
        worst_relative_row_error(logits, g.logits.data.data(), logits.rows(), logits.cols());
    EXPECT_LE(err, 1e-3);
    RecordProperty("worst_relative_row_error", std::to_string(err));
    EXPECT_LE(worst_relative_row_error(logits, cpu.logits(g.prompt)), 1e-4);
}

TEST_P(VulkanModelTest, GreedyMatchesTheCpuAndChunkedPrefillMatchesOnePass) {
    Golden g = load_golden(GetParam());
    Runner gpu(fixture_dir(GetParam()), {}, "vulkan"), cpu(fixture_dir(GetParam()));
    ASSERT_TRUE(gpu.model && cpu.model);
    const std::vector<int32_t> on_gpu = gpu.greedy_after(g);
    EXPECT_EQ(on_gpu, g.greedy);
    EXPECT_EQ(on_gpu, cpu.greedy_after(g));
    // Chunks smaller and larger than the sliding windows equal one pass.
    Tensor full = gpu.logits(g.prompt);
    ASSERT_TRUE(full.defined());
    for (int32_t chunk : {1, 3, 7})
        EXPECT_LE(worst_relative_row_error(gpu.logits(g.prompt, chunk), full), 1e-4) << chunk;
}

TEST_P(VulkanModelTest, GgufCopyMatches) {
    Golden g = load_golden(GetParam());
    Runner gpu(fixture_dir(GetParam()) + ".gguf", {}, "vulkan");
    ASSERT_TRUE(gpu.model);
    Tensor logits = gpu.logits(g.prompt);
    ASSERT_TRUE(logits.defined() && logits.rows() == g.logits.shape[0]);
    EXPECT_LE(worst_relative_row_error(logits, g.logits.data.data(), logits.rows(), logits.cols()),
              1e-3);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, VulkanModelTest,
                         ::testing::Values("llama_smol", "llama3_scaled", "gemma3_tiny",
                                           "gemma3_softcap", "gemma3n_tiny", "gemma3n_alt"));

}  // namespace
}  // namespace unicorn
