// Importance-matrix collection on a tiny fixture model: the sums the linear observer collects
// equal a direct computation from the model's own weights, and the file is llama.cpp's GGUF
// imatrix layout.
#include "runtime/imatrix.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>

#include "io/gguf.h"
#include "models/fixture.h"

namespace unicorn::eval {
namespace {

const std::string kModel = "llama_smol.gguf";  // F32 weights, d_model 64, d_ff 160, 3 layers

std::vector<int32_t> prompt() { return {1, 5, 9, 300, 17, 42, 42, 7, 511, 0, 64}; }

// What the observer saw for blk.0.attn_q directly: RMSNorm(embedding(t)) · attn_norm, squared
// and summed over the tokens in double.
std::vector<double> direct_layer0_attn_input_sums(const io::GgufFile& g) {
    const float eps = g.get_f32("llama.attention.layer_norm_rms_epsilon").value();
    const auto* emb = g.tensor("token_embd.weight");
    const auto* norm = g.tensor("blk.0.attn_norm.weight");
    const int64_t d = emb->shape.dim(-1);
    const float* e = static_cast<const float*>(emb->data);
    const float* w = static_cast<const float*>(norm->data);
    std::vector<double> sums(static_cast<size_t>(d), 0.0);
    for (int32_t t : prompt()) {
        const float* x = e + static_cast<int64_t>(t) * d;
        double ms = 0;
        for (int64_t i = 0; i < d; ++i) ms += static_cast<double>(x[i]) * x[i];
        const double inv = 1.0 / std::sqrt(ms / static_cast<double>(d) + eps);
        for (int64_t i = 0; i < d; ++i) {
            const double h = x[i] * inv * w[i];
            sums[static_cast<size_t>(i)] += h * h;
        }
    }
    return sums;
}

TEST(Imatrix, CollectedSumsEqualADirectComputation) {
    const std::string path = unicorn::testing::fixture_dir(kModel);
    unicorn::testing::Runner runner(path);
    ASSERT_NE(runner.model, nullptr);
    ImatrixCollector collector(runner.model->info().weight_names);
    collector.attach(*runner.ctx);
    runner.logits(prompt(), /*chunk=*/4);  // three forward passes: 4 + 4 + 3 tokens
    ImatrixCollector::detach(*runner.ctx);
    ASSERT_TRUE(collector.status().ok()) << collector.status().to_string();

    const auto& entries = collector.entries();
    EXPECT_EQ(entries.size(), 3u * 7u);                 // q, k, v, o, gate, up, down per layer
    EXPECT_EQ(entries.count("token_embd.weight"), 0u);  // the head is left out, as llama.cpp
    for (const auto& [name, e] : entries) {
        EXPECT_EQ(e.count, static_cast<int64_t>(prompt().size())) << name;
        const size_t k = name.find("ffn_down") != std::string::npos ? 160u : 64u;
        EXPECT_EQ(e.sum_sq.size(), k) << name;
    }
    auto g = io::GgufFile::open(path);
    ASSERT_TRUE(g.ok());
    const std::vector<double> want = direct_layer0_attn_input_sums(*g);
    const std::vector<double>& got = entries.at("blk.0.attn_q.weight").sum_sq;
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-4 * want[i]) << i;
    // Weights that read the same input collect the same sums.
    EXPECT_EQ(entries.at("blk.0.attn_k.weight").sum_sq, got);
    EXPECT_EQ(entries.at("blk.2.ffn_gate.weight").sum_sq, entries.at("blk.2.ffn_up.weight").sum_sq);
}

TEST(Imatrix, WritesLlamaCppGgufLayout) {
    unicorn::testing::Runner runner(unicorn::testing::fixture_dir(kModel));
    ASSERT_NE(runner.model, nullptr);
    ImatrixCollector collector(runner.model->info().weight_names);
    collector.attach(*runner.ctx);
    runner.logits(prompt());
    const std::string out = (std::filesystem::temp_directory_path() /
                             ("unicorn_imatrix_" + std::to_string(::getpid()) + ".gguf"))
                                .string();
    ASSERT_TRUE(collector.write(out, {{"text.txt"}, 3, 64}).ok());
    auto g = io::GgufFile::open(out);
    ASSERT_TRUE(g.ok()) << g.status().to_string();
    EXPECT_EQ(g->get_string("general.type").value(), "imatrix");
    EXPECT_EQ(g->find("imatrix.datasets")->as_string_array().value(),
              std::vector<std::string>{"text.txt"});
    EXPECT_EQ(g->get_u32("imatrix.chunk_count").value(), 3u);
    EXPECT_EQ(g->get_u32("imatrix.chunk_size").value(), 64u);
    EXPECT_EQ(g->tensors().size(), 2 * collector.entries().size());
    const auto* sums = g->tensor("blk.1.ffn_down.weight.in_sum2");
    const auto* counts = g->tensor("blk.1.ffn_down.weight.counts");
    ASSERT_NE(sums, nullptr);
    ASSERT_NE(counts, nullptr);
    EXPECT_EQ(sums->dtype, DType::kF32);
    EXPECT_EQ(sums->shape.rank(), 1);  // as llama-imatrix: [K], not [1, K]
    EXPECT_EQ(sums->shape.dim(0), 160);
    EXPECT_EQ(counts->shape.rank(), 1);
    EXPECT_EQ(counts->shape.numel(), 1);
    // ggml's reader loads an imatrix's data as one blob of aligned tensors, the last one padded.
    EXPECT_EQ(std::filesystem::file_size(out) % io::kGgufDefaultAlignment, 0u);
    EXPECT_EQ(static_cast<const float*>(counts->data)[0], static_cast<float>(prompt().size()));
    const auto& e = collector.entries().at("blk.1.ffn_down.weight");
    for (size_t i = 0; i < e.sum_sq.size(); ++i)
        EXPECT_EQ(static_cast<const float*>(sums->data)[i], static_cast<float>(e.sum_sq[i]));
    // As llama-imatrix writes them: weights in name order, each its in_sum2 then its counts.
    const auto& t = g->tensors();
    for (size_t i = 0; i + 1 < t.size(); i += 2) {
        const std::string weight = t[i].name.substr(0, t[i].name.size() - 8);  // - ".in_sum2"
        EXPECT_EQ(t[i].name, weight + ".in_sum2");
        EXPECT_EQ(t[i + 1].name, weight + ".counts");
        if (i >= 2) {
            EXPECT_LT(t[i - 2].name, t[i].name);
        }
    }
    std::filesystem::remove(out);
}

TEST(Imatrix, NothingObservedIsAnError) {
    const std::unordered_map<const void*, std::string> names;
    ImatrixCollector collector(names);
    const Status s = collector.write("/nonexistent/x.gguf", {});
    EXPECT_FALSE(s.ok());
    EXPECT_NE(s.message().find("no linear weight"), std::string::npos);
}

}  // namespace
}  // namespace unicorn::eval
