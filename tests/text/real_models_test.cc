// Tokenization of the real models against llama.cpp: tests/data/real/tokens_<model>.json holds
// llama-tokenize's ids for every string of tokenizer_strings.json (flags in that file and in
// tests/data/real/README.md: BOS as the GGUF says, special tokens parsed). The GGUF files come
// from scripts/fetch-models into $UNICORN_CACHE/models; without them the tests skip.
//
// The one expected difference is this engine's single-BOS rule (text/tokenizer.h): for a string
// that itself starts with the BOS token's text, llama.cpp emits BOS twice and Unicorn once.
#include <gtest/gtest.h>

#include <iostream>
#include <nlohmann/json.hpp>

#include "io/gguf.h"
#include "text/detokenizer.h"
#include "text/text_test_util.h"
#include "text/tokenizer.h"
#include "text/unicode.h"

namespace unicorn::text {
namespace {

struct RealModel {
    const char* name;
    int32_t bos;
    int32_t eot;  // Gemma <end_of_turn>, ChatML <|im_end|>
};

class RealModelTokenizerTest : public ::testing::TestWithParam<RealModel> {
  protected:
    void SetUp() override {
        // The model file is named by any of the reference files.
        for (const char* kind : {"tokens_", "top1_", "greedy_"}) {
            if (load_json(std::string(kind) + GetParam().name + ".json", any_)) break;
        }
        if (any_.is_null()) GTEST_SKIP() << "no llama.cpp reference data for " << GetParam().name;
        const std::string file = any_["model"]["file"].get<std::string>();
        const auto model_path = testing::unicorn_cache_dir() / "models" / file;
        if (!std::filesystem::exists(model_path)) {
            GTEST_SKIP() << "model " << model_path << " not found; run scripts/fetch-models";
        }
        auto gguf = io::GgufFile::open(model_path.string());
        ASSERT_TRUE(gguf.ok()) << gguf.status().to_string();
        auto tok = Tokenizer::from_gguf(*gguf);
        ASSERT_TRUE(tok.ok()) << tok.status().to_string();
        tok_ = std::move(tok).value();
    }

    // tests/data/real, or $UNICORN_REAL_REFS (to check freshly made references before they are
    // committed).
    static std::string refs_dir() {
        const char* d = std::getenv("UNICORN_REAL_REFS");
        return d != nullptr && *d != '\0' ? d : std::string(UNICORN_TEST_DATA) + "/real";
    }

    static bool load_json(const std::string& name, nlohmann::json& out) {
        std::string text;
        if (!testing::read_file(refs_dir() + "/" + name, text)) return false;
        out = nlohmann::json::parse(text);
        return true;
    }

    // tokens_<model>.json, or a skip.
    bool load_tokens_ref() {
        if (load_json(std::string("tokens_") + GetParam().name + ".json", ref_)) return true;
        return false;
    }

    nlohmann::json any_;
    nlohmann::json ref_;
    std::unique_ptr<Tokenizer> tok_;
};

#define REQUIRE_TOKENS_REF()                                            \
    if (!load_tokens_ref()) {                                           \
        GTEST_SKIP() << "no tests/data/real/tokens_" << GetParam().name \
                     << ".json (tools/make_llama_refs.py)";             \
    }

TEST_P(RealModelTokenizerTest, MatchesLlamaCpp) {
    REQUIRE_TOKENS_REF();
    const bool add_special = ref_["flags"]["add_bos"].get<bool>();
    const bool parse_special = ref_["flags"]["parse_special"].get<bool>();
    ASSERT_EQ(add_special, tok_->add_bos_default())
        << "the reference and the GGUF disagree on add_bos";
    int identical = 0;
    int single_bos = 0;
    int differ = 0;
    for (const auto& c : ref_["cases"]) {
        const std::string s = c["string"].get<std::string>();
        const std::vector<int32_t> want = c["ids"].get<std::vector<int32_t>>();
        auto got = tok_->encode(s, add_special, parse_special);
        ASSERT_TRUE(got.ok()) << got.status().to_string();
        if (*got == want) {
            ++identical;
            continue;
        }
        // llama.cpp's double BOS for text that starts with the BOS token.
        const int32_t bos = tok_->bos();
        if (add_special && parse_special && want.size() >= 2 && want[0] == bos && want[1] == bos &&
            std::vector<int32_t>(want.begin() + 1, want.end()) == *got) {
            ++single_bos;
            continue;
        }
        ++differ;
        ADD_FAILURE() << GetParam().name << ": '" << s << "'\n  llama.cpp "
                      << testing::show_ids(want) << "\n  unicorn   " << testing::show_ids(*got);
    }
    const int total = static_cast<int>(ref_["cases"].size());
    std::cout << "[ agreement] " << GetParam().name << ": " << identical << "/" << total
              << " identical, " << single_bos << " differ only by the single-BOS rule, " << differ
              << " differ\n";
    RecordProperty("identical", identical);
    RecordProperty("single_bos", single_bos);
    EXPECT_GE(total, 200);
    EXPECT_EQ(differ, 0);
}

TEST_P(RealModelTokenizerTest, DecodesBackAndStreams) {
    REQUIRE_TOKENS_REF();
    int checked = 0;
    for (const auto& c : ref_["cases"]) {
        const std::string s = c["string"].get<std::string>();
        auto ids = tok_->encode(s, /*add_special=*/false, /*parse_special=*/true);
        ASSERT_TRUE(ids.ok());
        const std::string back = tok_->decode(*ids, /*special=*/true);
        EXPECT_EQ(back, s) << testing::show_ids(*ids);
        // Streaming the same ids gives the same text, valid UTF-8 at every step.
        IncrementalDetokenizer d(*tok_, {.special = true, .from_sequence_start = true});
        std::string streamed;
        for (int32_t id : *ids) {
            const std::string piece = d.push(id);
            ASSERT_TRUE(is_valid_utf8(piece));
            streamed += piece;
        }
        streamed += d.flush();
        EXPECT_EQ(streamed, back);
        ++checked;
    }
    EXPECT_GE(checked, 200);
}

// The prompts of greedy_<model>.json and the text of top1_<model>.json, tokenized by llama.cpp
// with the same flags; the greedy continuations, streamed, give llama-completion's text.
TEST_P(RealModelTokenizerTest, OtherLlamaCppTokenizations) {
    nlohmann::json top1;
    nlohmann::json greedy;
    const bool have_top1 = load_json(std::string("top1_") + GetParam().name + ".json", top1);
    const bool have_greedy = load_json(std::string("greedy_") + GetParam().name + ".json", greedy);
    if (!have_top1 && !have_greedy) GTEST_SKIP() << "no top1_/greedy_ reference files";
    const bool add = tok_->add_bos_default();
    if (have_top1) {
        std::string text;
        ASSERT_TRUE(
            testing::read_file(refs_dir() + "/text_512.txt", text) ||
            testing::read_file(std::string(UNICORN_TEST_DATA) + "/real/text_512.txt", text));
        auto ids = tok_->encode(text, add, true);
        ASSERT_TRUE(ids.ok());
        const auto want = top1["tokens"].get<std::vector<int32_t>>();
        ASSERT_GE(ids->size(), want.size());
        EXPECT_EQ(std::vector<int32_t>(ids->begin(),
                                       ids->begin() + static_cast<std::ptrdiff_t>(want.size())),
                  want);
    }
    if (have_greedy) {
        for (const auto& run : greedy["runs"]) {
            auto ids = tok_->encode(run["prompt"].get<std::string>(), add, true);
            ASSERT_TRUE(ids.ok());
            EXPECT_EQ(*ids, run["prompt_ids"].get<std::vector<int32_t>>()) << run["prompt"];
            IncrementalDetokenizer d(*tok_);
            std::string text;
            for (int32_t id : run["generated_ids"].get<std::vector<int32_t>>()) text += d.push(id);
            text += d.flush();
            std::string want = run["generated_text"].get<std::string>();
            // llama-completion's stdout may end with its own log line; that is not model text.
            if (const size_t log = want.find("\nllama_completion: "); log != std::string::npos)
                want.resize(log);
            EXPECT_EQ(text, want) << run["prompt"];
        }
    }
}

TEST_P(RealModelTokenizerTest, SpecialIds) {
    EXPECT_EQ(tok_->bos(), GetParam().bos);
    EXPECT_EQ(tok_->eot(), GetParam().eot);
    EXPECT_TRUE(tok_->is_eog(GetParam().eot));
    EXPECT_TRUE(tok_->is_eog(tok_->eos()));
    EXPECT_FALSE(tok_->is_eog(tok_->find_token("Hello")));
}

INSTANTIATE_TEST_SUITE_P(Models, RealModelTokenizerTest,
                         ::testing::Values(RealModel{"gemma3-270m", 2, 106},
                                           RealModel{"smollm2-135m", 1, 2}),
                         [](const ::testing::TestParamInfo<RealModel>& info) {
                             std::string n = info.param.name;
                             for (char& ch : n)
                                 if (ch == '-') ch = '_';
                             return n;
                         });

}  // namespace
}  // namespace unicorn::text
