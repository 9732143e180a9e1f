// `unicorn eval` as a user runs it: one clear error line for bad input, and on the real Gemma 3
// 270M (skipped when not fetched) a perplexity that equals one computed from `unicorn logits`,
// identical runs, KLD 0 / 100 % top-1 against its own saved logits, and an imatrix file.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/cache_dir.h"
#include "io/gguf.h"
#include "io/npy.h"
#include "tools/cli_run.h"

namespace unicorn {
namespace {

using testing::CliRun;

CliRun run(const std::string& args, bool with_stderr = true) {
    return testing::run_cli(args, with_stderr);
}
std::string data(const std::string& rel) { return testing::test_data(rel); }
std::string tmp(const std::string& name) { return testing::tmp_path("unicorn_eval", name); }

std::string write_tmp(const std::string& name, const std::string& text) {
    const std::string path = tmp(name);
    std::ofstream(path) << text;
    return path;
}

using testing::expect_clean_error;

TEST(EvalCli, BadInputBeforeTheModelLoadsGivesOneClearLine) {
    const std::string model = data("models/llama_smol.gguf");
    expect_clean_error(run("eval -m " + model + " -f /nonexistent/text.txt"),
                       "text file /nonexistent/text.txt does not exist");
    const std::string empty = write_tmp("empty.txt", "");
    expect_clean_error(run("eval -m " + model + " -f " + empty), "is empty");
    const std::string text = data("real/text_512.txt");
    expect_clean_error(run("eval -m " + model + " -f " + text + " --ctx 4"),
                       "--ctx 4 is too small (at least 8)");
    const std::string junk =
        write_tmp("junk.bin", "this is not a logits file at all, not even close");
    expect_clean_error(run("eval -m " + model + " -f " + text + " --kl-base " + junk),
                       "wrong magic");
    expect_clean_error(run("eval -m " + model + " -f " + text + " --imatrix /nonexistent/i.gguf"),
                       "--imatrix /nonexistent/i.gguf: cannot write");
    std::filesystem::remove(empty);
    std::filesystem::remove(junk);
}

// The real-model tests: Gemma 3 270M, --ctx 64, 2 chunks of text_512.txt (whose first 512
// tokens, as llama.cpp makes them, are in top1_gemma3-270m.json).
class EvalRealModel : public ::testing::Test {
  protected:
    void SetUp() override {
        model_ = cached_model_path("gemma-3-270m-Q4_K_M.gguf");
        if (!std::filesystem::exists(model_))
            GTEST_SKIP() << model_ << " not fetched (run scripts/fetch-models)";
    }
    std::string eval(const std::string& extra) const {
        return "eval -m " + model_ + " -f " + text_ + " --ctx 64 --chunks 2 -t 2 " + extra;
    }
    static nlohmann::json json_of(const CliRun& r) {
        EXPECT_EQ(r.code, 0) << r.out;
        return nlohmann::json::parse(r.out, nullptr, /*allow_exceptions=*/false);
    }
    std::string model_;
    std::string text_ = data("real/text_512.txt");
};

TEST_F(EvalRealModel, BadRequestsGiveOneClearLine) {
    const std::string short_text = write_tmp("short.txt", "Only a few words here.");
    expect_clean_error(run("eval -m " + model_ + " -f " + short_text + " --ctx 64"),
                       "tokens; --ctx 64 needs at least 128 (two chunks)");
    expect_clean_error(run("eval -m " + model_ + " -f " + text_ + " --ctx 100000"),
                       "exceeds the model's trained context of 32768 tokens");
    std::filesystem::remove(short_text);
}

// −log p(target) of one logits row, in double.
double nll(const float* row, int64_t vocab, int32_t target) {
    double max = row[0];
    for (int64_t i = 1; i < vocab; ++i) max = std::max(max, static_cast<double>(row[i]));
    double sum = 0;
    for (int64_t i = 0; i < vocab; ++i) sum += std::exp(row[i] - max);
    return max + std::log(sum) - row[target];
}

TEST_F(EvalRealModel, PerplexityEqualsOneFromLogitsAndRunsRepeat) {
    std::ifstream in(data("real/top1_gemma3-270m.json"));
    const std::vector<int32_t> tokens =
        nlohmann::json::parse(in)["tokens"].get<std::vector<int32_t>>();
    ASSERT_GE(tokens.size(), 128u);
    // llama-perplexity's method by hand: each chunk alone, BOS (2) first, the second half scored.
    double sum = 0;
    int n = 0;
    for (int c = 0; c < 2; ++c) {
        std::vector<int32_t> chunk(tokens.begin() + 64 * c, tokens.begin() + 64 * (c + 1));
        chunk[0] = 2;
        std::string ids;
        for (int32_t t : chunk) ids += (ids.empty() ? "" : ",") + std::to_string(t);
        const std::string npy = tmp("chunk.npy");
        const CliRun r = run("logits -m " + model_ + " -t 2 --tokens " + ids + " -o " + npy);
        ASSERT_EQ(r.code, 0) << r.out;
        auto logits = io::read_npy_f32(npy);
        ASSERT_TRUE(logits.ok());
        const int64_t vocab = logits->shape[1];
        for (int p = 32; p < 63; ++p, ++n)
            sum += nll(logits->data.data() + p * vocab, vocab, chunk[p + 1]);
        std::filesystem::remove(npy);
    }
    const double want = std::exp(sum / n);

    const nlohmann::json a = json_of(run(eval("--json"), /*with_stderr=*/false));
    ASSERT_FALSE(a.is_discarded());
    EXPECT_EQ(a["tokens_scored"], 62);
    EXPECT_EQ(a["tokens_evaluated"], 128);
    // eval runs each chunk as two forward passes (32 + 32 tokens), logits as one: the same
    // arithmetic up to float rounding in a different order.
    EXPECT_NEAR(a["ppl"].get<double>(), want, 1e-4 * want);
    EXPECT_GT(a["ppl_error"].get<double>(), 0.0);

    const nlohmann::json b = json_of(run(eval("--json"), /*with_stderr=*/false));
    EXPECT_EQ(a["ppl"], b["ppl"]);  // bit-identical run to run
    EXPECT_EQ(a["running_ppl"], b["running_ppl"]);
    EXPECT_EQ(a["ppl_error"], b["ppl_error"]);
}

TEST_F(EvalRealModel, KlAgainstItsOwnLogitsIsZeroAndMismatchesAreRefused) {
    const std::string base = tmp("base.logits");
    const CliRun saved = run(eval("--save-logits " + base));
    ASSERT_EQ(saved.code, 0) << saved.out;
    EXPECT_NE(saved.out.find("Final estimate: PPL = "), std::string::npos) << saved.out;
    ASSERT_TRUE(std::filesystem::exists(base));

    const nlohmann::json j = json_of(run(eval("--json --kl-base " + base), false));
    ASSERT_TRUE(j.contains("kl")) << j.dump();
    const nlohmann::json& kl = j["kl"];
    EXPECT_EQ(kl["positions"], 62);
    EXPECT_LT(std::fabs(kl["kld_mean"].get<double>()), 1e-6);
    EXPECT_LT(kl["kld_max"].get<double>(), 1e-5);
    EXPECT_EQ(kl["top1_agreement"], 1.0);
    EXPECT_LT(std::fabs(kl["ln_ppl_ratio"].get<double>()), 1e-6);
    EXPECT_EQ(kl["base_model"], "gemma-3-270m-Q4_K_M.gguf");

    const CliRun table = run(eval("--kl-base " + base));
    ASSERT_EQ(table.code, 0) << table.out;
    EXPECT_NE(table.out.find("Same top p: 100.000 ± 0.000 %"), std::string::npos) << table.out;
    EXPECT_NE(table.out.find("Mean    KLD:   0.000000"), std::string::npos) << table.out;

    expect_clean_error(run("eval -m " + model_ + " -f " + text_ + " --ctx 32 --kl-base " + base),
                       "was saved with --ctx 64; this run uses --ctx 32");
    const std::string other = write_tmp("other.txt", [] {
        std::string s;
        for (int i = 0; i < 40; ++i) s += "The quick brown fox jumps over the lazy dog. ";
        return s;
    }());
    expect_clean_error(run("eval -m " + model_ + " -f " + other + " --kl-base " + base),
                       "was saved over different tokens");
    const std::string smol = cached_model_path("smollm2-135m-instruct-Q4_1.gguf");
    if (std::filesystem::exists(smol))
        expect_clean_error(run("eval -m " + smol + " -f " + text_ + " --kl-base " + base),
                           "was saved for a vocabulary of 262144 tokens; this model has 49152");
    std::filesystem::remove(other);
    std::filesystem::remove(base);
}

TEST_F(EvalRealModel, ImatrixHasEveryBlockLinear) {
    const std::string out = tmp("imatrix.gguf");
    const CliRun r = run(eval("--imatrix " + out));
    ASSERT_EQ(r.code, 0) << r.out;
    auto g = io::GgufFile::open(out);
    ASSERT_TRUE(g.ok()) << g.status().to_string();
    EXPECT_EQ(g->get_string("general.type").value(), "imatrix");
    EXPECT_EQ(g->get_u32("imatrix.chunk_count").value(), 2u);
    EXPECT_EQ(g->get_u32("imatrix.chunk_size").value(), 64u);
    EXPECT_EQ(g->tensors().size(), 2u * 18u * 7u);  // 18 layers × q k v o gate up down
    const auto* counts = g->tensor("blk.17.ffn_down.weight.counts");
    ASSERT_NE(counts, nullptr);
    EXPECT_EQ(static_cast<const float*>(counts->data)[0], 128.0f);  // every evaluated token
    std::filesystem::remove(out);
}

}  // namespace
}  // namespace unicorn
