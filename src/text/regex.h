// A small backtracking regex engine for pre-tokenizer patterns.
//
// std::regex has no \p{L}; llama.cpp works around that by collapsing the text to one byte per
// category. This engine matches codepoints directly against the Unicode tables (unicode.h),
// with ECMAScript semantics where std::regex would apply them: leftmost match, alternatives in
// order, greedy quantifiers that backtrack, lookaheads that are atomic.
//
// Supported: literals (UTF-8), '.', classes [...] and [^...] with ranges, \s \S \d \D \w \W,
// \p{L} \p{N} \p{P} \p{S} \p{M} \p{Z} \p{C} (\p{Lu} etc. count as \p{L}, as in llama.cpp),
// \P{..}, escapes \r \n \t \f \v \uHHHH (four hex digits), groups (...) (?:...) (?i:...)
// (ASCII case folding), lookaheads (?=...) (?!...), anchors ^ $ \b \B, quantifiers ? * + {n} {n,}
// {n,m} and their lazy forms. Anything else is refused with an `unsupported` Status at compile
// time, as is a pattern that can match the empty string or a loop whose body can.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace unicorn::text {

class SplitRegex {
  public:
    static Result<SplitRegex> compile(std::string_view pattern);

    const std::string& pattern() const { return pattern_; }

    // The leftmost match in cps[begin, end) that starts at or after `from`; false when none.
    // Anchors see [begin, end) as the whole input.
    bool search(const uint32_t* cps, size_t begin, size_t end, size_t from, size_t& match_begin,
                size_t& match_end) const;

    // Re-splits consecutive pieces of `cps` (given by their lengths, summing to cps.size()) into
    // the matches of this pattern and the runs between them, in order: the "Isolated" split of
    // HF tokenizers and of llama.cpp's unicode_regex_split. Zero-length pieces vanish.
    std::vector<size_t> split(const std::vector<uint32_t>& cps,
                              const std::vector<size_t>& pieces) const;

    struct CharClass {
        std::vector<std::pair<uint32_t, uint32_t>> ranges;  // inclusive
        uint8_t cats = 0;                                   // any of these flags matches
        uint8_t not_cats = 0;  // matches when one of these flags is absent (\S, \P{..})
        bool negated = false;
        bool matches(uint32_t cp) const;
    };

    enum class Op : uint8_t {
        kClass,        // x = class index
        kSplit,        // try x first, then y
        kJmp,          // x
        kMatch,        //
        kLookahead,    // sub-program at pc + 1 ends with kMatch; continue at x; y = 1 if negative
        kBegin,        // ^
        kEnd,          // $
        kWordBoundary  // x = 1 for \B
    };
    struct Inst {
        Op op;
        uint32_t x = 0;
        uint32_t y = 0;
    };

  private:
    bool run(size_t pc, const uint32_t* cps, size_t begin, size_t end, size_t pos,
             size_t& out_end) const;

    std::string pattern_;
    std::vector<Inst> prog_;
    std::vector<CharClass> classes_;
};

}  // namespace unicorn::text
