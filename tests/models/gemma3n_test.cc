// Gemma 3n beyond the shared golden tests (golden_test.cc runs those on the gemma3n fixtures):
// the GGUF that llama.cpp's own converter writes, MatFormer slicing against an explicitly
// sliced checkpoint, and bad input that must fail with an error naming the problem.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include "fixture.h"
#include "io/gguf.h"
#include "io/gguf_writer.h"

namespace unicorn {
namespace {

using testing::fixture_dir;
using testing::load_golden;
using testing::Runner;
using testing::worst_relative_row_error;

std::string tmp_path(const std::string& name) {
    auto d =
        std::filesystem::temp_directory_path() / ("unicorn_gemma3n_" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return (d / name).string();
}

std::string load_error(const std::string& path, const LoadOptions& options = {}) {
    auto m = load_model(path, options);
    return m.ok() ? std::string("loaded") : m.status().to_string();
}

// Copies a GGUF file: every metadata key (then `meta` may override some) and every tensor for
// which `tensor` returns true (it may add its own tensors to the writer instead).
using TensorEdit = std::function<bool(const std::string& name, const Tensor& t, io::GgufWriter& w)>;
void rewrite_gguf(const std::string& in, const std::string& out,
                  const std::function<void(io::GgufWriter&)>& meta, const TensorEdit& tensor) {
    auto g = io::GgufFile::open(in);
    ASSERT_TRUE(g.ok()) << g.status().to_string();
    io::GgufWriter w;
    for (const auto& [k, v] : g->metadata()) w.set(k, v);
    if (meta) meta(w);
    for (const auto& info : g->tensors()) {
        auto t = g->tensor_view(info.name);
        ASSERT_TRUE(t.ok());
        if (tensor(info.name, *t, w)) {
            ASSERT_TRUE(w.add_tensor(info.name, *t).ok());
        }
    }
    ASSERT_TRUE(w.write(out).ok());
}

// The layout people download: llama.cpp's convert_hf_to_gguf.py run on the fixture (with a
// SentencePiece tokenizer trained for its vocabulary). Same weights → same logits.
TEST(Gemma3nTest, LlamaCppConvertedGgufMatchesSafetensors) {
    const std::string gguf = fixture_dir("gemma3n_tiny") + ".llamacpp.gguf";
    auto g = load_golden("gemma3n_tiny");
    Runner hf(fixture_dir("gemma3n_tiny")), lc(gguf);
    ASSERT_TRUE(hf.model && lc.model);
    Tensor a = hf.logits(g.prompt), b = lc.logits(g.prompt);
    // llama.cpp sizes token_embd by the tokenizer's vocabulary; compare the common columns.
    const int64_t cols = std::min(a.cols(), b.cols());
    ASSERT_GT(cols, 0);
    EXPECT_LE(worst_relative_row_error(b.slice_cols(0, cols), a.slice_cols(0, cols)), 1e-5);
    Session s = lc.session();
    auto last = s.prefill(g.prompt, false);
    ASSERT_TRUE(last.ok()) << last.status().to_string();
    EXPECT_EQ(*s.greedy(*last, static_cast<int>(g.greedy.size())), g.greedy);
}

// A MatFormer slice built at load time (views into the full checkpoint) equals a checkpoint
// sliced by hand following the published recipe: layers dropped and renumbered, FFN prefixes,
// the kept layers' blocks of the per-layer embedding table and projection, KV-sharing count,
// sparsity and layer types carried per kept layer.
TEST(Gemma3nTest, MatFormerSliceEqualsHandSlicedCheckpoint) {
    const std::string full = fixture_dir("gemma3n_tiny") + ".gguf";
    auto src = io::GgufFile::open(full);
    ASSERT_TRUE(src.ok()) << src.status().to_string();
    const int n = static_cast<int>(*src->get_u64("gemma3n.block_count"));
    const int64_t p =
        static_cast<int64_t>(*src->get_u64("gemma3n.embedding_length_per_layer_input"));
    const int shared = static_cast<int>(*src->get_u64("gemma3n.attention.shared_kv_layers"));
    auto ffn_full = src->find("gemma3n.feed_forward_length")->as_i64_array();
    ASSERT_TRUE(ffn_full.ok());
    // Drop one early (sparse) layer and one KV-sharing layer; narrow every FFN.
    const std::vector<int> skip = {2, n - 3};
    std::vector<int> kept;
    std::vector<int64_t> ffn;
    for (int l = 0; l < n; ++l) {
        if (std::find(skip.begin(), skip.end(), l) != skip.end()) continue;
        kept.push_back(l);
        ffn.push_back((*ffn_full)[l] / 2 + 8 * static_cast<int64_t>(kept.size()) % 16);
    }
    std::string ffn_csv;
    for (int64_t f : ffn) ffn_csv += (ffn_csv.empty() ? "" : ",") + std::to_string(f);
    auto spec = parse_matformer("", "2," + std::to_string(n - 3), ffn_csv);
    ASSERT_TRUE(spec.ok()) << spec.status().to_string();

    const std::string sliced = tmp_path("sliced.gguf");
    auto sparsity = src->find("gemma3n.activation_sparsity_scale")->as_f64_array();
    auto pattern = src->find("gemma3n.attention.sliding_window_pattern");
    ASSERT_TRUE(sparsity.ok() && pattern);
    std::vector<float> new_sparsity;
    std::vector<bool> new_pattern;
    std::vector<uint32_t> new_ffn;
    for (size_t i = 0; i < kept.size(); ++i) {
        new_sparsity.push_back(static_cast<float>((*sparsity)[kept[i]]));
        new_pattern.push_back(*pattern->at(kept[i]).as_bool());
        new_ffn.push_back(static_cast<uint32_t>(ffn[i]));
    }
    const auto meta = [&](io::GgufWriter& w) {
        w.set_u32("gemma3n.block_count", static_cast<uint32_t>(kept.size()));
        w.set_array("gemma3n.feed_forward_length", new_ffn);
        w.set_u32("gemma3n.attention.shared_kv_layers",
                  static_cast<uint32_t>(shared - 1));  // layer n-3 was a KV-sharing layer
        w.set_array("gemma3n.activation_sparsity_scale", new_sparsity);
        w.set_array("gemma3n.attention.sliding_window_pattern", new_pattern);
    };
    // Copies of the row blocks / column prefixes (F32 fixture: plain element copies).
    std::vector<Tensor> owned;
    const auto edit = [&](const std::string& name, const Tensor& t, io::GgufWriter& w) {
        EXPECT_EQ(t.dtype(), DType::kF32) << name;
        if (name == "per_layer_token_embd.weight") {  // [V, L·P]: keep the kept layers' columns
            Tensor out = Tensor::empty(DType::kF32, Shape{t.rows(), int64_t(kept.size()) * p});
            for (int64_t r = 0; r < t.rows(); ++r)
                for (size_t i = 0; i < kept.size(); ++i)
                    std::memcpy(out.row<float>(r) + i * p, t.row<float>(r) + kept[i] * p,
                                p * sizeof(float));
            owned.push_back(out);
            EXPECT_TRUE(w.add_tensor(name, out).ok());
            return false;
        }
        if (name == "per_layer_model_proj.weight") {  // [L·P, D]: keep the kept layers' rows
            Tensor out = Tensor::empty(DType::kF32, Shape{int64_t(kept.size()) * p, t.cols()});
            for (size_t i = 0; i < kept.size(); ++i)
                std::memcpy(out.row<float>(i * p), t.row<float>(kept[i] * p), p * t.row_bytes());
            owned.push_back(out);
            EXPECT_TRUE(w.add_tensor(name, out).ok());
            return false;
        }
        if (name.rfind("blk.", 0) != 0) return true;
        const size_t dot = name.find('.', 4);
        const int orig = std::stoi(name.substr(4, dot - 4));
        const auto it = std::find(kept.begin(), kept.end(), orig);
        if (it == kept.end()) return false;
        const size_t i = static_cast<size_t>(it - kept.begin());
        const std::string suffix = name.substr(dot + 1);
        Tensor out = t;
        if (suffix == "ffn_gate.weight" || suffix == "ffn_up.weight") out = t.slice_rows(0, ffn[i]);
        if (suffix == "ffn_down.weight") {
            out = Tensor::empty(DType::kF32, Shape{t.rows(), ffn[i]});
            for (int64_t r = 0; r < t.rows(); ++r)
                std::memcpy(out.row<float>(r), t.row<float>(r), out.row_bytes());
            owned.push_back(out);
        }
        EXPECT_TRUE(w.add_tensor("blk." + std::to_string(i) + "." + suffix, out).ok());
        return false;
    };
    rewrite_gguf(full, sliced, meta, edit);

    auto g = load_golden("gemma3n_tiny");
    LoadOptions opts;
    opts.matformer = *spec;
    Runner views(full, opts), by_hand(sliced);
    ASSERT_TRUE(views.model && by_hand.model);
    EXPECT_EQ(views.model->info().n_layers, static_cast<int64_t>(kept.size()));
    EXPECT_LE(worst_relative_row_error(views.logits(g.prompt), by_hand.logits(g.prompt)), 1e-6);
    // Decoding through the slice: the KV layout of the slice shares like the hand-made one.
    ASSERT_EQ(views.model->kv_layout().size(), by_hand.model->kv_layout().size());
    for (size_t l = 0; l < kept.size(); ++l)
        EXPECT_EQ(views.model->kv_layout()[l].source, by_hand.model->kv_layout()[l].source) << l;
    std::filesystem::remove_all(std::filesystem::path(sliced).parent_path());
}

// The published checkpoints are Gemma3nForConditionalGeneration: text weights under
// model.language_model., vision and audio towers beside them, the text config nested under
// text_config. Same weights as the Gemma3nForCausalLM fixture → same logits.
TEST(Gemma3nTest, ConditionalGenerationLayoutLoads) {
    const std::string base = fixture_dir("gemma3n_alt");
    std::ifstream in(base + "/model.safetensors", std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    uint64_t header_len = 0;
    std::memcpy(&header_len, bytes.data(), 8);
    nlohmann::json header = nlohmann::json::parse(bytes.substr(8, header_len));
    std::string data = bytes.substr(8 + header_len);
    nlohmann::json renamed = nlohmann::json::object();
    for (auto& [k, v] : header.items()) {
        renamed[k.rfind("model.", 0) == 0 ? "model.language_model." + k.substr(6) : k] = v;
    }
    // Tower tensors the text model must ignore.
    for (const char* tower : {"model.vision_tower.stem.weight", "model.audio_tower.conv.weight",
                              "model.embed_vision.embedding.weight"}) {
        const size_t off = data.size();
        data.append(16, '\0');
        renamed[tower] = {{"dtype", "F32"}, {"shape", {4}}, {"data_offsets", {off, off + 16}}};
    }
    std::string h = renamed.dump();
    h.append((8 - h.size() % 8) % 8, ' ');
    const std::string dir = tmp_path("conditional");
    std::filesystem::create_directories(dir);
    std::ofstream out(dir + "/model.safetensors", std::ios::binary);
    const uint64_t n = h.size();
    out.write(reinterpret_cast<const char*>(&n), 8);
    out << h << data;
    out.close();
    std::ifstream cin(base + "/config.json");
    nlohmann::json text = nlohmann::json::parse(cin);
    nlohmann::json cfg = {{"architectures", {"Gemma3nForConditionalGeneration"}},
                          {"model_type", "gemma3n"},
                          {"text_config", text},
                          {"vision_config", {{"model_type", "gemma3n_vision"}}},
                          {"audio_config", {{"model_type", "gemma3n_audio"}}}};
    std::ofstream(dir + "/config.json") << cfg.dump(1);

    auto g = load_golden("gemma3n_alt");
    Runner causal(base), conditional(dir);
    ASSERT_TRUE(causal.model && conditional.model);
    EXPECT_EQ(worst_relative_row_error(conditional.logits(g.prompt), causal.logits(g.prompt)), 0);
    // And our converter takes the same layout.
    EXPECT_TRUE(convert_to_gguf(dir, dir + ".gguf").ok());
    Runner gguf(dir + ".gguf");
    ASSERT_TRUE(gguf.model);
    EXPECT_EQ(worst_relative_row_error(gguf.logits(g.prompt), causal.logits(g.prompt)), 0);
    std::filesystem::remove_all(std::filesystem::path(dir).parent_path());
}

TEST(Gemma3nTest, MissingAltUpOrPerLayerTensorIsNamed) {
    const std::string full = fixture_dir("gemma3n_tiny") + ".gguf";
    for (const std::string missing :
         {"blk.3.altup_router.weight", "blk.1.altup_correct_scale.weight",
          "per_layer_token_embd.weight", "altup_proj.weight", "blk.0.laurel_l.weight"}) {
        const std::string out = tmp_path("missing.gguf");
        rewrite_gguf(full, out, nullptr,
                     [&](const std::string& name, const Tensor&, io::GgufWriter&) {
                         return name != missing;
                     });
        EXPECT_NE(load_error(out).find(missing), std::string::npos)
            << missing << ": " << load_error(out);
    }
    std::filesystem::remove_all(std::filesystem::path(tmp_path("x")).parent_path());
}

TEST(Gemma3nTest, InconsistentConfigIsRejected) {
    const std::string base = fixture_dir("gemma3n_tiny");
    std::ifstream in(base + "/config.json");
    const nlohmann::json cfg = nlohmann::json::parse(in);
    const nlohmann::json& text = cfg.contains("text_config") ? cfg["text_config"] : cfg;
    const int64_t layers = text["num_hidden_layers"];
    struct Case {
        std::string key;
        nlohmann::json value;
        std::string expect;
    };
    const std::vector<Case> cases = {
        {"num_kv_shared_layers", layers, "inconsistent gemma3n hyperparameters"},
        {"intermediate_size", {64, 64, 64}, "intermediate_size has 3 entries"},
        {"activation_sparsity_pattern", {0.95}, "activation_sparsity_pattern has 1 entries"},
        {"hidden_size_per_layer_input", 2 * text["hidden_size_per_layer_input"].get<int64_t>(),
         "per_layer"},
        {"altup_num_inputs", 0, "inconsistent gemma3n hyperparameters"},
        {"layer_types", {"sliding_attention"}, "layer_types has 1 entries"},
    };
    for (const Case& c : cases) {
        const std::string dir = tmp_path("cfg_" + c.key);
        std::filesystem::create_directories(dir);
        for (const auto& e : std::filesystem::directory_iterator(base))
            if (e.path().filename() != "config.json")
                std::filesystem::create_symlink(e.path(), dir + "/" + e.path().filename().string());
        nlohmann::json bad = cfg;
        (bad.contains("text_config") ? bad["text_config"] : bad)[c.key] = c.value;
        std::ofstream(dir + "/config.json") << bad.dump(1);
        const std::string err = load_error(dir);
        EXPECT_NE(err.find(c.expect), std::string::npos) << c.key << ": " << err;
    }
    std::filesystem::remove_all(std::filesystem::path(tmp_path("x")).parent_path());
}

TEST(Gemma3nTest, MatFormerRequestsThatCannotBeSlicedAreRejected) {
    LoadOptions e2b;
    e2b.matformer = *parse_matformer("E2B", "", "");
    EXPECT_NE(load_error(fixture_dir("gemma3_tiny"), e2b).find("needs a Gemma 3n model"),
              std::string::npos);
    // The tiny fixture has fewer layers than the E2B recipe drops.
    EXPECT_NE(load_error(fixture_dir("gemma3n_tiny"), e2b).find("does not exist"),
              std::string::npos);
    // Dropping the layer whose K/V the last layers read.
    Runner full(fixture_dir("gemma3n_tiny"));
    ASSERT_TRUE(full.model);
    const auto& kv = full.model->kv_layout();
    const int producer = kv.back().source;
    ASSERT_GE(producer, 0);
    LoadOptions drop;
    drop.matformer = *parse_matformer("", std::to_string(producer), "16");
    EXPECT_NE(load_error(fixture_dir("gemma3n_tiny"), drop).find("producers cannot be skipped"),
              std::string::npos);
}

TEST(Gemma3nTest, InfoReportsPerLayerEmbeddingSplitAndSharedKv) {
    Runner r(fixture_dir("gemma3n_tiny"));
    ASSERT_TRUE(r.model);
    const ModelInfo& i = r.model->info();
    EXPECT_GT(i.host_gathered_bytes, 0u);
    EXPECT_LT(i.host_gathered_bytes, i.weight_bytes);
    int shared = 0;
    for (const KvLayerSpec& l : r.model->kv_layout()) shared += l.source >= 0;
    EXPECT_GT(shared, 1);
}

}  // namespace
}  // namespace unicorn
