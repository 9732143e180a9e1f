// Vocabulary loading from GGUF and the special-token rules, mirroring llama.cpp's
// llama_vocab::impl::load (src/llama-vocab.cpp) so that ids, end-of-generation tokens and the
// special-token split agree with it.
#include "text/vocab.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <initializer_list>

#include "core/log.h"
#include "io/gguf.h"
#include "text/unicode.h"

namespace unicorn::text {
namespace {

bool text_in(const std::string& s, std::initializer_list<std::string_view> list) {
    return std::find(list.begin(), list.end(), s) != list.end();
}

uint32_t attr_from_gguf_type(int32_t type) {
    switch (static_cast<GgufTokenType>(type)) {
        case GgufTokenType::kNormal:
            return kAttrNormal;
        case GgufTokenType::kUnknown:
            return kAttrUnknown;
        case GgufTokenType::kControl:
            return kAttrControl;
        case GgufTokenType::kUserDefined:
            return kAttrUserDefined;
        case GgufTokenType::kUnused:
            return kAttrUnused;
        case GgufTokenType::kByte:
            return kAttrByte;
        default:
            return kAttrUndefined;
    }
}

// "a b" -> ("a", "b"), split at the first space after the first character (llama.cpp).
std::pair<std::string, std::string> split_merge(const std::string& merge) {
    const size_t pos = merge.find(' ', 1);
    if (pos == std::string::npos) return {};
    return {merge.substr(0, pos), merge.substr(pos + 1)};
}

}  // namespace

int32_t Vocab::byte_token(uint8_t b) const {
    if (type == VocabType::kBpe && pre.byte_encode()) return find(byte_to_unicode(b));
    static constexpr char kHex[] = "0123456789ABCDEF";
    const char buf[7] = {'<', '0', 'x', kHex[b >> 4], kHex[b & 15], '>', 0};
    const int32_t id = find(buf);
    if (id != kNoToken || type == VocabType::kBpe) return id;
    return find(std::string(1, static_cast<char>(b)));
}

uint8_t Vocab::token_byte(int32_t id) const {
    const std::string& t = tokens[static_cast<size_t>(id)].text;
    if (t.size() == 6 && t.compare(0, 3, "<0x") == 0 && t[5] == '>') {
        return static_cast<uint8_t>(std::strtol(t.substr(3, 2).c_str(), nullptr, 16));
    }
    return t.empty() ? 0 : static_cast<uint8_t>(t[0]);
}

void Vocab::finish_special_tokens(const std::string& general_name) {
    const auto mark_control = [&](int32_t id) {
        tokens[static_cast<size_t>(id)].attr |= kAttrControl;
    };
    // Tokens recognised by their text when no GGUF key names them, in a fixed order of
    // preference (llama.cpp walks a hash map, so its choice among several is unspecified).
    const auto detect = [&](int32_t& slot, std::initializer_list<std::string_view> texts) {
        if (slot != kNoToken) return;
        for (std::string_view t : texts) {
            const int32_t id = find(t);
            if (id != kNoToken) {
                slot = id;
                mark_control(id);
                return;
            }
        }
    };
    detect(eot, {"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
                 "<|end_of_text|>", "<EOT>", "_<EOT>", "[EOT]", "<｜end▁of▁sentence｜>",
                 "<end_of_utterance>"});
    detect(eom, {"<|eom_id|>"});
    detect(fim_pre, {"<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>",
                     "▁<PRE>", "<|code_prefix|>", "<|prefix|>"});
    detect(fim_suf, {"<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>",
                     "▁<SUF>", "<|code_suffix|>", "<|suffix|>"});
    detect(fim_mid, {"<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>",
                     "▁<MID>", "<|code_middle|>", "<|middle|>"});
    detect(fim_pad, {"<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"});
    detect(fim_rep, {"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"});
    detect(fim_sep, {"<|file_sep|>"});

    // End of generation: FIM pad/repo/sep, tokens with a known end-of-turn text, EOS, EOT, EOM.
    eog.clear();
    for (int32_t id : {fim_pad, fim_rep, fim_sep})
        if (id != kNoToken) eog.insert(id);
    for (int32_t id = 0; id < size(); ++id) {
        if (text_in(tokens[static_cast<size_t>(id)].text, {"<|eot_id|>",
                                                           "<|im_end|>",
                                                           "<|end|>",
                                                           "<|return|>",
                                                           "<|call|>",
                                                           "<|flush|>",
                                                           "<|calls|>",
                                                           "<end_of_turn>",
                                                           "<|endoftext|>",
                                                           "</s>",
                                                           "<|eom_id|>",
                                                           "<EOT>",
                                                           "_<EOT>",
                                                           "[EOT]",
                                                           "[EOS]",
                                                           "<|end_of_text|>",
                                                           "<end_of_utterance>",
                                                           "<eos>",
                                                           "<turn|>",
                                                           "<|tool_response>",
                                                           "<｜end▁of▁sentence｜>",
                                                           "[e~["})) {
            eog.insert(id);
            mark_control(id);
        }
    }
    // gpt-oss renders these even though they are special.
    for (std::string_view t : {"<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"}) {
        const int32_t id = find(t);
        if (id != kNoToken) tokens[static_cast<size_t>(id)].attr = kAttrUserDefined;
    }
    for (int32_t id : {eos, eot, eom})
        if (id != kNoToken) eog.insert(id);
    // Harmony / solar-open: "<|end|>" ends a message, not the generation.
    {
        bool has_return = false;
        bool has_call = false;
        bool has_flush = false;
        int32_t end_id = kNoToken;
        for (int32_t id : eog) {
            const std::string& t = tokens[static_cast<size_t>(id)].text;
            if (t == "<|return|>") has_return = true;
            if (t == "<|call|>" || t == "<|calls|>") has_call = true;
            if (t == "<|flush|>") has_flush = true;
            if (t == "<|end|>") end_id = id;
        }
        if (end_id != kNoToken && has_call && (has_return || has_flush)) {
            eog.erase(end_id);
            tokens[static_cast<size_t>(end_id)].attr = kAttrUserDefined;
        }
    }
    // Gemma 4 and PLaMo have an ordinary "</s>".
    {
        bool has_marker = false;
        int32_t s_id = kNoToken;
        for (int32_t id : eog) {
            const std::string& t = tokens[static_cast<size_t>(id)].text;
            if (t == "<|tool_response>" || t == "<|plamo:eos|>") has_marker = true;
            if (t == "</s>") s_id = id;
        }
        if (has_marker && s_id != kNoToken) {
            eog.erase(s_id);
            tokens[static_cast<size_t>(s_id)].attr = kAttrNormal;
        }
    }

    specials.clear();
    for (int32_t id = 0; id < size(); ++id) {
        if (tokens[static_cast<size_t>(id)].attr & (kAttrControl | kAttrUserDefined | kAttrUnknown))
            specials.push_back(id);
    }
    std::stable_sort(specials.begin(), specials.end(), [&](int32_t a, int32_t b) {
        return tokens[static_cast<size_t>(a)].text.size() >
               tokens[static_cast<size_t>(b)].text.size();
    });

    // Per-model strip rules that GGUF files do not carry (llama.cpp sets them by name).
    std::string name = general_name;
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    const auto set_attr = [&](std::string_view text, uint32_t attr, bool on) {
        const int32_t id = find(text);
        if (id == kNoToken) return;
        uint32_t& a = tokens[static_cast<size_t>(id)].attr;
        a = on ? (a | attr) : (a & ~attr);
    };
    if (name.find("phi-3") != std::string::npos || name.find("phi3") != std::string::npos) {
        for (int32_t id : specials) tokens[static_cast<size_t>(id)].attr |= kAttrRstrip;
        set_attr("</s>", kAttrRstrip, true);
        for (std::string_view t : {"<unk>", "<s>", "<|endoftext|>"})
            set_attr(t, kAttrRstrip, false);
    } else if (name.find("modern-bert") != std::string::npos) {
        set_attr("[MASK]", kAttrLstrip, true);
    } else if (text_in(pre_name, {"jina-v2-de", "jina-v2-es", "jina-v2-code"})) {
        set_attr("<mask>", kAttrLstrip, true);
    }
}

std::vector<Fragment> partition_special(const Vocab& vocab, std::string_view text,
                                        bool parse_special) {
    std::vector<Fragment> frags;
    if (text.empty()) return frags;
    frags.push_back({kNoToken, 0, text.size()});
    std::vector<Fragment> next;
    for (int32_t id : vocab.specials) {
        const TokenData& tok = vocab.tokens[static_cast<size_t>(id)];
        if (!parse_special && (tok.attr & (kAttrControl | kAttrUnknown))) continue;
        const std::string& st = tok.text;
        if (text.find(st) == std::string_view::npos) continue;  // cheap filter before the split
        next.clear();
        for (const Fragment& f : frags) {
            if (f.token != kNoToken) {
                next.push_back(f);
                continue;
            }
            size_t off = f.offset;
            size_t len = f.length;
            while (len > 0) {
                const size_t match = text.substr(0, off + len).find(st, off);
                if (match == std::string_view::npos) {
                    next.push_back({kNoToken, off, len});
                    break;
                }
                if (match > off) {
                    size_t left = match - off;
                    if (tok.attr & kAttrLstrip) {
                        while (left > 0 &&
                               std::isspace(static_cast<unsigned char>(text[off + left - 1])))
                            --left;
                    }
                    if (left > 0) next.push_back({kNoToken, off, left});
                }
                next.push_back({id, 0, 0});
                size_t right_off = match + st.size();
                size_t right_len = off + len - right_off;
                if (tok.attr & kAttrRstrip) {
                    while (right_len > 0 &&
                           std::isspace(static_cast<unsigned char>(text[right_off]))) {
                        ++right_off;
                        --right_len;
                    }
                }
                off = right_off;
                len = right_len;
            }
        }
        frags.swap(next);
    }
    return frags;
}

Result<std::shared_ptr<const Vocab>> load_vocab_from_gguf(const io::GgufFile& gguf) {
    auto v = std::make_shared<Vocab>();
    const std::string& path = gguf.path();
    const auto fail = [&](const Status& s) {
        return s.with_context(fmt::format("tokenizer of {}", path));
    };

    if (!gguf.has("tokenizer.ggml.model")) {
        return not_found(
            fmt::format("{}: no tokenizer in this GGUF (tokenizer.ggml.model is missing)", path));
    }
    UNI_ASSIGN_OR_RETURN(v->model, gguf.get_string("tokenizer.ggml.model"));
    UNI_ASSIGN_OR_RETURN(v->pre_name, gguf.get_string_or("tokenizer.ggml.pre", ""));

    PreTokenizerConfig pre;
    bool needs_merges = false;
    if (v->model == "llama") {
        v->type = VocabType::kSpm;
        v->bos = 1;
        v->eos = 2;
        v->unk = 0;
        v->add_space_prefix = true;
        v->add_bos = true;
        v->escape_whitespaces = true;
    } else if (v->model == "gpt2" || v->model == "gemma4") {
        v->type = VocabType::kBpe;
        needs_merges = true;
        if (v->model == "gemma4") {
            v->pre_name = "gemma4";
        } else {
            v->bos = 11;  // llama.cpp's defaults for BPE vocabularies
            v->eos = 11;
        }
        auto cfg = pre_tokenizer_config(v->pre_name);
        if (!cfg.ok()) return fail(cfg.status());
        pre = std::move(cfg).value();
        v->escape_whitespaces = pre.escape_whitespaces;
        v->clean_spaces = pre.clean_spaces;
        v->ignore_merges = pre.ignore_merges;
        v->newline_words_whole = pre.newline_words_whole;
        v->add_bos = pre.add_bos.value_or(false);
        if (pre.no_bos) v->bos = kNoToken;
    } else {
        return unsupported(
            fmt::format("{}: tokenizer model '{}' is not supported (supported: 'llama' "
                        "SentencePiece, 'gpt2' byte-level BPE, "
                        "'gemma4')",
                        path, v->model));
    }
    UNI_ASSIGN_OR_RETURN(v->add_space_prefix,
                         gguf.get_bool_or("tokenizer.ggml.add_space_prefix", v->add_space_prefix));
    // llama.cpp adds the space only on its SPM path; its BPE path ignores the flag.
    v->prepend_space = v->type == VocabType::kSpm && v->add_space_prefix;

    const io::GgufValue* tok_value = gguf.find("tokenizer.ggml.tokens");
    if (tok_value == nullptr) return fail(not_found("tokenizer.ggml.tokens is missing"));
    const std::vector<std::string>* texts = tok_value->strings();
    if (texts == nullptr) return fail(corrupt("tokenizer.ggml.tokens is not an array of strings"));
    const size_t n = texts->size();
    if (n == 0) return fail(corrupt("tokenizer.ggml.tokens is empty"));
    if (n > static_cast<size_t>(INT32_MAX)) return fail(out_of_range("too many tokens"));

    std::vector<float> scores;
    if (gguf.has("tokenizer.ggml.scores")) {
        UNI_ASSIGN_OR_RETURN(scores, gguf.get_f32_array("tokenizer.ggml.scores"));
        if (scores.size() < n) {
            return fail(corrupt(fmt::format("tokenizer.ggml.scores has {} entries for {} tokens",
                                            scores.size(), n)));
        }
    }
    std::vector<int32_t> types;
    if (gguf.has("tokenizer.ggml.token_type")) {
        UNI_ASSIGN_OR_RETURN(types, gguf.get_i32_array("tokenizer.ggml.token_type"));
        if (types.size() < n) {
            return fail(corrupt(fmt::format(
                "tokenizer.ggml.token_type has {} entries for {} tokens", types.size(), n)));
        }
    }

    v->tokens.resize(n);
    v->token_to_id.reserve(n);
    for (size_t i = 0; i < n; ++i) {
        TokenData& t = v->tokens[i];
        t.text = (*texts)[i].empty() ? fmt::format("[EMPTY_{}]", i) : (*texts)[i];
        t.score = scores.empty() ? 0.0f : scores[i];
        t.attr = types.empty() ? kAttrNormal : attr_from_gguf_type(types[i]);
        if (!v->token_to_id.emplace(t.text, static_cast<int32_t>(i)).second) {
            return fail(corrupt(
                fmt::format("token {} repeats the text of token {}", i, v->token_to_id[t.text])));
        }
    }

    if (needs_merges) {
        const io::GgufValue* merges = gguf.find("tokenizer.ggml.merges");
        if (merges == nullptr) {
            return fail(
                not_found("tokenizer.ggml.merges is missing; a BPE vocabulary needs its merges"));
        }
        if (merges->strings() == nullptr)
            return fail(corrupt("tokenizer.ggml.merges is not an array of strings"));
        const std::vector<std::string>& list = *merges->strings();
        v->merge_ranks.reserve(list.size());
        for (size_t i = 0; i < list.size(); ++i)
            v->merge_ranks.emplace(split_merge(list[i]), static_cast<int32_t>(i));
    }

    // Special ids: a key outside the vocabulary is an error for the ids generation depends on
    // (llama.cpp only warns); for the others it is ignored.
    struct SpecialKey {
        const char* key;
        int32_t* slot;
        bool required_in_range;
    };
    const SpecialKey keys[] = {
        {"tokenizer.ggml.bos_token_id", &v->bos, true},
        {"tokenizer.ggml.eos_token_id", &v->eos, true},
        {"tokenizer.ggml.eot_token_id", &v->eot, true},
        {"tokenizer.ggml.eom_token_id", &v->eom, true},
        {"tokenizer.ggml.unknown_token_id", &v->unk, true},
        {"tokenizer.ggml.seperator_token_id", &v->sep, false},
        {"tokenizer.ggml.padding_token_id", &v->pad, false},
        {"tokenizer.ggml.mask_token_id", &v->mask, false},
        {"tokenizer.ggml.fim_pre_token_id", &v->fim_pre, false},
        {"tokenizer.ggml.fim_suf_token_id", &v->fim_suf, false},
        {"tokenizer.ggml.fim_mid_token_id", &v->fim_mid, false},
        {"tokenizer.ggml.fim_pad_token_id", &v->fim_pad, false},
        {"tokenizer.ggml.fim_rep_token_id", &v->fim_rep, false},
        {"tokenizer.ggml.fim_sep_token_id", &v->fim_sep, false},
        {"tokenizer.ggml.prefix_token_id", &v->fim_pre, false},
        {"tokenizer.ggml.suffix_token_id", &v->fim_suf, false},
        {"tokenizer.ggml.middle_token_id", &v->fim_mid, false},
    };
    for (const SpecialKey& k : keys) {
        if (!v->valid(*k.slot)) *k.slot = kNoToken;  // a default outside a small vocabulary
        const io::GgufValue* val = gguf.find(k.key);
        if (val == nullptr) continue;
        auto id = val->as_i64();
        if (!id.ok()) return fail(corrupt(fmt::format("{}: {}", k.key, id.status().message())));
        if (*id < 0) continue;  // some converters write -1 for "none"
        if (*id >= static_cast<int64_t>(n)) {
            if (k.required_in_range) {
                return fail(out_of_range(
                    fmt::format("{} = {} is outside the vocabulary of {} tokens", k.key, *id, n)));
            }
            log_warn("{}: {} = {} is outside the vocabulary of {} tokens; ignored", path, k.key,
                     *id, n);
            continue;
        }
        *k.slot = static_cast<int32_t>(*id);
    }

    UNI_ASSIGN_OR_RETURN(v->add_bos, gguf.get_bool_or("tokenizer.ggml.add_bos_token", v->add_bos));
    UNI_ASSIGN_OR_RETURN(v->add_eos, gguf.get_bool_or("tokenizer.ggml.add_eos_token", v->add_eos));
    if (v->model == "gemma4") v->add_bos = true;  // llama.cpp's Gemma 4 override
    if (v->add_bos && v->bos == kNoToken)
        return fail(corrupt("add_bos_token is set but there is no BOS token"));
    if (v->add_eos && v->eos == kNoToken)
        return fail(corrupt("add_eos_token is set but there is no EOS token"));
    UNI_ASSIGN_OR_RETURN(v->chat_template, gguf.get_string_or("tokenizer.chat_template", ""));

    if (v->type == VocabType::kBpe) {
        auto p = PreTokenizer::create(pre.patterns, pre.byte_encode);
        if (!p.ok()) return fail(p.status());
        v->pre = std::move(p).value();
    }
    UNI_ASSIGN_OR_RETURN(std::string general_name, gguf.get_string_or("general.name", ""));
    v->finish_special_tokens(general_name);
    return std::shared_ptr<const Vocab>(std::move(v));
}

}  // namespace unicorn::text
