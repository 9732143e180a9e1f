#include "text/detokenizer.h"

#include "text/unicode.h"

namespace unicorn::text {

IncrementalDetokenizer::IncrementalDetokenizer(const Tokenizer& tokenizer, Options options)
    : tok_(tokenizer), opt_(options) {}

std::string IncrementalDetokenizer::push(int32_t id) {
    std::string piece = tok_.token_to_piece(id, opt_.special);
    if (first_ && opt_.from_sequence_start && tok_.add_space_prefix() && !piece.empty() &&
        piece[0] == ' ') {
        piece.erase(0, 1);
    }
    first_ = false;
    pending_ += piece;
    const size_t complete = utf8_complete_prefix(pending_);
    if (complete == 0) return {};
    std::string out = sanitize_utf8(std::string_view(pending_).substr(0, complete));
    pending_.erase(0, complete);
    return out;
}

std::string IncrementalDetokenizer::flush() {
    std::string out = sanitize_utf8(pending_);
    reset();
    return out;
}

void IncrementalDetokenizer::reset() {
    pending_.clear();
    first_ = true;
}

}  // namespace unicorn::text
