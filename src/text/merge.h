// The two merge algorithms, applied to one fragment of raw text (special tokens already split
// out). Both follow llama.cpp (src/llama-vocab.cpp) step for step, tie-breaking included, since
// any difference changes token ids.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "text/vocab.h"

namespace unicorn::text {

// SentencePiece BPE (llm_tokenizer_spm): `text` already has spaces as U+2581. Starts from UTF-8
// characters and repeatedly merges the adjacent pair whose concatenation is a token with the
// highest score (ties: leftmost); pieces that are not tokens become <0xXX> byte tokens.
void spm_tokenize(const Vocab& vocab, std::string_view text, std::vector<int32_t>& out);

// Byte-level BPE (llm_tokenizer_bpe): pre-tokenizes `text` into words, then in each word merges
// the adjacent pair with the lowest merge rank (ties: leftmost) until none is listed.
void bpe_tokenize(const Vocab& vocab, std::string_view text, std::vector<int32_t>& out);

}  // namespace unicorn::text
