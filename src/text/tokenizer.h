// Tokenizers: text <-> token ids, agreeing with llama.cpp's llama_tokenize / llama_detokenize
// for the same vocabulary and flags.
//
//   auto tok = Tokenizer::from_gguf(gguf);                       // Gemma 3 (SPM), SmolLM2 (BPE)
//   auto ids = (*tok)->encode(prompt, /*add_special=*/true, /*parse_special=*/true);
//   std::string text = (*tok)->decode(*ids, /*special=*/false);
//
// Two kinds sit behind this interface: SentencePiece BPE (`tokenizer.ggml.model = "llama"`) and
// byte-level BPE with a regex pre-tokenizer (`"gpt2"`, and Gemma 4's `"gemma4"`). Details and
// the GGUF keys: docs/reference/formats-and-apis.md §4.4 and §6.
//
// A Tokenizer is immutable once loaded: every method may be called from several threads.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace unicorn::io {
class GgufFile;
}

namespace unicorn::text {

enum class TokenizerKind {
    kSentencePiece,  // SPM: score-ordered merges, byte fallback, ' ' as U+2581
    kByteLevelBpe,   // GPT-2 byte alphabet, pre-tokenizer regexes, rank-ordered merges
};

class Tokenizer {
  public:
    virtual ~Tokenizer() = default;

    // From the `tokenizer.*` metadata of a GGUF file. Errors: no tokenizer, an unsupported model
    // or pre-tokenizer (named in the message), missing merges, special ids outside the vocabulary.
    static Result<std::unique_ptr<Tokenizer>> from_gguf(const io::GgufFile& gguf);
    // From a Hugging Face tokenizer.json (model type BPE, byte-level or with byte fallback); a
    // tokenizer_config.json beside it supplies bos/eos and add_bos/add_eos when present.
    static Result<std::unique_ptr<Tokenizer>> from_hf_json(
        const std::string& path_to_tokenizer_json);

    // Text -> ids, as llama.cpp's llama_tokenize(text, add_special, parse_special):
    //  - add_special: prepend BOS when the vocabulary's add_bos flag is set (add_bos_default())
    //    and append EOS when its add_eos flag is set. One deliberate difference: when
    //    parse_special is also on and the text itself starts with the BOS token's text (a
    //    rendered chat template such as Gemma's "<bos><start_of_turn>..."), no second BOS is
    //    added, where llama.cpp would emit two (and warn). Every other input gives llama.cpp's ids.
    //  - parse_special: control tokens written in the text ("<start_of_turn>", "<|im_end|>") are
    //    recognised, longest first; otherwise they are tokenized as plain text. User-defined
    //    tokens are recognised either way, as in llama.cpp.
    // Any byte string is accepted (invalid UTF-8 goes through byte fallback or U+FFFD).
    virtual Result<std::vector<int32_t>> encode(std::string_view text, bool add_special,
                                                bool parse_special) const = 0;

    // The bytes one token stands for (llama_token_to_piece with lstrip 0): U+2581 -> ' ' for
    // SPM, the byte alphabet undone for byte-level BPE, <0xXX> -> that byte. Control and unknown
    // tokens give "" unless `special`; user-defined tokens always give their text. The piece of
    // one token need not be valid UTF-8 (a byte token is one byte of a character).
    // An id outside the vocabulary gives "".
    virtual std::string token_to_piece(int32_t id, bool special) const = 0;

    // Ids -> text, as llama.cpp's llama_detokenize(remove_special = false, unparse_special =
    // special): the pieces joined; for SPM vocabularies with add_space_prefix the first piece
    // loses one leading space; byte-level vocabularies that ask for it get
    // clean_up_tokenization_spaces (" ," -> ","). Ids outside the vocabulary are skipped (see
    // check_ids). The result can hold invalid UTF-8 when the ids end inside a character.
    virtual std::string decode(std::span<const int32_t> ids, bool special) const = 0;

    // Special ids; -1 when the vocabulary has none.
    virtual int32_t bos() const = 0;
    virtual int32_t eos() const = 0;
    // End of turn: the GGUF eot key, else a token found by its text (Gemma "<end_of_turn>",
    // ChatML "<|im_end|>", Llama 3 "<|eot_id|>", ...).
    virtual int32_t eot() const = 0;
    // End of generation: EOS, EOT, EOM and every token llama.cpp treats as such.
    virtual bool is_eog(int32_t id) const = 0;
    virtual std::vector<int32_t> eog_ids() const = 0;

    virtual int32_t vocab_size() const = 0;
    virtual bool is_control(int32_t id) const = 0;
    virtual bool add_bos_default() const = 0;
    virtual bool add_eos_default() const = 0;
    // SPM's leading space: a space is added before text at the start and after special tokens.
    virtual bool add_space_prefix() const = 0;
    virtual TokenizerKind kind() const = 0;

    // The vocabulary's own string for a token ("▁Hello", "Ġworld", "<0x0A>"); "" when out of range.
    virtual std::string_view token_text(int32_t id) const = 0;
    // The id whose vocabulary string is exactly `text`, or -1.
    virtual int32_t find_token(std::string_view text) const = 0;
    // tokenizer.chat_template from the GGUF, or "".
    virtual const std::string& chat_template() const = 0;

    // invalid_argument naming the first id outside [0, vocab_size()), for requests that carry ids.
    Status check_ids(std::span<const int32_t> ids) const;
};

}  // namespace unicorn::text
