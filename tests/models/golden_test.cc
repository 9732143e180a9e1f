// Golden tests against Hugging Face transformers (fp32, eager attention) on tiny random-weight
// checkpoints (tools/make_fixtures.py), plus the three invariants of architecture §4.7:
// prefill-then-decode equals one full pass, a batch equals its sequences run alone, and the
// GGUF copy (written by our own converter) equals the safetensors copy.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "fixture.h"

namespace unicorn {
namespace {

using testing::fixture_dir;
using testing::Golden;
using testing::load_golden;
using testing::Runner;
using testing::worst_relative_row_error;

// The acceptance bound: per position, max|Δ| ≤ 1e-3 · max|ref|. fp32 everywhere; the observed
// error is ~1e-6, so this leaves room only for accumulation-order noise, not for a bug.
constexpr double kGoldenTolerance = 1e-3;
// Two runs of our own engine that differ only in batching/chunking: same kernels, different
// row counts, so only accumulation order may differ.
constexpr double kSelfTolerance = 1e-4;

class GoldenTest : public ::testing::TestWithParam<std::string> {
  protected:
    std::string tmp_dir() {
        auto d = std::filesystem::temp_directory_path() /
                 ("unicorn_golden_" + GetParam() + "_" + std::to_string(::getpid()));
        std::filesystem::create_directories(d);
        return d.string();
    }
};

TEST_P(GoldenTest, LogitsMatchTransformers) {
    Golden g = load_golden(GetParam());
    Runner r(fixture_dir(GetParam()));
    ASSERT_TRUE(r.model);
    Tensor logits = r.logits(g.prompt);
    ASSERT_EQ(logits.rows(), g.logits.shape[0]);
    ASSERT_EQ(logits.cols(), g.logits.shape[1]);
    const double err =
        worst_relative_row_error(logits, g.logits.data.data(), logits.rows(), logits.cols());
    EXPECT_LE(err, kGoldenTolerance);
    RecordProperty("worst_relative_row_error", std::to_string(err));
}

TEST_P(GoldenTest, GreedyContinuationMatchesTransformers) {
    Golden g = load_golden(GetParam());
    Runner r(fixture_dir(GetParam()));
    ASSERT_TRUE(r.model);
    Session s = r.session();
    auto logits = s.prefill(g.prompt, false);
    ASSERT_TRUE(logits.ok()) << logits.status().to_string();
    auto next = s.greedy(*logits, static_cast<int>(g.greedy.size()));
    ASSERT_TRUE(next.ok()) << next.status().to_string();
    EXPECT_EQ(*next, g.greedy);
}

TEST_P(GoldenTest, PrefillThenDecodeEqualsOneFullPass) {
    Golden g = load_golden(GetParam());
    Runner r(fixture_dir(GetParam()));
    ASSERT_TRUE(r.model);
    Tensor full = r.logits(g.prompt);
    const int64_t vocab = full.cols();
    // Prefill 9 tokens (longer than the sliding windows), then decode the rest one by one.
    Session s = r.session();
    std::vector<int32_t> head(g.prompt.begin(), g.prompt.begin() + 9);
    auto first = s.prefill(head, true);
    ASSERT_TRUE(first.ok());
    Tensor stepwise = Tensor::empty(DType::kF32, Shape{full.rows(), vocab});
    for (int64_t i = 0; i < 9; ++i)
        std::memcpy(stepwise.row<float>(i), first->row<float>(i), stepwise.row_bytes());
    for (size_t i = 9; i < g.prompt.size(); ++i) {
        auto step = s.decode(g.prompt[i]);
        ASSERT_TRUE(step.ok()) << step.status().to_string();
        std::memcpy(stepwise.row<float>(static_cast<int64_t>(i)), step->row<float>(0),
                    stepwise.row_bytes());
    }
    EXPECT_LE(worst_relative_row_error(stepwise, full), kSelfTolerance);
}

TEST_P(GoldenTest, ChunkedPrefillEqualsOneFullPass) {
    Golden g = load_golden(GetParam());
    Runner r(fixture_dir(GetParam()));
    ASSERT_TRUE(r.model);
    Tensor full = r.logits(g.prompt);
    for (int32_t chunk : {1, 3, 7}) {  // smaller and larger than the sliding windows
        EXPECT_LE(worst_relative_row_error(r.logits(g.prompt, chunk), full), kSelfTolerance)
            << "chunk " << chunk;
    }
}

TEST_P(GoldenTest, BatchEqualsSequencesRunAlone) {
    Golden g = load_golden(GetParam());
    Runner r(fixture_dir(GetParam()));
    ASSERT_TRUE(r.model);
    const std::vector<int32_t> a = g.prompt;
    const std::vector<int32_t> b(g.prompt.rbegin(), g.prompt.rbegin() + 11);
    Tensor alone_a = r.logits(a), alone_b = r.logits(b);
    KvCache kv_a(r.model->kv_layout(), 64, 64), kv_b(r.model->kv_layout(), 64, 64);
    SequenceChunk chunks[2] = {{a, 0, &kv_a, true}, {b, 0, &kv_b, true}};
    auto both = r.model->forward(*r.ctx, chunks);
    ASSERT_TRUE(both.ok()) << both.status().to_string();
    const int64_t na = static_cast<int64_t>(a.size()), nb = static_cast<int64_t>(b.size());
    EXPECT_LE(worst_relative_row_error(both->slice_rows(0, na), alone_a), kSelfTolerance);
    EXPECT_LE(worst_relative_row_error(both->slice_rows(na, na + nb), alone_b), kSelfTolerance);
}

TEST_P(GoldenTest, GgufCopyEqualsSafetensorsCopy) {
    Golden g = load_golden(GetParam());
    const std::string gguf = tmp_dir() + "/model.gguf";
    Status s = convert_to_gguf(fixture_dir(GetParam()), gguf);
    ASSERT_TRUE(s.ok()) << s.to_string();
    Runner hf(fixture_dir(GetParam())), gg(gguf);
    ASSERT_TRUE(hf.model && gg.model);
    EXPECT_EQ(gg.model->info().source_format, "gguf");
    EXPECT_LE(worst_relative_row_error(gg.logits(g.prompt), hf.logits(g.prompt)), kSelfTolerance);
    Session sess = gg.session();
    auto last = sess.prefill(g.prompt, false);
    ASSERT_TRUE(last.ok());
    EXPECT_EQ(*sess.greedy(*last, static_cast<int>(g.greedy.size())), g.greedy);
    // The committed GGUF copy is exactly what the converter writes today.
    std::ifstream fresh(gguf, std::ios::binary),
        committed(fixture_dir(GetParam()) + ".gguf", std::ios::binary);
    ASSERT_TRUE(committed.good()) << "missing committed " << fixture_dir(GetParam()) << ".gguf";
    EXPECT_TRUE(std::equal(std::istreambuf_iterator<char>(fresh), {},
                           std::istreambuf_iterator<char>(committed)))
        << "tests/data/models/" << GetParam() << ".gguf is stale: regenerate with unicorn convert";
    std::filesystem::remove_all(std::filesystem::path(gguf).parent_path());
}

// config.json variants: older RoPE keys instead of rope_parameters, and the text config nested
// under text_config (as multimodal checkpoints have it) — same weights, same logits.
TEST_P(GoldenTest, OlderConfigFormsGiveSameLogits) {
    Golden g = load_golden(GetParam());
    const std::string dir = tmp_dir() + "/hf";
    std::filesystem::create_directories(dir);
    for (const auto& e : std::filesystem::directory_iterator(fixture_dir(GetParam()))) {
        if (e.path().filename() != "config.json")
            std::filesystem::create_symlink(e.path(), dir + "/" + e.path().filename().string());
    }
    std::ifstream in(fixture_dir(GetParam()) + "/config.json");
    nlohmann::json cfg = nlohmann::json::parse(in);
    nlohmann::json rp = cfg["rope_parameters"];
    cfg.erase("rope_parameters");
    if (rp.contains("full_attention")) {
        cfg["rope_theta"] = rp["full_attention"]["rope_theta"];
        cfg["rope_local_base_freq"] = rp["sliding_attention"]["rope_theta"];
        cfg["rope_scaling"] = nullptr;
    } else {
        cfg["rope_theta"] = rp["rope_theta"];
        if (rp["rope_type"] != "default") {
            rp.erase("rope_theta");
            cfg["rope_scaling"] = rp;
        }
    }
    nlohmann::json outer = {
        {"model_type", "wrapper"}, {"architectures", {"Wrapper"}}, {"text_config", cfg}};
    std::ofstream(dir + "/config.json") << outer.dump(1);
    Runner base(fixture_dir(GetParam())), old(dir);
    ASSERT_TRUE(base.model && old.model);
    EXPECT_LE(worst_relative_row_error(old.logits(g.prompt), base.logits(g.prompt)), 1e-7);
    std::filesystem::remove_all(std::filesystem::path(dir).parent_path());
}

INSTANTIATE_TEST_SUITE_P(Fixtures, GoldenTest,
                         ::testing::Values("llama_smol", "llama3_scaled", "gemma3_tiny",
                                           "gemma3_softcap", "gemma3n_tiny", "gemma3n_alt"));

}  // namespace
}  // namespace unicorn
