// Every model fixture on the CUDA backend: the same transformers goldens and invariants as on
// the CPU (golden_test.cc), and the CPU's own logits. Skips, saying why, without a CUDA device.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "fixture.h"

namespace unicorn {
namespace {

using testing::fixture_dir;
using testing::Golden;
using testing::load_golden;
using testing::Runner;
using testing::worst_relative_row_error;

class CudaModelTest : public ::testing::TestWithParam<std::string> {
  protected:
    void SetUp() override {
        ThreadPool pool(1);
        auto b = create_backend("cuda", pool);
        if (!b.ok()) GTEST_SKIP() << b.status().message();
    }
};

// fp32 everywhere on the device too: the bound of the CPU goldens (1e-3 of the row's largest
// logit) holds with the same margin; the GPU sums in a different order than the CPU, so the two
// engines agree to accumulation noise (1e-4).
TEST_P(CudaModelTest, LogitsMatchTransformersAndTheCpu) {
    Golden g = load_golden(GetParam());
    Runner gpu(fixture_dir(GetParam()), {}, "cuda"), cpu(fixture_dir(GetParam()));
    ASSERT_TRUE(gpu.model && cpu.model);
    Tensor logits = gpu.logits(g.prompt);
    ASSERT_TRUE(logits.defined() && logits.rows() == g.logits.shape[0]);
    const double err =
        worst_relative_row_error(logits, g.logits.data.data(), logits.rows(), logits.cols());
    EXPECT_LE(err, 1e-3);
    RecordProperty("worst_relative_row_error", std::to_string(err));
    EXPECT_LE(worst_relative_row_error(logits, cpu.logits(g.prompt)), 1e-4);
}

TEST_P(CudaModelTest, GreedyAndStepwiseDecodeMatch) {
    Golden g = load_golden(GetParam());
    Runner gpu(fixture_dir(GetParam()), {}, "cuda");
    ASSERT_TRUE(gpu.model);
    Session s = gpu.session();
    auto logits = s.prefill(g.prompt, false);
    ASSERT_TRUE(logits.ok()) << logits.status().to_string();
    auto next = s.greedy(*logits, static_cast<int>(g.greedy.size()));
    ASSERT_TRUE(next.ok()) << next.status().to_string();
    EXPECT_EQ(*next, g.greedy);
    // Chunked prefill (chunks smaller and larger than the sliding windows) equals one pass.
    Tensor full = gpu.logits(g.prompt);
    ASSERT_TRUE(full.defined());
    for (int32_t chunk : {1, 3, 7})
        EXPECT_LE(worst_relative_row_error(gpu.logits(g.prompt, chunk), full), 1e-4) << chunk;
}

TEST_P(CudaModelTest, GgufCopyMatches) {
    Golden g = load_golden(GetParam());
    Runner gpu(fixture_dir(GetParam()) + ".gguf", {}, "cuda");
    ASSERT_TRUE(gpu.model);
    Tensor logits = gpu.logits(g.prompt);
    ASSERT_TRUE(logits.defined() && logits.rows() == g.logits.shape[0]);
    EXPECT_LE(worst_relative_row_error(logits, g.logits.data.data(), logits.rows(), logits.cols()),
              1e-3);
}

int64_t counter(const Backend& b, const std::string& name) {
    for (const auto& [n, v] : b.counters())
        if (n == name) return v;
    return -1;
}

// Decode steps replayed as CUDA graphs compute exactly what launching each kernel computes:
// the same kernels on the same data, with positions, KV rows and key counts read from the
// step's arena. 30 greedy steps cross power-of-two key counts (new step shapes) and, on the
// Gemma fixtures, the sliding window's ring; every logit must be bit-identical.
TEST_P(CudaModelTest, GraphReplayIsBitIdenticalToDirectLaunches) {
    Golden g = load_golden(GetParam());
    auto run = [&](bool graphs, int64_t* replayed) {
        setenv("UNICORN_CUDA_GRAPHS", graphs ? "1" : "0", 1);
        Runner gpu(fixture_dir(GetParam()), {}, "cuda");
        unsetenv("UNICORN_CUDA_GRAPHS");
        std::vector<std::vector<float>> rows;
        if (!gpu.model) return rows;
        Session s = gpu.session(256, 128);
        auto logits = s.prefill(g.prompt, false);
        for (int step = 0; step < 30 && logits.ok(); ++step) {
            const float* r = logits->row<float>(logits->rows() - 1);
            rows.emplace_back(r, r + logits->cols());
            const auto best = std::max_element(rows.back().begin(), rows.back().end());
            logits = s.decode(static_cast<int32_t>(best - rows.back().begin()));
        }
        EXPECT_TRUE(logits.ok()) << logits.status().to_string();
        *replayed = counter(*gpu.device, "steps_replayed");
        return rows;
    };
    int64_t replayed_on = 0, replayed_off = 0;
    const auto with = run(true, &replayed_on), without = run(false, &replayed_off);
    ASSERT_EQ(with.size(), 30u);
    ASSERT_EQ(without.size(), 30u);
    for (size_t i = 0; i < with.size(); ++i)
        ASSERT_EQ(std::memcmp(with[i].data(), without[i].data(), with[i].size() * sizeof(float)), 0)
            << "step " << i;
    EXPECT_GE(replayed_on, 20) << "decode steps should replay their graph";
    EXPECT_EQ(replayed_off, 0);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, CudaModelTest,
                         ::testing::Values("llama_smol", "llama3_scaled", "gemma3_tiny",
                                           "gemma3_softcap", "gemma3n_tiny", "gemma3n_alt"));

}  // namespace
}  // namespace unicorn
