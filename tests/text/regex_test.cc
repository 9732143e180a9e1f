// The pre-tokenizer regex engine and the Unicode helpers under it.
#include "text/regex.h"

#include <gtest/gtest.h>

#include "text/pre_tokenizer.h"
#include "text/unicode.h"

namespace unicorn::text {
namespace {

std::vector<std::string> split(std::string_view pattern, std::string_view text) {
    auto re = SplitRegex::compile(pattern);
    EXPECT_TRUE(re.ok()) << re.status().to_string();
    if (!re.ok()) return {};
    const std::vector<uint32_t> cps = utf8_to_codepoints(text);
    std::vector<std::string> out;
    size_t start = 0;
    for (size_t len : re->split(cps, {cps.size()})) {
        std::string w;
        for (size_t i = start; i < start + len; ++i) append_utf8(w, cps[i]);
        out.push_back(w);
        start += len;
    }
    return out;
}

using V = std::vector<std::string>;

TEST(SplitRegex, Gpt2Pattern) {
    EXPECT_EQ(split(kGpt2Pattern, "Hello world's  3 cats!!\n"),
              (V{"Hello", " world", "'s", " ", " 3", " cats", "!!", "\n"}));
    // \s+(?!\S): a run of spaces leaves its last space to the next word.
    EXPECT_EQ(split(kGpt2Pattern, "a    b"), (V{"a", "   ", " b"}));
    EXPECT_EQ(split(kGpt2Pattern, "  "), (V{"  "}));
    // Letters of any script; CJK is \p{L}; digits of other scripts are \p{N}.
    EXPECT_EQ(split(kGpt2Pattern, " нещо 我想 ٣٤"), (V{" нещо", " 我想", " ٣٤"}));
}

TEST(SplitRegex, Llama3Pattern) {
    EXPECT_EQ(split(kLlama3Pattern, "12345 abc"), (V{"123", "45", " abc"}));
    EXPECT_EQ(split(kLlama3Pattern, "I'M here\n\n  x"), (V{"I", "'M", " here", "\n\n", " ", " x"}));
    // A leading non-letter joins the letters after it.
    EXPECT_EQ(split(kLlama3Pattern, "(foo)"), (V{"(foo", ")"}));
}

TEST(SplitRegex, Features) {
    EXPECT_EQ(split("\\p{N}", "a12b"), (V{"a", "1", "2", "b"}));
    EXPECT_EQ(split("[0-9][0-9][0-9]", "12345"), (V{"123", "45"}));
    EXPECT_EQ(split("(?i:ab)+", "xAbaBy"), (V{"x", "AbaB", "y"}));
    EXPECT_EQ(split("\\s+$", "a  b  "), (V{"a  b", "  "}));
    EXPECT_EQ(split("a{2,3}?", "aaaa"), (V{"aa", "aa"}));
    EXPECT_EQ(split("x(?=y)", "xyxz"), (V{"x", "yxz"}));
    EXPECT_EQ(split("[^\\s\\p{L}]+", "ab,.; cd"), (V{"ab", ",.;", " cd"}));
    EXPECT_EQ(split("\\u4E00+", "\xE4\xB8\x80\xE4\xB8\x80x"), (V{"\xE4\xB8\x80\xE4\xB8\x80", "x"}));
}

TEST(SplitRegex, RefusesWhatItCannotDo) {
    for (const char* bad :
         {"a*", "(?=x)", "(a*)*", "a++", "\\p{Han}", "[a", "(a", "a)", "\\q", "a{70}", "(?<n>a)"}) {
        auto re = SplitRegex::compile(bad);
        EXPECT_FALSE(re.ok()) << bad;
        if (!re.ok()) {
            EXPECT_EQ(re.status().code(), StatusCode::kUnsupported) << bad;
        }
    }
}

TEST(Unicode, Categories) {
    EXPECT_EQ(unicode_version(), "15.1.0");
    EXPECT_TRUE(codepoint_flags('a') & kCatLetter);
    EXPECT_TRUE(codepoint_flags(0x4E2D) & kCatLetter);
    EXPECT_TRUE(codepoint_flags('7') & kCatNumber);
    EXPECT_TRUE(codepoint_flags(0x0663) & kCatNumber);  // ARABIC-INDIC DIGIT THREE
    EXPECT_TRUE(codepoint_flags('!') & kCatPunct);
    EXPECT_TRUE(codepoint_flags('$') & kCatSymbol);
    EXPECT_TRUE(codepoint_flags(0x0301) & kCatMark);
    EXPECT_TRUE(codepoint_flags(' ') & kWhitespace);
    EXPECT_TRUE(codepoint_flags(0x3000) & kWhitespace);
    EXPECT_FALSE(codepoint_flags(0x1C) & kWhitespace);
    EXPECT_EQ(codepoint_flags(0x0378), 0);  // unassigned
    EXPECT_EQ(codepoint_flags(0x110000), 0);
}

TEST(Unicode, DecodeLikeLlamaCpp) {
    size_t pos = 0;
    EXPECT_EQ(decode_utf8("\xF0\x9F\x98\x80", pos), 0x1F600u);
    EXPECT_EQ(pos, 4u);
    pos = 0;
    EXPECT_EQ(decode_utf8("\x80z", pos), kReplacementChar);  // stray continuation: one byte
    EXPECT_EQ(pos, 1u);
    pos = 0;
    EXPECT_EQ(decode_utf8("\xE2\x82", pos), kReplacementChar);  // truncated
    EXPECT_EQ(pos, 1u);
    EXPECT_EQ(utf8_to_codepoints("a\xFF"
                                 "b"),
              (std::vector<uint32_t>{'a', kReplacementChar, 'b'}));
}

TEST(Unicode, CompletePrefixAndSanitize) {
    EXPECT_EQ(utf8_complete_prefix("ab\xF0\x9F\x98"), 2u);
    EXPECT_EQ(utf8_complete_prefix("ab\xF0\x9F\x98\x80"), 6u);
    EXPECT_EQ(utf8_complete_prefix("a\xFF"), 2u);  // never valid: not held back
    EXPECT_EQ(utf8_complete_prefix("a\xE2\x41"), 3u);
    EXPECT_EQ(sanitize_utf8("a\xE2\x82"
                            "A"),
              "a\xEF\xBF\xBD"
              "A");
    EXPECT_EQ(sanitize_utf8("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");                  // overlong
    EXPECT_EQ(sanitize_utf8("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
    EXPECT_TRUE(is_valid_utf8("h\xC3\xA9llo \xF0\x9F\x98\x80"));
    EXPECT_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));
}

TEST(Unicode, ByteAlphabet) {
    EXPECT_EQ(byte_to_unicode(' '), "\xC4\xA0");   // Ġ
    EXPECT_EQ(byte_to_unicode('\n'), "\xC4\x8A");  // Ċ
    EXPECT_EQ(byte_to_unicode('a'), "a");
    for (int b = 0; b < 256; ++b) {
        size_t pos = 0;
        const std::string& s = byte_to_unicode(static_cast<uint8_t>(b));
        EXPECT_EQ(unicode_to_byte(decode_utf8(s, pos)), b);
    }
    EXPECT_EQ(unicode_to_byte(0x4E2D), -1);
}

TEST(PreTokenizer, KnownAndUnknownNames) {
    for (const char* name :
         {"default", "", "llama-bpe", "llama3", "gpt-2", "smollm", "qwen2", "starcoder"}) {
        auto c = pre_tokenizer_config(name);
        ASSERT_TRUE(c.ok()) << name;
        EXPECT_TRUE(PreTokenizer::create(c->patterns, c->byte_encode).ok()) << name;
    }
    auto bad = pre_tokenizer_config("klingon");
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.status().code(), StatusCode::kUnsupported);
    EXPECT_NE(bad.status().message().find("klingon"), std::string::npos);
    // SmolLM2: every digit its own word, then GPT-2's split; words come byte-encoded.
    auto c = pre_tokenizer_config("smollm");
    auto p = PreTokenizer::create(c->patterns, true);
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(p->split("ab 12"), (V{"ab", "\xC4\xA0", "1", "2"}));
}

}  // namespace
}  // namespace unicorn::text
