// Automatic fallback when a device fails mid-generation: UNICORN_FAULT-style injected device
// errors (ExecContext::set_fault) during prefill and during decode. The session must re-run the
// failed step on the CPU after recomputing the KV cache there, so no token is lost or changed:
// greedy tokens equal the fault-free run's and the transformers golden, logits equal the CPU's.
// Runs on every device backend present (Vulkan's lavapipe in CI, CUDA on a GPU machine).
#include <gtest/gtest.h>

#include <tuple>

#include "exec/fault_injection.h"
#include "fixture.h"

namespace unicorn {
namespace {

using testing::fixture_dir;
using testing::Golden;
using testing::load_golden;
using testing::Runner;
using testing::worst_relative_row_error;

using Param = std::tuple<std::string, std::string>;  // device, fixture

class DeviceFallbackTest : public ::testing::TestWithParam<Param> {
  protected:
    void SetUp() override {
        ThreadPool pool(1);
        auto b = create_backend(device(), pool);
        if (!b.ok()) GTEST_SKIP() << b.status().message();
    }
    const std::string& device() const { return std::get<0>(GetParam()); }
    const std::string& fixture() const { return std::get<1>(GetParam()); }
    // Greedy tokens after the golden prompt, prefilled in chunks of 4 (several steps).
    std::vector<int32_t> greedy(Runner& r, const Golden& g) { return r.greedy_after(g, 4); }
};

TEST_P(DeviceFallbackTest, AFaultInPrefillOrDecodeLosesAndChangesNoToken) {
    const Golden g = load_golden(fixture());
    const int64_t prefill_steps = (static_cast<int64_t>(g.prompt.size()) + 3) / 4;
    ASSERT_GE(prefill_steps, 3);
    ASSERT_GE(g.greedy.size(), 4u);
    Runner clean(fixture_dir(fixture()), {}, device());
    ASSERT_TRUE(clean.model);
    const std::vector<int32_t> want = greedy(clean, g);
    EXPECT_EQ(want, g.greedy);
    EXPECT_EQ(clean.ctx->device_fallbacks(), 0);
    // Step 1: the first prefill chunk (nothing cached yet); 2: a later one; then the second
    // decode step (the prompt and one generated token must be recomputed on the CPU).
    for (int64_t step : {int64_t{1}, int64_t{2}, prefill_steps + 2}) {
        SCOPED_TRACE("fault at step " + std::to_string(step));
        Runner r(fixture_dir(fixture()), {}, device());
        ASSERT_TRUE(r.model);
        r.ctx->set_fault(FaultSpec{device(), step});
        EXPECT_EQ(greedy(r, g), want);
        EXPECT_EQ(r.ctx->device_fallbacks(), 1);
        EXPECT_EQ(r.ctx->primary().name(), "cpu");
    }
}

TEST_P(DeviceFallbackTest, LogitsAfterAFaultEqualTheCpus) {
    const Golden g = load_golden(fixture());
    Runner cpu(fixture_dir(fixture()));
    Runner r(fixture_dir(fixture()), {}, device());
    ASSERT_TRUE(cpu.model && r.model);
    r.ctx->set_fault(FaultSpec{device(), 3});
    Tensor got = r.logits(g.prompt, /*chunk=*/4);  // rows of chunks 1-2 from the device
    ASSERT_TRUE(got.defined());
    EXPECT_EQ(r.ctx->device_fallbacks(), 1);
    EXPECT_LE(worst_relative_row_error(got, cpu.logits(g.prompt, 4)), 1e-4);
}

TEST_P(DeviceFallbackTest, BadRequestsDoNotMoveToTheCpu) {
    Runner r(fixture_dir(fixture()), {}, device());
    ASSERT_TRUE(r.model);
    Session s = r.session();
    const int32_t out_of_vocab = static_cast<int32_t>(r.model->info().vocab) + 5;
    const std::vector<int32_t> bad = {1, out_of_vocab};
    EXPECT_FALSE(s.prefill(bad, false).ok());
    EXPECT_EQ(r.ctx->device_fallbacks(), 0);
    EXPECT_NE(r.ctx->primary().name(), "cpu");
}

INSTANTIATE_TEST_SUITE_P(Devices, DeviceFallbackTest,
                         ::testing::Combine(::testing::Values("vulkan", "cuda"),
                                            ::testing::Values("llama_smol", "gemma3_tiny",
                                                              "gemma3n_tiny")),
                         [](const ::testing::TestParamInfo<Param>& info) {
                             return std::get<0>(info.param) + "_" + std::get<1>(info.param);
                         });

TEST(FaultSpec, ParsesDeviceAndStepAndRejectsTheRest) {
    auto none = parse_fault_spec("");
    ASSERT_TRUE(none.ok());
    EXPECT_FALSE(none->has_value());
    auto v = parse_fault_spec("vulkan:5");
    ASSERT_TRUE(v.ok() && v->has_value());
    EXPECT_EQ((*v)->device, "vulkan");
    EXPECT_EQ((*v)->step, 5);
    auto c = parse_fault_spec("cuda:0:12");
    ASSERT_TRUE(c.ok() && c->has_value());
    EXPECT_EQ((*c)->device, "cuda:0");
    EXPECT_EQ((*c)->step, 12);
    for (const char* bad : {"vulkan", "vulkan:", ":3", "vulkan:0", "vulkan:-1", "vulkan:2x"}) {
        auto r = parse_fault_spec(bad);
        ASSERT_FALSE(r.ok()) << bad;
        EXPECT_NE(r.status().message().find("DEVICE:STEP"), std::string::npos) << bad;
    }
}

}  // namespace
}  // namespace unicorn
