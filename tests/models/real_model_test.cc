// Real models (scripts/fetch-models) against llama.cpp built from source (references in
// tests/data/real/, made by tools/make_llama_refs.py; commit named in their JSON).
//
// These small quantized models have many near-ties: llama.cpp's own top-1 over the 512-token
// text changes at 3.5% (Gemma) / 3.1% (SmolLM2) of positions between decoding it in one batch
// and one token at a time (the references record both), at 4.3% / 2.9% between its F16 and F32
// KV caches, and ours between 8-bit and float activations by as much: int8 activation rounding
// turns last-bit differences of any evaluation order into ~0.2 logit differences. So the tests
// also hold Unicorn's agreement with llama.cpp's batch to the level llama.cpp's own
// token-by-token decode reaches (kSelfSlack below it at most), and split
// what must agree from what is rounding: wherever the margin between the top two logits is
// above kNearTie, the top-1 must agree at every position; a greedy divergence is accepted only
// at a step where our top two are within kGreedyNearTie (wider, because after the first
// differing rounding the two runs no longer see the same context noise: we measured our own
// float- and 8-bit-activation paths 0.46 logits apart in margin at such a step).
// The raw agreement (all positions) is printed for the record.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/cache_dir.h"
#include "fixture.h"

namespace unicorn {
namespace {

nlohmann::json load_ref(const std::string& name) {
    std::ifstream in(std::string(UNICORN_TEST_DATA) + "/real/" + name);
    return nlohmann::json::parse(in);
}

// Logit units. Measured on these references: llama.cpp's own F16↔F32 KV switch flips top-1 at
// margins up to 0.36, our AVX2 path against llama.cpp at up to 0.40; no flip above 0.5.
constexpr double kNearTie = 0.5;
constexpr double kGreedyNearTie = 1.0;
// llama.cpp's own configurations agree with its batch default on 93.6% (F32 KV cache and token
// by token, Gemma) to 100% (other micro-batch sizes) of positions: a band, not one number.
constexpr double kSelfSlack = 0.03;

double top2_margin(const Tensor& logits, int64_t row) {
    const float* p = logits.row<float>(row);
    float a = -INFINITY, b = -INFINITY;
    for (int64_t i = 0; i < logits.cols(); ++i) {
        if (p[i] > a) {
            b = a;
            a = p[i];
        } else if (p[i] > b) {
            b = p[i];
        }
    }
    return static_cast<double>(a) - b;
}

class RealModelTest : public ::testing::TestWithParam<std::string> {};

TEST_P(RealModelTest, GreedyContinuationsEqualLlamaCpp) {
    const nlohmann::json ref = load_ref("greedy_" + GetParam() + ".json");
    const std::string path = cached_model_path(ref["model"]["file"]);
    if (!std::filesystem::exists(path))
        GTEST_SKIP() << path << " not fetched (run scripts/fetch-models)";
    testing::Runner r(path);
    ASSERT_TRUE(r.model);
    for (const auto& run : ref["runs"]) {
        const auto prompt = run["prompt_ids"].get<std::vector<int32_t>>();
        const auto want = run["generated_ids"].get<std::vector<int32_t>>();
        Session s = r.session(512, 512);
        auto logits = s.prefill(prompt, false);
        ASSERT_TRUE(logits.ok()) << logits.status().to_string();
        size_t same = 0;
        for (; same < want.size(); ++same) {
            const int32_t next = argmax_row(*logits, 0);
            if (next != want[same]) {
                EXPECT_LT(top2_margin(*logits, 0), kGreedyNearTie)
                    << "greedy step " << same << " chose " << next << ", llama.cpp " << want[same]
                    << " although our top two are " << top2_margin(*logits, 0)
                    << " apart; prompt: " << run["prompt"];
                break;
            }
            if (same + 1 == want.size()) break;
            logits = s.decode(next);
            ASSERT_TRUE(logits.ok()) << logits.status().to_string();
        }
        std::printf("%s: greedy identical to llama.cpp for %zu/%zu tokens (prompt \"%s\")\n",
                    GetParam().c_str(), std::min(same + 1, want.size()), want.size(),
                    run["prompt"].get<std::string>().c_str());
    }
}

TEST_P(RealModelTest, Top1AgreesWithLlamaCppOver512Tokens) {
    const nlohmann::json ref = load_ref("top1_" + GetParam() + ".json");
    const std::string path = cached_model_path(ref["model"]["file"]);
    if (!std::filesystem::exists(path))
        GTEST_SKIP() << path << " not fetched (run scripts/fetch-models)";
    testing::Runner r(path);
    ASSERT_TRUE(r.model);
    const auto tokens = ref["tokens"].get<std::vector<int32_t>>();
    const auto top1 = ref["top1"].get<std::vector<int32_t>>();
    Session s = r.session(512, 600);
    auto logits = s.prefill(tokens, true);
    ASSERT_TRUE(logits.ok()) << logits.status().to_string();
    const auto l1 = ref["top1_logit"].get<std::vector<double>>();
    const auto l2 = ref["top2_logit"].get<std::vector<double>>();
    int agree = 0, decided = 0, decided_agree = 0;
    for (int64_t i = 0; i < logits->rows(); ++i) {
        const bool same = argmax_row(*logits, i) == top1[i];
        agree += same;
        if (l1[i] - l2[i] > kNearTie) {
            ++decided;
            decided_agree += same;
            EXPECT_TRUE(same) << "position " << i << ": llama.cpp's margin " << l1[i] - l2[i]
                              << " but top-1 differs";
        }
    }
    const double rate = static_cast<double>(agree) / static_cast<double>(top1.size());
    const double self = ref["token_by_token"]["agreement_with_top1"].get<double>();
    RecordProperty("top1_agreement", std::to_string(rate));
    std::printf(
        "%s: top-1 agreement with llama.cpp %d/%zu = %.4f overall (llama.cpp token by token vs "
        "its batch: %.4f); %d/%d where its margin > %.2f\n",
        GetParam().c_str(), agree, top1.size(), rate, self, decided_agree, decided, kNearTie);
    EXPECT_GE(rate, self - kSelfSlack)
        << "Unicorn agrees with llama.cpp less than llama.cpp agrees with itself";
    EXPECT_GE(decided,
              static_cast<int>(top1.size()) / 2);  // not vacuous: most positions are decided
}

INSTANTIATE_TEST_SUITE_P(Models, RealModelTest, ::testing::Values("gemma3-270m", "smollm2-135m"),
                         [](const auto& info) {
                             std::string n = info.param;
                             for (char& c : n)
                                 if (c == '-') c = '_';
                             return n;
                         });

}  // namespace
}  // namespace unicorn
