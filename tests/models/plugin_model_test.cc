// Whole models through a backend plugin (include/unicorn/backend_plugin.h): the test plugin
// built from the CPU backend (tests/plugin/cpu_plugin.cc) runs the same kernels behind the C
// ABI, so its logits must equal the CPU backend's bit for bit and its greedy tokens the
// transformers golden's. The linear-only build proves the per-op CPU fallback: every other op
// runs on the engine's CPU backend, with the same result.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <tuple>

#include "fixture.h"

namespace unicorn {
namespace {

using testing::fixture_dir;
using testing::Golden;
using testing::load_golden;
using testing::Runner;

std::string plugin_path(const std::string& variant) {
    const char* env = std::getenv("UNICORN_TEST_PLUGIN_DIR");
    const std::string dir = env != nullptr && *env != 0 ? env : UNICORN_TEST_PLUGIN_DIR;
    return dir + "/libunicorn_test_" + variant + "_plugin.so";
}

// Bitwise equality of two F32 [rows, cols] tensors: the count of differing elements.
int64_t differing(const Tensor& a, const Tensor& b) {
    int64_t n = 0;
    for (int64_t r = 0; r < a.rows(); ++r)
        for (int64_t c = 0; c < a.cols(); ++c)
            n += std::memcmp(&a.row<float>(r)[c], &b.row<float>(r)[c], sizeof(float)) != 0;
    return n;
}

// plugin variant, model (a fixture folder or a GGUF file in tests/data/models), golden fixture
using Param = std::tuple<std::string, std::string, std::string>;

class PluginModelTest : public ::testing::TestWithParam<Param> {
  protected:
    const std::string& variant() const { return std::get<0>(GetParam()); }
    std::string model() const { return fixture_dir(std::get<1>(GetParam())); }
    const std::string& golden() const { return std::get<2>(GetParam()); }
    std::string device() const { return "plugin:" + plugin_path(variant()); }

    std::vector<int32_t> greedy(Runner& r, const Golden& g) { return r.greedy_after(g, 4); }
};

TEST_P(PluginModelTest, LogitsEqualTheCpuBackendsBitForBit) {
    const Golden g = load_golden(golden());
    Runner cpu(model());
    Runner plugin(model(), {}, device());
    ASSERT_TRUE(cpu.model && plugin.model);
    EXPECT_EQ(plugin.ctx->primary().name(), "plugin:test_" + variant());
    // Chunks of 4: several prefill steps, so cached KV rows are read back through the plugin.
    Tensor want = cpu.logits(g.prompt, 4);
    Tensor got = plugin.logits(g.prompt, 4);
    ASSERT_TRUE(want.defined() && got.defined());
    ASSERT_EQ(got.shape(), want.shape());
    EXPECT_EQ(differing(got, want), 0);

    // Which backend ran what: the full plugin everything it supports (the CPU only the fused
    // altup_coefs, which no CPU-based backend offers); the linear-only one linear alone.
    const auto& stats = plugin.ctx->op_stats();
    for (int op = 0; op < static_cast<int>(OpKind::kCount); ++op) {
        const OpStats& st = stats[static_cast<size_t>(op)];
        SCOPED_TRACE(op_name(static_cast<OpKind>(op)));
        if (static_cast<OpKind>(op) == OpKind::kAltupCoefs) continue;
        if (variant() == "cpu" || static_cast<OpKind>(op) == OpKind::kLinear)
            EXPECT_EQ(st.fallbacks, 0);
        else
            EXPECT_EQ(st.fallbacks, st.calls);
    }
    EXPECT_GT(stats[static_cast<size_t>(OpKind::kLinear)].calls, 0);
    EXPECT_GT(stats[static_cast<size_t>(OpKind::kRmsNorm)].calls, 0);
}

TEST_P(PluginModelTest, GreedyTokensEqualTheCpusAndTheGolden) {
    const Golden g = load_golden(golden());
    Runner cpu(model());
    Runner plugin(model(), {}, device());
    ASSERT_TRUE(cpu.model && plugin.model);
    const std::vector<int32_t> want = greedy(cpu, g);
    EXPECT_EQ(greedy(plugin, g), want);
    if (std::get<1>(GetParam()) == golden()) {
        EXPECT_EQ(want, g.greedy);
    }
}

std::vector<Param> params() {
    std::vector<Param> out;
    for (const char* variant : {"cpu", "cpu_linear"}) {
        for (const char* f : {"llama_smol", "llama3_scaled", "gemma3_tiny", "gemma3_softcap",
                              "gemma3n_tiny", "gemma3n_alt"})
            out.emplace_back(variant, f, f);
        // GGUF copies, some with quantized weights (linear of every weight type via the ABI).
        out.emplace_back(variant, "llama_smol.gguf", "llama_smol");
        out.emplace_back(variant, "gemma3n_tiny.llamacpp.gguf", "gemma3n_tiny");
    }
    return out;
}

INSTANTIATE_TEST_SUITE_P(Plugins, PluginModelTest, ::testing::ValuesIn(params()),
                         [](const ::testing::TestParamInfo<Param>& info) {
                             std::string n =
                                 std::get<0>(info.param) + "_" + std::get<1>(info.param);
                             for (char& c : n)
                                 if (c == '.') c = '_';
                             return n;
                         });

// The plugin found by name through UNICORN_BACKEND_PATH, as `--device plugin:NAME` does.
TEST(PluginModelByName, RunsThroughTheSearchPath) {
    const char* old = std::getenv("UNICORN_BACKEND_PATH");
    const std::string saved = old != nullptr ? old : "";
    setenv("UNICORN_BACKEND_PATH", plugin_path("cpu").c_str(), 1);
    const Golden g = load_golden("llama_smol");
    Runner cpu(fixture_dir("llama_smol"));
    Runner plugin(fixture_dir("llama_smol"), {}, "plugin:test_cpu");
    if (old != nullptr)
        setenv("UNICORN_BACKEND_PATH", saved.c_str(), 1);
    else
        unsetenv("UNICORN_BACKEND_PATH");
    ASSERT_TRUE(cpu.model && plugin.model);
    EXPECT_EQ(differing(plugin.logits(g.prompt), cpu.logits(g.prompt)), 0);
}

}  // namespace
}  // namespace unicorn
