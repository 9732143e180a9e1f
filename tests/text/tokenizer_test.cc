// Unit tests of the tokenizers on small vocabularies built here as in-memory GGUF files: merge
// order, byte fallback round trips, special-token splitting, BOS/EOS rules, the incremental
// detokenizer, and the errors a bad vocabulary gives.
#include "text/tokenizer.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <random>

#include "io/gguf.h"
#include "io/gguf_writer.h"
#include "text/detokenizer.h"
#include "text/text_test_util.h"
#include "text/unicode.h"

namespace unicorn::text {
namespace {

constexpr int32_t kUnknown = 2;
constexpr int32_t kControl = 3;
constexpr int32_t kUserDefined = 4;
constexpr int32_t kByte = 6;
constexpr int32_t kNormal = 1;

struct VocabBuilder {
    std::vector<std::string> tokens;
    std::vector<float> scores;
    std::vector<int32_t> types;
    int32_t add(const std::string& t, float score = 0.0f, int32_t type = kNormal) {
        tokens.push_back(t);
        scores.push_back(score);
        types.push_back(type);
        return static_cast<int32_t>(tokens.size() - 1);
    }
    int32_t id(const std::string& t) const {
        for (size_t i = 0; i < tokens.size(); ++i)
            if (tokens[i] == t) return static_cast<int32_t>(i);
        return -1;
    }
};

Result<io::GgufFile> to_gguf(io::GgufWriter& w) {
    UNI_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, w.to_bytes());
    return io::GgufFile::parse_bytes(
        std::make_shared<const std::vector<uint8_t>>(std::move(bytes)));
}

// A SentencePiece vocabulary: <unk> <s> </s>, 256 byte tokens, a few pieces whose scores make
// "▁hello" merge as he -> ll -> llo -> hello -> ▁hello, and special tokens of each kind.
VocabBuilder spm_vocab() {
    VocabBuilder v;
    v.add("<unk>", 0, kUnknown);
    v.add("<s>", 0, kControl);
    v.add("</s>", 0, kControl);
    for (int b = 0; b < 256; ++b) v.add(fmt::format("<0x{:02X}>", b), 0, kByte);
    for (const char* p : {"\xE2\x96\x81", "h", "e", "l", "o", "w", "r", "d"}) v.add(p, -1.0f);
    v.add("he", 10);
    v.add("ll", 9);
    v.add("llo", 8);
    v.add("hello", 7);
    v.add("\xE2\x96\x81hello", 6);
    v.add("\xE2\x96\x81w", 5);
    v.add("or", 4);
    v.add("\xE2\x96\x81wor", 3);
    v.add("<start_of_turn>", 0, kControl);
    v.add("<end_of_turn>", 0, kControl);
    v.add("<tool>", 0, kUserDefined);
    v.add("ab", 0, kUserDefined);
    v.add("abc", 0, kUserDefined);
    return v;
}

Result<std::unique_ptr<Tokenizer>> spm_tokenizer(const VocabBuilder& v,
                                                 bool add_space_prefix = true, bool add_bos = true,
                                                 bool add_eos = false) {
    io::GgufWriter w;
    w.set_string("tokenizer.ggml.model", "llama");
    w.set_array("tokenizer.ggml.tokens", v.tokens);
    w.set_array("tokenizer.ggml.scores", v.scores);
    w.set_array("tokenizer.ggml.token_type", v.types);
    w.set_u32("tokenizer.ggml.bos_token_id", 1);
    w.set_u32("tokenizer.ggml.eos_token_id", 2);
    w.set_u32("tokenizer.ggml.unknown_token_id", 0);
    w.set_bool("tokenizer.ggml.add_bos_token", add_bos);
    w.set_bool("tokenizer.ggml.add_eos_token", add_eos);
    w.set_bool("tokenizer.ggml.add_space_prefix", add_space_prefix);
    UNI_ASSIGN_OR_RETURN(io::GgufFile g, to_gguf(w));
    return Tokenizer::from_gguf(g);
}

std::vector<int32_t> enc(const Tokenizer& t, std::string_view s, bool add_special,
                         bool parse_special) {
    auto r = t.encode(s, add_special, parse_special);
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return r.ok() ? *r : std::vector<int32_t>{};
}

TEST(SpmTokenizer, MergesByScore) {
    const VocabBuilder v = spm_vocab();
    auto t = spm_tokenizer(v);
    ASSERT_TRUE(t.ok()) << t.status().to_string();
    EXPECT_EQ((*t)->kind(), TokenizerKind::kSentencePiece);
    EXPECT_EQ(enc(**t, "hello", false, false), std::vector<int32_t>{v.id("\xE2\x96\x81hello")});
    // "▁world": ▁w + or merge, then ▁wor (3) beats nothing else; l and d stay single.
    EXPECT_EQ(enc(**t, "world", false, false),
              (std::vector<int32_t>{v.id("\xE2\x96\x81wor"), v.id("l"), v.id("d")}));
    // Without the space prefix the text starts with "h".
    auto t2 = spm_tokenizer(v, /*add_space_prefix=*/false);
    ASSERT_TRUE(t2.ok());
    EXPECT_EQ(enc(**t2, "hello", false, false), std::vector<int32_t>{v.id("hello")});
}

TEST(SpmTokenizer, ByteFallbackAndRoundTrip) {
    const VocabBuilder v = spm_vocab();
    auto t = spm_tokenizer(v);
    ASSERT_TRUE(t.ok());
    // "é" is not a piece: its two UTF-8 bytes become <0xC3> <0xA9>.
    EXPECT_EQ(enc(**t, "\xC3\xA9", false, false),
              (std::vector<int32_t>{v.id("\xE2\x96\x81"), v.id("<0xC3>"), v.id("<0xA9>")}));

    std::mt19937 rng(1234);
    const uint32_t pool[] = {'a',  'h',  'e',  'l',    'o',     ' ',     ' ',
                             '\n', '\t', 0xE9, 0x4E2D, 0x1F600, 0x1F999, 0x10FFFF};
    for (int iter = 0; iter < 300; ++iter) {
        std::string s;
        const int n = static_cast<int>(rng() % 24);
        for (int i = 0; i < n; ++i) {
            uint32_t cp = (rng() % 3 == 0) ? (rng() % 0x10FFFF) : pool[rng() % std::size(pool)];
            // Surrogates are not characters; U+2581 is SentencePiece's space and decodes to ' '.
            if ((cp >= 0xD800 && cp <= 0xDFFF) || cp == 0x2581) cp = 'x';
            append_utf8(s, cp);
        }
        auto ids = enc(**t, s, false, false);
        EXPECT_EQ((*t)->decode(ids, false), s) << "ids " << testing::show_ids(ids);
        // Also with BOS: decode drops the control token's text and keeps the text whole.
        auto with_bos = enc(**t, s, true, false);
        ASSERT_FALSE(with_bos.empty());
        EXPECT_EQ(with_bos[0], 1);
    }
    // Arbitrary bytes, invalid UTF-8 included, survive too (SentencePiece keeps raw bytes).
    for (int iter = 0; iter < 200; ++iter) {
        std::string s;
        const int n = static_cast<int>(rng() % 16);
        for (int i = 0; i < n; ++i) s.push_back(static_cast<char>(rng() % 256));
        if (!s.empty() && s[0] == ' ')
            s[0] = 'x';  // a leading space is ambiguous after the prefix strip
        EXPECT_EQ((*t)->decode(enc(**t, s, false, false), false), s);
    }
}

TEST(SpmTokenizer, TokenToPiece) {
    const VocabBuilder v = spm_vocab();
    auto t = spm_tokenizer(v);
    ASSERT_TRUE(t.ok());
    const Tokenizer& k = **t;
    EXPECT_EQ(k.token_to_piece(v.id("\xE2\x96\x81hello"), false), " hello");
    EXPECT_EQ(k.token_to_piece(v.id("<0x41>"), false), "A");
    EXPECT_EQ(k.token_to_piece(v.id("<start_of_turn>"), false), "");
    EXPECT_EQ(k.token_to_piece(v.id("<start_of_turn>"), true), "<start_of_turn>");
    EXPECT_EQ(k.token_to_piece(v.id("<unk>"), false), "");
    EXPECT_EQ(k.token_to_piece(v.id("<tool>"), false), "<tool>");  // user-defined: always shown
    EXPECT_EQ(k.token_to_piece(-1, true), "");
    EXPECT_EQ(k.token_to_piece(k.vocab_size(), true), "");
    EXPECT_TRUE(k.is_control(v.id("<s>")));
    EXPECT_FALSE(k.is_control(v.id("he")));
    // decode strips the leading space of the first piece only (add_space_prefix).
    const std::vector<int32_t> ids = {v.id("\xE2\x96\x81hello"), v.id("\xE2\x96\x81hello")};
    EXPECT_EQ(k.decode(ids, false), "hello hello");
    EXPECT_EQ(k.decode(std::vector<int32_t>{1, v.id("\xE2\x96\x81hello")}, true), "<s> hello");
}

TEST(SpmTokenizer, SpecialTokenSplitting) {
    const VocabBuilder v = spm_vocab();
    auto t = spm_tokenizer(v, /*add_space_prefix=*/false);
    ASSERT_TRUE(t.ok());
    const int32_t sot = v.id("<start_of_turn>");
    const int32_t eot = v.id("<end_of_turn>");
    EXPECT_EQ(enc(**t, "<start_of_turn>hello<end_of_turn>", false, true),
              (std::vector<int32_t>{sot, v.id("hello"), eot}));
    // Without parse_special the control tokens are plain text ('<' is byte-encoded).
    auto plain = enc(**t, "<start_of_turn>", false, false);
    EXPECT_EQ(std::count(plain.begin(), plain.end(), sot), 0);
    EXPECT_EQ(plain.front(), v.id("<0x3C>"));
    // User-defined tokens split either way, longest first ("abc" before "ab").
    EXPECT_EQ(enc(**t, "abcab<tool>", false, false),
              (std::vector<int32_t>{v.id("abc"), v.id("ab"), v.id("<tool>")}));
    // Adjacent and repeated specials.
    EXPECT_EQ(enc(**t, "<end_of_turn><end_of_turn>", false, true),
              (std::vector<int32_t>{eot, eot}));
    EXPECT_EQ((*t)->decode(enc(**t, "x<end_of_turn>y", false, true), true), "x<end_of_turn>y");
    EXPECT_EQ((*t)->decode(enc(**t, "x<end_of_turn>y", false, true), false), "xy");
    // The end-of-turn token is found by its text and ends generation.
    EXPECT_EQ((*t)->eot(), eot);
    EXPECT_TRUE((*t)->is_eog(eot));
    EXPECT_TRUE((*t)->is_eog(2));
    EXPECT_FALSE((*t)->is_eog(sot));
    EXPECT_FALSE((*t)->is_eog(-1));
}

TEST(SpmTokenizer, SpacePrefixAfterSpecials) {
    const VocabBuilder v = spm_vocab();
    auto t = spm_tokenizer(v, /*add_space_prefix=*/true);
    ASSERT_TRUE(t.ok());
    // As llama.cpp: text after a special token gets the space prefix too.
    EXPECT_EQ(enc(**t, "<start_of_turn>hello", false, true),
              (std::vector<int32_t>{v.id("<start_of_turn>"), v.id("\xE2\x96\x81hello")}));
}

TEST(SpmTokenizer, BosAndEosRules) {
    const VocabBuilder v = spm_vocab();
    auto t = spm_tokenizer(v, true, /*add_bos=*/true, /*add_eos=*/true);
    ASSERT_TRUE(t.ok());
    const int32_t hello = v.id("\xE2\x96\x81hello");
    EXPECT_TRUE((*t)->add_bos_default());
    EXPECT_EQ(enc(**t, "hello", true, false), (std::vector<int32_t>{1, hello, 2}));
    EXPECT_EQ(enc(**t, "hello", false, false), (std::vector<int32_t>{hello}));
    EXPECT_EQ(enc(**t, "", true, false), (std::vector<int32_t>{1, 2}));
    EXPECT_EQ(enc(**t, "", false, false), (std::vector<int32_t>{}));
    // Text that starts with the BOS token, specials parsed: one BOS, never two.
    EXPECT_EQ(enc(**t, "<s>hello", true, true), (std::vector<int32_t>{1, hello, 2}));
    EXPECT_EQ(enc(**t, "<s>hello", false, true), (std::vector<int32_t>{1, hello}));
    // A BOS later in the text is kept.
    EXPECT_EQ(enc(**t, "hello<s>", true, true), (std::vector<int32_t>{1, hello, 1, 2}));
    // Not parsed: "<s>" is text, and the added BOS is the only BOS token.
    auto ids = enc(**t, "<s>hello", true, false);
    EXPECT_EQ(std::count(ids.begin(), ids.end(), 1), 1);

    auto no_bos = spm_tokenizer(v, true, /*add_bos=*/false, /*add_eos=*/false);
    ASSERT_TRUE(no_bos.ok());
    EXPECT_FALSE((*no_bos)->add_bos_default());
    EXPECT_EQ(enc(**no_bos, "hello", true, false), (std::vector<int32_t>{hello}));
}

// The emoji U+1F600 (F0 9F 98 80) as four byte tokens, streamed one at a time.
TEST(IncrementalDetokenizer, HoldsBackSplitCharacters) {
    const VocabBuilder v = spm_vocab();
    auto t = spm_tokenizer(v, /*add_space_prefix=*/false);
    ASSERT_TRUE(t.ok());
    const Tokenizer& k = **t;
    const std::vector<int32_t> ids = enc(k, "he\xF0\x9F\x98\x80llo", false, false);
    ASSERT_EQ(ids.size(), 6u) << testing::show_ids(ids);  // he <0xF0> <0x9F> <0x98> <0x80> llo
    IncrementalDetokenizer d(k);
    std::vector<std::string> outs;
    for (int32_t id : ids) {
        outs.push_back(d.push(id));
        EXPECT_TRUE(is_valid_utf8(outs.back())) << "invalid UTF-8 after id " << id;
    }
    EXPECT_EQ(outs, (std::vector<std::string>{"he", "", "", "", "\xF0\x9F\x98\x80", "llo"}));
    EXPECT_EQ(d.pending_bytes(), 0u);
    EXPECT_EQ(d.flush(), "");
}

TEST(IncrementalDetokenizer, BrokenSequencesBecomeReplacementCharacters) {
    const VocabBuilder v = spm_vocab();
    auto t = spm_tokenizer(v, false);
    ASSERT_TRUE(t.ok());
    IncrementalDetokenizer d(**t);
    // A lead byte, then an ordinary token: the lead can never complete.
    EXPECT_EQ(d.push(v.id("<0xF0>")), "");
    EXPECT_EQ(d.push(v.id("<0x9F>")), "");
    EXPECT_EQ(d.push(v.id("he")), "\xEF\xBF\xBDhe");
    // A stray continuation byte.
    EXPECT_EQ(d.push(v.id("<0x80>")), "\xEF\xBF\xBD");
    // An unfinished character at the end comes out on flush as U+FFFD.
    EXPECT_EQ(d.push(v.id("<0xE2>")), "");
    EXPECT_EQ(d.flush(), "\xEF\xBF\xBD");

    // Random byte-token streams: every output is valid UTF-8.
    std::mt19937 rng(7);
    for (int iter = 0; iter < 200; ++iter) {
        IncrementalDetokenizer s(**t);
        for (int i = 0; i < 20; ++i) {
            const int32_t id =
                (rng() % 4 == 0) ? v.id("he") : v.id(fmt::format("<0x{:02X}>", rng() % 256));
            ASSERT_TRUE(is_valid_utf8(s.push(id)));
        }
        ASSERT_TRUE(is_valid_utf8(s.flush()));
    }
}

TEST(IncrementalDetokenizer, SequenceStartStripsLikeDecode) {
    const VocabBuilder v = spm_vocab();
    auto t = spm_tokenizer(v, /*add_space_prefix=*/true);
    ASSERT_TRUE(t.ok());
    const auto ids = enc(**t, "hello hello \xC3\xA9", false, false);
    std::string streamed;
    std::string raw;
    IncrementalDetokenizer from_start(**t, {.special = false, .from_sequence_start = true});
    IncrementalDetokenizer stream(**t);
    for (int32_t id : ids) {
        streamed += from_start.push(id);
        raw += stream.push(id);
    }
    streamed += from_start.flush();
    raw += stream.flush();
    EXPECT_EQ(streamed, (*t)->decode(ids, false));
    EXPECT_EQ(streamed, "hello hello \xC3\xA9");
    EXPECT_EQ(raw, " hello hello \xC3\xA9");  // pieces as llama.cpp prints generated tokens
}

// ---------------------------------------------------------------- byte-level BPE

// The 256 byte-alphabet characters, then merged tokens.
Result<std::unique_ptr<Tokenizer>> bpe_tokenizer(const std::string& pre, bool with_merges = true,
                                                 int64_t bos_id = -1) {
    std::vector<std::string> tokens;
    for (int b = 0; b < 256; ++b) tokens.push_back(byte_to_unicode(static_cast<uint8_t>(b)));
    const std::vector<std::string> merges = {"h e",        "l l", "he ll",       "hell o",
                                             "\xC4\xA0 w", "o r", "\xC4\xA0w or"};
    for (const std::string& m : merges) {
        const size_t sp = m.find(' ');
        tokens.push_back(m.substr(0, sp) + m.substr(sp + 1));
    }
    tokens.push_back("<|endoftext|>");
    tokens.push_back("<|im_end|>");
    std::vector<int32_t> types(tokens.size(), kNormal);
    types[types.size() - 2] = kControl;
    types[types.size() - 1] = kControl;
    io::GgufWriter w;
    w.set_string("tokenizer.ggml.model", "gpt2");
    w.set_string("tokenizer.ggml.pre", pre);
    w.set_array("tokenizer.ggml.tokens", tokens);
    w.set_array("tokenizer.ggml.token_type", types);
    if (with_merges) w.set_array("tokenizer.ggml.merges", merges);
    w.set_u32("tokenizer.ggml.bos_token_id",
              static_cast<uint32_t>(bos_id < 0 ? tokens.size() - 2 : bos_id));
    w.set_u32("tokenizer.ggml.eos_token_id", static_cast<uint32_t>(tokens.size() - 2));
    UNI_ASSIGN_OR_RETURN(io::GgufFile g, to_gguf(w));
    return Tokenizer::from_gguf(g);
}

TEST(BpeTokenizer, MergesByRank) {
    auto t = bpe_tokenizer("gpt-2");
    ASSERT_TRUE(t.ok()) << t.status().to_string();
    const Tokenizer& k = **t;
    EXPECT_EQ(k.kind(), TokenizerKind::kByteLevelBpe);
    const int32_t hello = k.find_token("hello");
    const int32_t world = k.find_token("\xC4\xA0wor");
    ASSERT_GE(hello, 0);
    ASSERT_GE(world, 0);
    EXPECT_EQ(enc(k, "hello world", false, false), (std::vector<int32_t>{hello, world, 'l', 'd'}));
    EXPECT_EQ(k.decode(enc(k, "hello world \xF0\x9F\x98\x80\n\n", false, false), false),
              "hello world \xF0\x9F\x98\x80\n\n");
    EXPECT_EQ(k.token_to_piece(world, false), " wor");
    EXPECT_EQ(k.token_text(world), "\xC4\xA0wor");
    // ChatML end of turn and <|endoftext|> both end generation.
    EXPECT_EQ(k.eot(), k.find_token("<|im_end|>"));
    EXPECT_TRUE(k.is_eog(k.find_token("<|im_end|>")));
    EXPECT_TRUE(k.is_eog(k.find_token("<|endoftext|>")));
    EXPECT_EQ(enc(k, "a<|im_end|>", false, true),
              (std::vector<int32_t>{'a', k.find_token("<|im_end|>")}));
}

TEST(BpeTokenizer, CleanSpacesOnDecode) {
    auto t = bpe_tokenizer("gpt-2");  // gpt-2 cleans tokenization spaces, as llama.cpp does
    ASSERT_TRUE(t.ok());
    EXPECT_EQ((*t)->decode(enc(**t, "a , b . c ' d 's", false, false), false), "a, b. c'd's");
    auto s = bpe_tokenizer("smollm");  // smollm does not
    ASSERT_TRUE(s.ok());
    EXPECT_EQ((*s)->decode(enc(**s, "a , b", false, false), false), "a , b");
}

TEST(BadVocab, ClearErrors) {
    auto no_merges = bpe_tokenizer("gpt-2", /*with_merges=*/false);
    ASSERT_FALSE(no_merges.ok());
    EXPECT_EQ(no_merges.status().code(), StatusCode::kNotFound);
    EXPECT_NE(no_merges.status().message().find("merges"), std::string::npos)
        << no_merges.status().message();

    auto bad_pre = bpe_tokenizer("no-such-pre");
    ASSERT_FALSE(bad_pre.ok());
    EXPECT_EQ(bad_pre.status().code(), StatusCode::kUnsupported);
    EXPECT_NE(bad_pre.status().message().find("no-such-pre"), std::string::npos)
        << bad_pre.status().message();

    auto bad_bos = bpe_tokenizer("gpt-2", true, /*bos_id=*/100000);
    ASSERT_FALSE(bad_bos.ok());
    EXPECT_EQ(bad_bos.status().code(), StatusCode::kOutOfRange);
    EXPECT_NE(bad_bos.status().message().find("bos_token_id"), std::string::npos)
        << bad_bos.status().message();

    {
        io::GgufWriter w;
        w.set_string("tokenizer.ggml.model", "bert");
        w.set_array("tokenizer.ggml.tokens", std::vector<std::string>{"a"});
        auto g = to_gguf(w);
        ASSERT_TRUE(g.ok());
        auto t = Tokenizer::from_gguf(*g);
        ASSERT_FALSE(t.ok());
        EXPECT_EQ(t.status().code(), StatusCode::kUnsupported);
        EXPECT_NE(t.status().message().find("bert"), std::string::npos);
    }
    {
        io::GgufWriter w;
        w.set_string("general.architecture", "llama");
        auto g = to_gguf(w);
        ASSERT_TRUE(g.ok());
        auto t = Tokenizer::from_gguf(*g);
        ASSERT_FALSE(t.ok());
        EXPECT_EQ(t.status().code(), StatusCode::kNotFound);
    }
    {
        VocabBuilder v = spm_vocab();
        v.types.resize(3);  // fewer types than tokens
        auto t = spm_tokenizer(v);
        ASSERT_FALSE(t.ok());
        EXPECT_EQ(t.status().code(), StatusCode::kCorrupt);
    }
    {
        VocabBuilder v = spm_vocab();
        v.tokens[5] = v.tokens[6];  // two tokens with one text
        auto t = spm_tokenizer(v);
        ASSERT_FALSE(t.ok());
        EXPECT_EQ(t.status().code(), StatusCode::kCorrupt);
    }
    auto ok = spm_tokenizer(spm_vocab());
    ASSERT_TRUE(ok.ok());
    EXPECT_TRUE((*ok)->check_ids(std::vector<int32_t>{0, 1, 2}).ok());
    const Status bad_ids = (*ok)->check_ids(std::vector<int32_t>{0, 99999});
    EXPECT_EQ(bad_ids.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(bad_ids.message().find("99999"), std::string::npos);
    EXPECT_EQ((*ok)->decode(std::vector<int32_t>{-3, 99999}, true), "");
}

}  // namespace
}  // namespace unicorn::text
