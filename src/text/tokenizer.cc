#include "text/tokenizer.h"

#include <fmt/format.h>

#include "io/gguf.h"
#include "text/merge.h"
#include "text/unicode.h"
#include "text/vocab.h"

namespace unicorn::text {
namespace {

constexpr std::string_view kSpaceMarker = "\xE2\x96\x81";  // U+2581

void replace_all(std::string& s, std::string_view from, std::string_view to) {
    std::string out;
    out.reserve(s.size());
    size_t pos = 0;
    while (true) {
        const size_t hit = s.find(from, pos);
        if (hit == std::string::npos) break;
        out.append(s, pos, hit - pos);
        out.append(to);
        pos = hit + from.size();
    }
    out.append(s, pos, std::string::npos);
    s.swap(out);
}

// A byte-level token's text back to bytes (llama.cpp's llama_decode_text, including its
// marker for a character outside the byte alphabet).
std::string decode_byte_alphabet(const std::string& text) {
    std::string out;
    for (size_t pos = 0; pos < text.size();) {
        const uint32_t cp = decode_utf8(text, pos);
        const int b = unicode_to_byte(cp);
        if (b >= 0) {
            out.push_back(static_cast<char>(b));
            continue;
        }
        std::string utf8;
        append_utf8(utf8, cp);
        out += "[UNK_BYTE_0x";
        for (char c : utf8) out += fmt::format("{:02x}", static_cast<uint8_t>(c));
        out += text + "]";
    }
    return out;
}

// clean_up_tokenization_spaces, as llama.cpp's llama_detokenize applies it.
std::string clean_spaces(const std::string& in) {
    std::string a;
    // " ?", " !", " .", " ," lose the space.
    for (size_t i = 0; i < in.size(); ++i) {
        const char x = in[i];
        if (i > 0 && in[i - 1] == ' ' && (x == '?' || x == '!' || x == '.' || x == ','))
            a.pop_back();
        a.push_back(x);
    }
    // " ' " -> "'". llama.cpp overwrites the dropped space with NUL in place, so that space no
    // longer counts as the "space before" of the next character.
    std::string b;
    for (size_t i = 0; i < a.size(); ++i) {
        const char x = a[i];
        if (i > 0 && x == '\'' && i + 1 < a.size() && a[i - 1] == ' ' && a[i + 1] == ' ') {
            b.pop_back();
            b.push_back(x);
            a[i + 1] = '\0';
            ++i;  // drop the space after it
            continue;
        }
        b.push_back(x);
    }
    // " 's", " 'm", " 're", " 've" lose the space.
    std::string c;
    for (size_t i = 0; i < b.size(); ++i) {
        const char x = b[i];
        if (i > 0 && b[i - 1] == ' ' && x == '\'' && i + 1 < b.size()) {
            const char x1 = b[i + 1];
            const bool two = i + 2 < b.size();
            if (x1 == 's' || x1 == 'm' ||
                (two && ((x1 == 'r' && b[i + 2] == 'e') || (x1 == 'v' && b[i + 2] == 'e')))) {
                c.pop_back();
            }
        }
        c.push_back(x);
    }
    return c;
}

class VocabTokenizer : public Tokenizer {
  public:
    explicit VocabTokenizer(std::shared_ptr<const Vocab> vocab) : v_(std::move(vocab)) {}

    Result<std::vector<int32_t>> encode(std::string_view text, bool add_special,
                                        bool parse_special) const override {
        const std::vector<Fragment> frags = partition_special(*v_, text, parse_special);
        std::vector<int32_t> out;
        out.reserve(text.size() / 3 + 4);
        if (add_special && v_->add_bos) {
            if (v_->bos == kNoToken)
                return invalid_argument("the vocabulary asks for a BOS token but has none");
            const bool text_has_bos = !frags.empty() && frags.front().token == v_->bos;
            if (!text_has_bos) out.push_back(v_->bos);
        }
        bool prev_special = true;  // SPM: the text's start counts as "after a special token"
        for (const Fragment& f : frags) {
            if (f.token != kNoToken) {
                out.push_back(f.token);
                prev_special = true;
                continue;
            }
            std::string piece;
            piece.reserve(f.length + 1);
            if (v_->prepend_space && prev_special) piece.push_back(' ');
            piece.append(text.substr(f.offset, f.length));
            if (v_->escape_whitespaces) replace_all(piece, " ", kSpaceMarker);
            if (v_->type == VocabType::kSpm) {
                spm_tokenize(*v_, piece, out);
            } else {
                bpe_tokenize(*v_, piece, out);
            }
            prev_special = false;
        }
        if (add_special && v_->add_eos) {
            if (v_->eos == kNoToken)
                return invalid_argument("the vocabulary asks for an EOS token but has none");
            out.push_back(v_->eos);
        }
        return out;
    }

    std::string token_to_piece(int32_t id, bool special) const override {
        if (!v_->valid(id)) return {};
        const TokenData& t = v_->tokens[static_cast<size_t>(id)];
        constexpr uint32_t kHidden = kAttrUnknown | kAttrControl;
        if (!special && (t.attr & kHidden)) return {};
        if (t.attr & (kHidden | kAttrUserDefined)) return t.text;
        if (t.attr & kAttrNormal) {
            if (v_->type == VocabType::kBpe && !v_->escape_whitespaces)
                return decode_byte_alphabet(t.text);
            std::string s = t.text;
            replace_all(s, kSpaceMarker, " ");
            return s;
        }
        if (t.attr & kAttrByte) return std::string(1, static_cast<char>(v_->token_byte(id)));
        return {};  // unused and undefined tokens print nothing
    }

    std::string decode(std::span<const int32_t> ids, bool special) const override {
        std::string out;
        bool strip_space = v_->add_space_prefix;
        for (int32_t id : ids) {
            if (!v_->valid(id)) continue;
            std::string piece = token_to_piece(id, special);
            if (strip_space && !piece.empty() && piece[0] == ' ') piece.erase(0, 1);
            strip_space = false;
            out += piece;
        }
        if (v_->clean_spaces) out = clean_spaces(out);
        return out;
    }

    int32_t bos() const override { return v_->bos; }
    int32_t eos() const override { return v_->eos; }
    int32_t eot() const override { return v_->eot; }
    bool is_eog(int32_t id) const override { return id != kNoToken && v_->eog.count(id) > 0; }
    std::vector<int32_t> eog_ids() const override { return {v_->eog.begin(), v_->eog.end()}; }
    int32_t vocab_size() const override { return v_->size(); }
    bool is_control(int32_t id) const override {
        return v_->valid(id) && (v_->tokens[static_cast<size_t>(id)].attr & kAttrControl) != 0;
    }
    bool add_bos_default() const override { return v_->add_bos; }
    bool add_eos_default() const override { return v_->add_eos; }
    bool add_space_prefix() const override { return v_->add_space_prefix; }
    TokenizerKind kind() const override {
        return v_->type == VocabType::kSpm ? TokenizerKind::kSentencePiece
                                           : TokenizerKind::kByteLevelBpe;
    }
    std::string_view token_text(int32_t id) const override {
        return v_->valid(id) ? std::string_view(v_->tokens[static_cast<size_t>(id)].text)
                             : std::string_view();
    }
    int32_t find_token(std::string_view text) const override { return v_->find(text); }
    const std::string& chat_template() const override { return v_->chat_template; }

  private:
    std::shared_ptr<const Vocab> v_;
};

}  // namespace

Result<std::unique_ptr<Tokenizer>> Tokenizer::from_gguf(const io::GgufFile& gguf) {
    UNI_ASSIGN_OR_RETURN(std::shared_ptr<const Vocab> vocab, load_vocab_from_gguf(gguf));
    return std::unique_ptr<Tokenizer>(std::make_unique<VocabTokenizer>(std::move(vocab)));
}

Result<std::unique_ptr<Tokenizer>> Tokenizer::from_hf_json(
    const std::string& path_to_tokenizer_json) {
    UNI_ASSIGN_OR_RETURN(std::shared_ptr<const Vocab> vocab,
                         load_vocab_from_hf_json(path_to_tokenizer_json));
    return std::unique_ptr<Tokenizer>(std::make_unique<VocabTokenizer>(std::move(vocab)));
}

Status Tokenizer::check_ids(std::span<const int32_t> ids) const {
    const int32_t n = vocab_size();
    for (size_t i = 0; i < ids.size(); ++i) {
        if (ids[i] < 0 || ids[i] >= n) {
            return invalid_argument(fmt::format(
                "token id {} at position {} is outside the vocabulary (0..{})", ids[i], i, n - 1));
        }
    }
    return ok_status();
}

}  // namespace unicorn::text
