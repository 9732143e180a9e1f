// The server engine when its device fails mid-generation (an injected fault, as UNICORN_FAULT
// would inject it): every running request finishes with the same text as on a CPU-only engine,
// none fails, and /metrics counts the fallback. SmolLM2 135M on Vulkan (lavapipe in CI, slow:
// the fault comes at the second step, after which everything runs on the CPU); the CPU runs its
// exact float path, which computes what the fp32 shaders compute, so the text cannot depend on
// where a step ran.
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>

#include "backend/registry.h"
#include "core/cache_dir.h"
#include "core/cpu_features.h"
#include "io/gguf.h"
#include "models/registry.h"
#include "server/engine.h"

namespace unicorn::server {
namespace {

struct Generated {
    std::string text;
    std::string finish;
    bool failed = false;
};

class EngineFallbackTest : public ::testing::Test {
  protected:
    void SetUp() override {
        path_ = cached_model_path("smollm2-135m-instruct-Q4_1.gguf");
        if (!std::filesystem::exists(path_))
            GTEST_SKIP() << path_ << " not fetched (run scripts/fetch-models)";
        if (!create_backend("vulkan", pool_).ok()) GTEST_SKIP() << "no Vulkan device";
        set_isa_override(IsaLevel::kScalar);
        model_ = std::move(load_model(path_).value());
        tok_ = std::move(text::Tokenizer::from_gguf(io::GgufFile::open(path_).value()).value());
    }
    void TearDown() override { set_isa_override(IsaLevel::kAvx512); }

    // Two requests at once on an engine whose primary is `device`; `fault_step` > 0 makes that
    // forward pass fail part-way.
    std::vector<Generated> serve(const std::string& device, int64_t fault_step, Metrics& metrics) {
        auto cpu = std::move(create_backend("cpu", pool_).value());
        auto dev = device == "cpu" ? nullptr : std::move(create_backend(device, pool_).value());
        ExecContext ctx(dev ? *dev : *cpu, *cpu);
        if (fault_step > 0) ctx.set_fault(FaultSpec{device, fault_step});
        Engine engine(*model_, ctx, *tok_, metrics, Engine::Options{128, 64, 8, 2, 64, 0});
        std::vector<std::shared_ptr<Channel>> outs;
        for (const char* prompt : {"The capital of France is", "One, two, three,"}) {
            Job j;
            j.prompt = tok_->encode(prompt, /*add_special=*/true, /*parse_special=*/false).value();
            j.max_tokens = 6;
            j.sampling.temperature = 0;
            j.out = std::make_shared<Channel>();
            j.arrived = std::chrono::steady_clock::now();
            outs.push_back(j.out);
            EXPECT_TRUE(engine.submit(std::move(j)));
        }
        std::vector<Generated> got;
        for (auto& out : outs) {
            Generated g;
            while (auto e = out->pop(std::chrono::milliseconds(120000))) {
                if (e->kind == Event::Kind::kText) g.text += e->text;
                if (e->kind == Event::Kind::kDone) g.finish = e->finish_reason;
                if (e->kind == Event::Kind::kError) g.failed = true;
                if (e->kind != Event::Kind::kText) break;
            }
            got.push_back(g);
        }
        EXPECT_EQ(ctx.device_fallbacks(), fault_step > 0 ? 1 : 0);
        return got;
    }

    ThreadPool pool_{2};
    std::string path_;
    std::unique_ptr<Model> model_;
    std::unique_ptr<text::Tokenizer> tok_;
};

TEST_F(EngineFallbackTest, RunningRequestsFinishOnTheCpuWithTheSameText) {
    Metrics on_cpu, faulted;
    const std::vector<Generated> want = serve("cpu", 0, on_cpu);
    const std::vector<Generated> got = serve("vulkan", 2, faulted);
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) {
        EXPECT_FALSE(got[i].failed) << i;
        EXPECT_EQ(got[i].finish, "length") << i;
        EXPECT_FALSE(want[i].text.empty()) << i;
        EXPECT_EQ(got[i].text, want[i].text) << i;
    }
    EXPECT_NE(faulted.render().find("unicorn_device_fallbacks_total 1"), std::string::npos);
    // The device's memory, recorded while it ran (the step before the fault).
    EXPECT_NE(faulted.render().find("unicorn_memory_bytes{device=\"vulkan:0\"} "),
              std::string::npos);
    EXPECT_NE(on_cpu.render().find("unicorn_device_fallbacks_total 0"), std::string::npos);
}

}  // namespace
}  // namespace unicorn::server
