// Pre-tokenizers of byte-level BPE vocabularies: `tokenizer.ggml.pre` names a list of regexes
// (llama.cpp src/llama-vocab.cpp, llm_tokenizer_bpe) that cut text into words before merging.
// The regexes are not stored in GGUF files; this table is the source of truth here too.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "text/regex.h"

namespace unicorn::text {

// The GPT-2 pattern, also the base of many others.
inline constexpr std::string_view kGpt2Pattern =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";
// Llama 3's pattern, with (?i:...) spelled out as llama.cpp does.
inline constexpr std::string_view kLlama3Pattern =
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|"
    "\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

struct PreTokenizerConfig {
    std::vector<std::string> patterns;  // applied in order, each re-splitting the last's pieces
    bool byte_encode = true;            // GPT-2 byte alphabet; false for SPM-style BPE (Gemma 4)
    bool clean_spaces = true;           // clean_up_tokenization_spaces when decoding
    bool ignore_merges = false;         // a word that is a whole token skips merging
    bool escape_whitespaces = false;    // ' ' -> U+2581 before splitting (SPM-style BPE)
    bool newline_words_whole = false;   // Gemma 4: a run of '\n' that is a token stays whole
    std::optional<bool> add_bos;        // the pre-tokenizer's default, before the GGUF key
    bool no_bos = false;                // the vocabulary has no BOS (chatglm)
};

// The configuration of a `tokenizer.ggml.pre` name; an empty name is "default", as in
// llama.cpp. Unknown names give an `unsupported` Status that names the pre-tokenizer.
Result<PreTokenizerConfig> pre_tokenizer_config(const std::string& name);

class PreTokenizer {
  public:
    static Result<PreTokenizer> create(const std::vector<std::string>& patterns, bool byte_encode);

    // The words of `text`, each re-encoded in the byte alphabet when byte_encode is set.
    // Invalid UTF-8 becomes U+FFFD first, as in llama.cpp's unicode_regex_split.
    std::vector<std::string> split(std::string_view text) const;

    bool byte_encode() const { return byte_encode_; }

  private:
    std::vector<SplitRegex> regexes_;
    bool byte_encode_ = true;
};

}  // namespace unicorn::text
