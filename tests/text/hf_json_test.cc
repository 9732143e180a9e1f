// Tokenizer::from_hf_json. The big checks rebuild a tokenizer.json from one of llama.cpp's
// vocabularies (fetched by scripts/fetch-tokenizer-vectors) the way Hugging Face's converters
// lay it out, and expect llama.cpp's reference ids from it; small checks use hand-written files.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "io/gguf.h"
#include "text/pre_tokenizer.h"
#include "text/text_test_util.h"
#include "text/tokenizer.h"
#include "text/unicode.h"

namespace unicorn::text {
namespace {

using nlohmann::json;

std::filesystem::path temp_dir(const std::string& name) {
    auto dir = std::filesystem::temp_directory_path() /
               ("unicorn_hf_json_" + name + "_" +
                std::to_string(::testing::UnitTest::GetInstance()->random_seed()));
    std::filesystem::create_directories(dir);
    return dir;
}

std::string write_json(const std::filesystem::path& dir, const std::string& file, const json& j) {
    const auto path = dir / file;
    std::ofstream(path) << j.dump();
    return path.string();
}

// The vectors of one llama.cpp vocabulary (see llama_vocab_test.cc for the format).
bool load_vectors(const std::string& name,
                  std::vector<std::pair<std::string, std::vector<int32_t>>>& out) {
    const auto base = testing::unicorn_cache_dir() / "vocab" / ("ggml-vocab-" + name + ".gguf");
    std::string inp;
    std::string outs;
    if (!testing::read_file(base.string() + ".inp", inp) ||
        !testing::read_file(base.string() + ".out", outs)) {
        return false;
    }
    std::vector<std::string> inputs;
    const std::string sep = "\n__ggml_vocab_test__\n";
    for (size_t pos = 0; pos < inp.size();) {
        const size_t next = inp.find(sep, pos);
        inputs.push_back(
            inp.substr(pos, next == std::string::npos ? std::string::npos : next - pos));
        if (next == std::string::npos) break;
        pos = next + sep.size();
    }
    std::istringstream ls(outs);
    std::string line;
    for (const std::string& in : inputs) {
        if (!std::getline(ls, line)) return false;
        std::vector<int32_t> ids;
        std::istringstream is(line);
        for (int64_t id = 0; is >> id;) ids.push_back(static_cast<int32_t>(id));
        out.emplace_back(in, ids);
    }
    return true;
}

// tokenizer.json's model and added_tokens from a GGUF vocabulary.
json hf_from_gguf(const io::GgufFile& g, bool with_merges, bool byte_fallback) {
    const std::vector<std::string> tokens = *g.get_string_array("tokenizer.ggml.tokens");
    const std::vector<int32_t> types = *g.get_i32_array("tokenizer.ggml.token_type");
    json vocab = json::object();
    json added = json::array();
    for (size_t i = 0; i < tokens.size(); ++i) {
        if (types[i] == 3 || types[i] == 4 || types[i] == 2) {
            added.push_back({{"id", i}, {"content", tokens[i]}, {"special", types[i] != 4}});
        }
        vocab[tokens[i]] = i;
    }
    json model = {{"type", "BPE"}, {"vocab", vocab}, {"byte_fallback", byte_fallback}};
    model["merges"] =
        with_merges ? json(*g.get_string_array("tokenizer.ggml.merges")) : json::array();
    return {{"model", model}, {"added_tokens", added}};
}

// Merges of a SentencePiece vocabulary, as HF's SentencePieceExtractor derives them: every split
// of a piece into two pieces, ordered by the piece's score, then by the parts' ids.
json spm_merges(const std::vector<std::string>& tokens, const std::vector<float>& scores) {
    std::map<std::string, size_t> ids;
    for (size_t i = 0; i < tokens.size(); ++i) ids[tokens[i]] = i;
    struct M {
        float score;
        size_t l;
        size_t r;
    };
    std::vector<M> merges;
    for (size_t i = 0; i < tokens.size(); ++i) {
        const std::string& t = tokens[i];
        std::vector<M> local;
        for (size_t pos = 0; pos < t.size();) {
            pos += utf8_sequence_length(static_cast<uint8_t>(t[pos]));
            if (pos >= t.size()) break;
            auto l = ids.find(t.substr(0, pos));
            auto r = ids.find(t.substr(pos));
            if (l != ids.end() && r != ids.end())
                local.push_back({scores[i], l->second, r->second});
        }
        std::sort(local.begin(), local.end(),
                  [](const M& a, const M& b) { return std::tie(a.l, a.r) < std::tie(b.l, b.r); });
        merges.insert(merges.end(), local.begin(), local.end());
    }
    std::stable_sort(merges.begin(), merges.end(),
                     [](const M& a, const M& b) { return a.score > b.score; });
    json out = json::array();
    for (const M& m : merges) out.push_back(json::array({tokens[m.l], tokens[m.r]}));
    return out;
}

void expect_vectors(const Tokenizer& tok, const std::string& vocab_name) {
    std::vector<std::pair<std::string, std::vector<int32_t>>> cases;
    ASSERT_TRUE(load_vectors(vocab_name, cases));
    int failed = 0;
    for (const auto& [text, want] : cases) {
        auto got = tok.encode(text, false, false);
        ASSERT_TRUE(got.ok());
        if (*got != want) {
            ++failed;
            ADD_FAILURE() << vocab_name << " via tokenizer.json: '" << text << "'\n  want "
                          << testing::show_ids(want) << "\n  got  " << testing::show_ids(*got);
        }
    }
    EXPECT_EQ(failed, 0);
}

Result<io::GgufFile> open_vocab(const std::string& name) {
    return io::GgufFile::open(
        (testing::unicorn_cache_dir() / "vocab" / ("ggml-vocab-" + name + ".gguf")).string());
}

#define SKIP_WITHOUT_VECTORS(g)                                                                \
    if (!(g).ok()) {                                                                           \
        GTEST_SKIP()                                                                           \
            << "llama.cpp vocabularies not in the cache; run scripts/fetch-tokenizer-vectors"; \
    }

TEST(HfJson, Gpt2ByteLevel) {
    auto g = open_vocab("gpt-2");
    SKIP_WITHOUT_VECTORS(g);
    json j = hf_from_gguf(*g, true, false);
    j["pre_tokenizer"] = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}};
    auto tok = Tokenizer::from_hf_json(write_json(temp_dir("gpt2"), "tokenizer.json", j));
    ASSERT_TRUE(tok.ok()) << tok.status().to_string();
    EXPECT_EQ((*tok)->kind(), TokenizerKind::kByteLevelBpe);
    expect_vectors(**tok, "gpt-2");
}

TEST(HfJson, Llama3SplitRegexWithCaseInsensitiveGroup) {
    auto g = open_vocab("llama-bpe");
    SKIP_WITHOUT_VECTORS(g);
    json j = hf_from_gguf(*g, true, false);
    j["model"]["ignore_merges"] = true;
    // The pattern as Llama 3's tokenizer.json writes it, (?i:...) included.
    const std::string pattern =
        "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
        "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
        "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    j["pre_tokenizer"] = {
        {"type", "Sequence"},
        {"pretokenizers",
         {{{"type", "Split"},
           {"pattern", {{"Regex", pattern}}},
           {"behavior", "Isolated"},
           {"invert", false}},
          {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}}}};
    j["post_processor"] = {
        {"type", "TemplateProcessing"},
        {"single",
         {{{"SpecialToken", {{"id", "<|begin_of_text|>"}}}}, {{"Sequence", {{"id", "A"}}}}}}};
    auto tok = Tokenizer::from_hf_json(write_json(temp_dir("llama3"), "tokenizer.json", j));
    ASSERT_TRUE(tok.ok()) << tok.status().to_string();
    expect_vectors(**tok, "llama-bpe");
    // BOS from the post-processor's template.
    EXPECT_EQ((*tok)->bos(), 128000);
    EXPECT_TRUE((*tok)->add_bos_default());
    EXPECT_EQ((*tok)->eot(), (*tok)->find_token("<|eot_id|>"));
}

TEST(HfJson, DigitsThenByteLevelLikeSmolLm) {
    auto g = open_vocab("starcoder");  // starcoder's pre-tokenizer is SmolLM2's
    SKIP_WITHOUT_VECTORS(g);
    json j = hf_from_gguf(*g, true, false);
    j["pre_tokenizer"] = {
        {"type", "Sequence"},
        {"pretokenizers",
         {{{"type", "Digits"}, {"individual_digits", true}},
          {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}}}};
    auto tok = Tokenizer::from_hf_json(write_json(temp_dir("smollm"), "tokenizer.json", j));
    ASSERT_TRUE(tok.ok()) << tok.status().to_string();
    expect_vectors(**tok, "starcoder");
}

TEST(HfJson, SentencePieceStyleWithByteFallback) {
    auto g = open_vocab("llama-spm");
    SKIP_WITHOUT_VECTORS(g);
    json j = hf_from_gguf(*g, false, true);
    j["model"]["merges"] = spm_merges(*g->get_string_array("tokenizer.ggml.tokens"),
                                      *g->get_f32_array("tokenizer.ggml.scores"));
    j["model"]["unk_token"] = "<unk>";
    j["normalizer"] = {
        {"type", "Sequence"},
        {"normalizers",
         {{{"type", "Prepend"}, {"prepend", "\xE2\x96\x81"}},
          {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "\xE2\x96\x81"}}}}};
    const auto dir = temp_dir("spm");
    write_json(dir, "tokenizer_config.json",
               {{"bos_token", "<s>"},
                {"eos_token", {{"content", "</s>"}}},
                {"add_bos_token", true},
                {"chat_template", "{{ bos_token }}"}});
    auto tok = Tokenizer::from_hf_json(write_json(dir, "tokenizer.json", j));
    ASSERT_TRUE(tok.ok()) << tok.status().to_string();
    expect_vectors(**tok, "llama-spm");
    EXPECT_EQ((*tok)->bos(), 1);
    EXPECT_EQ((*tok)->eos(), 2);
    EXPECT_TRUE((*tok)->add_bos_default());
    EXPECT_EQ((*tok)->chat_template(), "{{ bos_token }}");
    auto ids = (*tok)->encode("Hello world", true, false);
    ASSERT_TRUE(ids.ok());
    // As llama_detokenize: the leading-space strip applies to the first token, here the BOS.
    EXPECT_EQ((*tok)->decode(*ids, false), " Hello world");
    EXPECT_EQ((*tok)->decode(std::span<const int32_t>(*ids).subspan(1), false), "Hello world");
}

TEST(HfJson, SmallHandWrittenFile) {
    // A SentencePiece-style BPE: "a", "b", "ab", "▁", "▁ab", byte fallback, two added tokens.
    json vocab = {{"<unk>", 0},
                  {"<bos>", 1},
                  {"\xE2\x96\x81", 2},
                  {"a", 3},
                  {"b", 4},
                  {"ab", 5},
                  {"\xE2\x96\x81"
                   "ab",
                   6}};
    for (int b = 0; b < 256; ++b) vocab[fmt::format("<0x{:02X}>", b)] = 10 + b;
    json j = {{"model",
               {{"type", "BPE"},
                {"vocab", vocab},
                {"merges", {"a b", "\xE2\x96\x81 ab"}},
                {"byte_fallback", true},
                {"unk_token", "<unk>"}}},
              {"normalizer",
               {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "\xE2\x96\x81"}}},
              {"added_tokens",
               {{{"id", 1}, {"content", "<bos>"}, {"special", true}},
                {{"id", 300}, {"content", "<turn>"}, {"special", true}},
                {{"id", 301},
                 {"content",
                  "tool\xE2\x96\x81"
                  "call"},
                 {"special", false}}}}};
    const auto dir = temp_dir("small");
    write_json(dir, "tokenizer_config.json", {{"bos_token", "<bos>"}, {"add_bos_token", true}});
    auto tok = Tokenizer::from_hf_json(write_json(dir, "tokenizer.json", j));
    ASSERT_TRUE(tok.ok()) << tok.status().to_string();
    const Tokenizer& t = **tok;
    EXPECT_EQ(t.vocab_size(), 302);  // ids 266..299 are unused placeholders
    EXPECT_EQ(t.token_text(270), "[PAD270]");
    EXPECT_EQ(*t.encode("ab ab", false, false), (std::vector<int32_t>{5, 6}));
    EXPECT_EQ(*t.encode("<bos>ab<turn>", true, true), (std::vector<int32_t>{1, 5, 300}));
    // "é" falls back to its bytes; the user-defined token matches with a plain space.
    EXPECT_EQ(*t.encode("\xC3\xA9", false, false), (std::vector<int32_t>{10 + 0xC3, 10 + 0xA9}));
    EXPECT_EQ(*t.encode("tool call", false, false), (std::vector<int32_t>{301}));
    EXPECT_EQ(t.decode(std::vector<int32_t>{1, 5, 6, 300}, false), "ab ab");
}

TEST(HfJson, Errors) {
    const auto dir = temp_dir("errors");
    auto missing = Tokenizer::from_hf_json((dir / "nope.json").string());
    EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
    std::ofstream(dir / "bad.json") << "{not json";
    EXPECT_EQ(Tokenizer::from_hf_json((dir / "bad.json").string()).status().code(),
              StatusCode::kCorrupt);
    auto unigram = Tokenizer::from_hf_json(
        write_json(dir, "unigram.json", {{"model", {{"type", "Unigram"}}}}));
    EXPECT_EQ(unigram.status().code(), StatusCode::kUnsupported);
    EXPECT_NE(unigram.status().message().find("Unigram"), std::string::npos);
    auto weird_pre =
        Tokenizer::from_hf_json(write_json(dir, "pre.json",
                                           {{"model", {{"type", "BPE"}, {"vocab", {{"a", 0}}}}},
                                            {"pre_tokenizer", {{"type", "Whitespace"}}}}));
    EXPECT_EQ(weird_pre.status().code(), StatusCode::kUnsupported);
    EXPECT_NE(weird_pre.status().message().find("Whitespace"), std::string::npos);
}

}  // namespace
}  // namespace unicorn::text
