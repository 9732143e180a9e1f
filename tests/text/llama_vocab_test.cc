// llama.cpp's own tokenizer vectors: models/ggml-vocab-<name>.gguf with .gguf.inp (inputs
// separated by "\n__ggml_vocab_test__\n") and .gguf.out (one line of space-separated ids per
// input). llama.cpp's tests/test-tokenizer-0.cpp checks them with
// common_tokenize(text, add_special = false, parse_special = false); so does this test.
// The vectors are fetched into the cache by scripts/fetch-tokenizer-vectors, never committed.
#include <gtest/gtest.h>

#include <map>
#include <sstream>

#include "io/gguf.h"
#include "text/text_test_util.h"
#include "text/tokenizer.h"

namespace unicorn::text {
namespace {

struct VocabCase {
    std::string name;
    bool required;  // must load and pass; the others may be skipped as unsupported
};

// Every vocabulary with vectors in llama.cpp's models/ (tests/CMakeLists.txt).
const VocabCase kCases[] = {
    {"llama-spm", true},      {"llama-bpe", true},    {"gpt-2", true},
    {"gemma-4", true},        {"phi-3", true},        {"starcoder", true},
    {"refact", true},         {"command-r", true},    {"mpt", true},
    {"qwen2", true},          {"qwen35", true},       {"falcon", true},
    {"deepseek-coder", true}, {"deepseek-llm", true}, {"bert-bge", false},
};

// test-tokenizer-0.cpp's read_tests: a map, so a repeated input keeps its last output.
std::map<std::string, std::vector<int32_t>> read_vectors(const std::string& inp,
                                                         const std::string& out) {
    std::vector<std::string> inputs;
    const std::string sep = "\n__ggml_vocab_test__\n";
    size_t pos = 0;
    while (pos < inp.size()) {
        const size_t next = inp.find(sep, pos);
        if (next == std::string::npos) {
            inputs.push_back(inp.substr(pos));
            break;
        }
        inputs.push_back(inp.substr(pos, next - pos));
        pos = next + sep.size();
    }
    std::vector<std::string> lines;
    std::istringstream ls(out);
    for (std::string line; std::getline(ls, line);) lines.push_back(line);
    std::map<std::string, std::vector<int32_t>> tests;
    if (inputs.size() != lines.size()) return tests;
    for (size_t i = 0; i < inputs.size(); ++i) {
        std::vector<int32_t> ids;
        std::istringstream is(lines[i]);
        for (int64_t id = 0; is >> id;) ids.push_back(static_cast<int32_t>(id));
        tests[inputs[i]] = ids;
    }
    return tests;
}

class LlamaVocabTest : public ::testing::TestWithParam<VocabCase> {};

TEST_P(LlamaVocabTest, MatchesReferenceIds) {
    const VocabCase& c = GetParam();
    const auto dir = testing::unicorn_cache_dir() / "vocab";
    const auto gguf_path = dir / ("ggml-vocab-" + c.name + ".gguf");
    std::string inp;
    std::string out;
    if (!testing::read_file(gguf_path.string() + ".inp", inp) ||
        !testing::read_file(gguf_path.string() + ".out", out) ||
        !std::filesystem::exists(gguf_path)) {
        GTEST_SKIP() << "llama.cpp tokenizer vectors not found in " << dir
                     << "; run scripts/fetch-tokenizer-vectors to fetch them";
    }
    auto gguf = io::GgufFile::open(gguf_path.string());
    ASSERT_TRUE(gguf.ok()) << gguf.status().to_string();
    auto tok = Tokenizer::from_gguf(*gguf);
    if (!tok.ok() && !c.required && tok.status().code() == StatusCode::kUnsupported) {
        GTEST_SKIP() << c.name << ": " << tok.status().to_string();
    }
    ASSERT_TRUE(tok.ok()) << tok.status().to_string();

    const auto tests = read_vectors(inp, out);
    ASSERT_FALSE(tests.empty()) << "no vectors read (input and output counts differ?)";
    int failed = 0;
    for (const auto& [text, want] : tests) {
        auto got = (*tok)->encode(text, /*add_special=*/false, /*parse_special=*/false);
        ASSERT_TRUE(got.ok()) << got.status().to_string();
        if (*got != want) {
            ++failed;
            ADD_FAILURE() << c.name << ": '" << text << "'\n  want " << testing::show_ids(want)
                          << "\n  got  " << testing::show_ids(*got);
        }
    }
    RecordProperty("vectors", static_cast<int>(tests.size()));
    EXPECT_EQ(failed, 0) << c.name << ": " << failed << " of " << tests.size() << " inputs differ";
}

INSTANTIATE_TEST_SUITE_P(Vocabs, LlamaVocabTest, ::testing::ValuesIn(kCases),
                         [](const ::testing::TestParamInfo<VocabCase>& info) {
                             std::string n = info.param.name;
                             for (char& ch : n)
                                 if (ch == '-') ch = '_';
                             return n;
                         });

}  // namespace
}  // namespace unicorn::text

namespace unicorn::text {
namespace {

// Every vocabulary in llama.cpp's models/, vectors or not, either loads or is refused with an
// `unsupported` Status that names what is missing (bert, t5, ...).
TEST(LlamaVocabs, LoadOrRefuseClearly) {
    const auto dir = testing::unicorn_cache_dir() / "vocab";
    if (!std::filesystem::exists(dir)) {
        GTEST_SKIP() << "no " << dir << "; run scripts/fetch-tokenizer-vectors";
    }
    int loaded = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        const std::string name = entry.path().filename().string();
        if (entry.path().extension() != ".gguf") continue;
        auto gguf = io::GgufFile::open(entry.path().string());
        ASSERT_TRUE(gguf.ok()) << name << ": " << gguf.status().to_string();
        auto tok = Tokenizer::from_gguf(*gguf);
        if (tok.ok()) {
            ++loaded;
            auto ids = (*tok)->encode("Hello world 123 \xF0\x9F\x98\x80", true, true);
            EXPECT_TRUE(ids.ok()) << name;
            continue;
        }
        EXPECT_EQ(tok.status().code(), StatusCode::kUnsupported)
            << name << ": " << tok.status().to_string();
        const std::string model = *gguf->get_string("tokenizer.ggml.model");
        EXPECT_NE(tok.status().message().find(model), std::string::npos) << tok.status().message();
    }
    EXPECT_GE(loaded, 14);
}

}  // namespace
}  // namespace unicorn::text
