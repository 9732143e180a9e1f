// A tokenizer vocabulary: tokens, their scores and attributes, BPE merges, special ids and
// the flags that steer tokenization, loaded from GGUF metadata (formats-and-apis §4.4) or from
// a Hugging Face tokenizer.json. Internal to the text layer; users hold a Tokenizer.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/status.h"
#include "text/pre_tokenizer.h"

namespace unicorn::io {
class GgufFile;
}

namespace unicorn::text {

inline constexpr int32_t kNoToken = -1;

// Token attributes, as llama.cpp's llama_token_attr (bit flags).
enum TokenAttr : uint32_t {
    kAttrUndefined = 0,
    kAttrUnknown = 1u << 0,
    kAttrUnused = 1u << 1,
    kAttrNormal = 1u << 2,
    kAttrControl = 1u << 3,
    kAttrUserDefined = 1u << 4,
    kAttrByte = 1u << 5,
    kAttrLstrip = 1u << 7,  // strip whitespace left of the token when splitting it out
    kAttrRstrip = 1u << 8,  // ... and right of it
};

// GGUF tokenizer.ggml.token_type values.
enum class GgufTokenType : int32_t {
    kUndefined = 0,
    kNormal = 1,
    kUnknown = 2,
    kControl = 3,
    kUserDefined = 4,
    kUnused = 5,
    kByte = 6,
};

enum class VocabType {
    kSpm,  // SentencePiece BPE: score-ordered merges of adjacent pieces, <0xXX> byte fallback
    kBpe,  // byte-level (GPT-2) BPE with a regex pre-tokenizer and rank-ordered merges
};

struct TokenData {
    std::string text;
    float score = 0.0f;
    uint32_t attr = kAttrNormal;
};

struct PairHash {
    size_t operator()(const std::pair<std::string, std::string>& p) const {
        const size_t a = std::hash<std::string>{}(p.first);
        return a ^
               (std::hash<std::string>{}(p.second) + 0x9e3779b97f4a7c15ULL + (a << 6) + (a >> 2));
    }
};

struct Vocab {
    VocabType type = VocabType::kSpm;
    std::string model;     // tokenizer.ggml.model
    std::string pre_name;  // tokenizer.ggml.pre
    std::vector<TokenData> tokens;
    std::unordered_map<std::string, int32_t> token_to_id;
    std::unordered_map<std::pair<std::string, std::string>, int32_t, PairHash> merge_ranks;

    int32_t bos = kNoToken;
    int32_t eos = kNoToken;
    int32_t eot = kNoToken;
    int32_t eom = kNoToken;
    int32_t unk = kNoToken;
    int32_t sep = kNoToken;
    int32_t pad = kNoToken;
    int32_t mask = kNoToken;
    int32_t fim_pre = kNoToken;
    int32_t fim_suf = kNoToken;
    int32_t fim_mid = kNoToken;
    int32_t fim_pad = kNoToken;
    int32_t fim_rep = kNoToken;
    int32_t fim_sep = kNoToken;

    bool add_bos = false;
    bool add_eos = false;
    bool add_space_prefix = false;  // decode: the first piece loses one leading space
    bool prepend_space = false;     // encode: a space before text at the start / after a special
    bool clean_spaces = false;      // decode: clean_up_tokenization_spaces
    bool ignore_merges = false;
    bool escape_whitespaces = true;  // ' ' <-> U+2581 (SPM and SPM-style BPE)
    bool newline_words_whole = false;

    PreTokenizer pre;               // kBpe only
    std::set<int32_t> eog;          // ids that end generation
    std::vector<int32_t> specials;  // control/user-defined/unknown ids, longest text first
    std::string chat_template;      // tokenizer.chat_template, empty when absent

    int32_t size() const { return static_cast<int32_t>(tokens.size()); }
    bool valid(int32_t id) const { return id >= 0 && id < size(); }
    int32_t find(std::string_view text) const {
        auto it = token_to_id.find(std::string(text));
        return it == token_to_id.end() ? kNoToken : it->second;
    }
    // <0xXX> for SPM (falling back to the one-byte token), the byte-alphabet char for BPE.
    int32_t byte_token(uint8_t b) const;
    int32_t merge_rank(const std::string& left, const std::string& right) const {
        auto it = merge_ranks.find({left, right});
        return it == merge_ranks.end() ? -1 : it->second;
    }
    // The byte of a byte token (<0xXX>).
    uint8_t token_byte(int32_t id) const;

    // After tokens, types and the special ids are set: detects EOT/EOM/FIM tokens by text,
    // builds the end-of-generation set and the special-token list, as llama.cpp's
    // llama_vocab::impl::load does.
    void finish_special_tokens(const std::string& general_name);
};

// Loads the tokenizer of a GGUF file.
Result<std::shared_ptr<const Vocab>> load_vocab_from_gguf(const io::GgufFile& gguf);
// Loads a Hugging Face tokenizer.json (and tokenizer_config.json beside it, when present).
Result<std::shared_ptr<const Vocab>> load_vocab_from_hf_json(const std::string& path);

// Splits `text` around special tokens, llama.cpp's tokenizer_st_partition: tokens are searched
// longest text first over the not yet split parts. Control and unknown tokens are split out
// only when parse_special; user-defined tokens always are.
struct Fragment {
    int32_t token = kNoToken;  // a special token, or kNoToken for raw text
    size_t offset = 0;         // raw text: [offset, offset + length) of the input
    size_t length = 0;
};
std::vector<Fragment> partition_special(const Vocab& vocab, std::string_view text,
                                        bool parse_special);

}  // namespace unicorn::text
