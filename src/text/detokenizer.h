// Incremental detokenization for streaming: ids go in one at a time, only complete UTF-8 comes
// out. A character split over several tokens (an emoji as four <0xXX> byte tokens) is held back
// until its last byte arrives; bytes that can never form a character come out as U+FFFD, so
// every string returned is valid UTF-8.
//
// Spacing follows llama.cpp. By default each token's piece is used as is, which is what
// llama-cli and llama-server print for generated tokens (an SPM "▁world" prints " world").
// With Options::from_sequence_start the ids are taken to start a sequence, and the first piece
// loses one leading space when the vocabulary has add_space_prefix, as llama_detokenize does;
// the concatenated output then equals Tokenizer::decode for vocabularies without
// clean_up_tokenization_spaces (which needs whole text and is never applied here).
#pragma once

#include <cstdint>
#include <string>

#include "text/tokenizer.h"

namespace unicorn::text {

class IncrementalDetokenizer {
  public:
    struct Options {
        bool special = false;              // print control tokens' text
        bool from_sequence_start = false;  // strip the first piece's leading space (see above)
    };

    explicit IncrementalDetokenizer(const Tokenizer& tokenizer)
        : IncrementalDetokenizer(tokenizer, Options{}) {}
    IncrementalDetokenizer(const Tokenizer& tokenizer, Options options);

    // Appends one token; returns the text that is now complete (possibly empty).
    std::string push(int32_t id);
    // Returns whatever is held back, an unfinished character as U+FFFD, and starts over.
    std::string flush();
    // Forgets held-back bytes and the start-of-sequence state.
    void reset();

    // Bytes held back waiting for the rest of a character.
    size_t pending_bytes() const { return pending_.size(); }

  private:
    const Tokenizer& tok_;
    Options opt_;
    bool first_ = true;
    std::string pending_;
};

}  // namespace unicorn::text
