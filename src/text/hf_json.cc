// Hugging Face tokenizer.json -> Vocab. Supports `model.type == "BPE"` in its two common forms:
//  - byte-level (a ByteLevel pre-tokenizer: GPT-2, Llama 3, SmolLM2, Qwen): the pre-tokenizer's
//    Split/Digits/ByteLevel steps become the regex list of a byte-level BPE vocabulary;
//  - SentencePiece-style (Replace ' ' -> U+2581 normalizer, optional Prepend, byte_fallback:
//    Gemma, Llama 2): merged by rank over the whole text with <0xXX> byte fallback, which is
//    what the HF BPE model does.
// Token types follow llama.cpp's converter (convert_hf_to_gguf.py get_vocab_base): added tokens
// marked special, or that look special ("<|...|>", "<unused..>"), are control tokens; other added
// tokens are user-defined; gaps in the id range become unused "[PAD<id>]" tokens.
#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/log.h"
#include "text/vocab.h"

namespace unicorn::text {
namespace {

using nlohmann::json;

Result<json> read_json(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return not_found(fmt::format("cannot open {}", path));
    std::stringstream ss;
    ss << in.rdbuf();
    json j = json::parse(ss.str(), nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) return corrupt(fmt::format("{} is not valid JSON", path));
    return j;
}

bool looks_special(const std::string& t) {
    const auto starts = [&](std::string_view p) { return t.rfind(p, 0) == 0; };
    const auto ends = [&](std::string_view p) {
        return t.size() >= p.size() && t.compare(t.size() - p.size(), p.size(), p) == 0;
    };
    return t == "<pad>" || t == "<mask>" || t == "<2mass>" || t == "[@BOS@]" ||
           (starts("<|") && ends("|>")) || (starts("<｜") && ends("｜>")) ||
           (starts("<unused") && ends(">"));
}

// Escapes a literal for the regex engine.
std::string regex_escape(const std::string& s) {
    std::string out;
    for (char c : s) {
        if (std::string_view("\\^$.|?*+()[]{}-").find(c) != std::string_view::npos)
            out.push_back('\\');
        out.push_back(c);
    }
    return out;
}

struct PreSteps {
    std::vector<std::string> patterns;
    bool byte_level = false;
};

Status walk_pre_tokenizer(const json& p, PreSteps& steps) {
    if (p.is_null()) return ok_status();
    const std::string type = p.value("type", "");
    if (type == "Sequence") {
        for (const json& q : p.value("pretokenizers", json::array()))
            UNI_RETURN_IF_ERROR(walk_pre_tokenizer(q, steps));
        return ok_status();
    }
    if (type == "ByteLevel") {
        steps.byte_level = true;
        if (p.value("add_prefix_space", false))
            return unsupported("ByteLevel pre-tokenizer with add_prefix_space");
        if (p.value("use_regex", true)) steps.patterns.emplace_back(kGpt2Pattern);
        return ok_status();
    }
    if (type == "Digits") {
        steps.patterns.emplace_back(p.value("individual_digits", false) ? "\\p{N}" : "\\p{N}+");
        return ok_status();
    }
    if (type == "Split") {
        if (p.value("behavior", "") != "Isolated" || p.value("invert", false)) {
            return unsupported(fmt::format("Split pre-tokenizer with behavior '{}'{}",
                                           p.value("behavior", ""),
                                           p.value("invert", false) ? " (inverted)" : ""));
        }
        const json& pat = p.value("pattern", json::object());
        if (pat.contains("Regex")) {
            steps.patterns.push_back(pat["Regex"].get<std::string>());
        } else if (pat.contains("String")) {
            steps.patterns.push_back(regex_escape(pat["String"].get<std::string>()));
        } else {
            return unsupported("Split pre-tokenizer without a pattern");
        }
        return ok_status();
    }
    if (type == "Metaspace") return ok_status();  // handled with the normalizer (spaces -> U+2581)
    return unsupported(fmt::format("pre-tokenizer type '{}'", type));
}

struct NormalizerSteps {
    bool replace_space = false;
    bool prepend = false;
};

Status walk_normalizer(const json& n, NormalizerSteps& steps) {
    if (n.is_null()) return ok_status();
    const std::string type = n.value("type", "");
    if (type == "Sequence") {
        for (const json& q : n.value("normalizers", json::array()))
            UNI_RETURN_IF_ERROR(walk_normalizer(q, steps));
        return ok_status();
    }
    if (type == "Replace") {
        const json& pat = n.value("pattern", json::object());
        if (pat.value("String", "") == " " && n.value("content", "") == "\xE2\x96\x81") {
            steps.replace_space = true;
            return ok_status();
        }
        return unsupported("Replace normalizer other than ' ' -> U+2581");
    }
    if (type == "Prepend" && n.value("prepend", "") == "\xE2\x96\x81") {
        steps.prepend = true;
        return ok_status();
    }
    if (type == "NFC" || type == "NFKC") {
        // Text that is already normalized (nearly all prompts) tokenizes the same.
        log_warn("tokenizer.json: {} normalization is not applied", type);
        return ok_status();
    }
    return unsupported(fmt::format("normalizer type '{}'", type));
}

std::string token_content(const json& j) {
    if (j.is_string()) return j.get<std::string>();
    if (j.is_object()) return j.value("content", "");
    return {};
}

}  // namespace

Result<std::shared_ptr<const Vocab>> load_vocab_from_hf_json(const std::string& path) {
    UNI_ASSIGN_OR_RETURN(json root, read_json(path));
    const auto fail = [&](const Status& s) { return s.with_context(path); };
    try {
        const json& model = root.value("model", json::object());
        if (model.value("type", "") != "BPE") {
            return fail(unsupported(fmt::format("tokenizer model type '{}' (only BPE is supported)",
                                                model.value("type", "<none>"))));
        }
        PreSteps pre;
        NormalizerSteps norm;
        UNI_RETURN_IF_ERROR(fail(walk_pre_tokenizer(root.value("pre_tokenizer", json()), pre)));
        UNI_RETURN_IF_ERROR(fail(walk_normalizer(root.value("normalizer", json()), norm)));
        const json& pre_json = root.value("pre_tokenizer", json());
        if (!pre_json.is_null() && pre_json.value("type", "") == "Metaspace") {
            norm.replace_space = true;
            norm.prepend = pre_json.value("prepend_scheme", "always") != "never" &&
                           pre_json.value("add_prefix_space", true);
        }
        if (!pre.byte_level && !norm.replace_space) {
            return fail(
                unsupported("a BPE tokenizer that is neither byte-level nor SentencePiece-style"));
        }

        auto v = std::make_shared<Vocab>();
        v->model = "hf-bpe";
        v->type = VocabType::kBpe;
        const bool byte_fallback = model.value("byte_fallback", false);

        // Ids: the model's vocab plus the added tokens; gaps become unused placeholders.
        const json& vocab = model.value("vocab", json::object());
        const json& added = root.value("added_tokens", json::array());
        int64_t max_id = -1;
        for (const auto& [text, id] : vocab.items())
            max_id = std::max<int64_t>(max_id, id.get<int64_t>());
        for (const json& a : added) max_id = std::max<int64_t>(max_id, a.value("id", int64_t{-1}));
        if (max_id < 0) return fail(corrupt("the vocabulary is empty"));
        if (max_id >= INT32_MAX) return fail(out_of_range("token ids past 2^31"));
        v->tokens.assign(static_cast<size_t>(max_id + 1), TokenData{});
        std::vector<bool> filled(v->tokens.size(), false);
        for (const auto& [text, id_json] : vocab.items()) {
            const int64_t id = id_json.get<int64_t>();
            if (id < 0) return fail(corrupt(fmt::format("negative id for token '{}'", text)));
            TokenData& t = v->tokens[static_cast<size_t>(id)];
            t.text = text;
            t.attr = kAttrNormal;
            if (byte_fallback && text.size() == 6 && text.rfind("<0x", 0) == 0 && text[5] == '>')
                t.attr = kAttrByte;
            filled[static_cast<size_t>(id)] = true;
        }
        for (const json& a : added) {
            const int64_t id = a.value("id", int64_t{-1});
            if (id < 0) return fail(corrupt("an added token without an id"));
            TokenData& t = v->tokens[static_cast<size_t>(id)];
            t.text = a.value("content", "");
            if (a.value("special", false) || looks_special(t.text)) {
                t.attr = kAttrControl;
            } else {
                t.attr = kAttrUserDefined;
                // As llama.cpp's converter: user-defined tokens match raw text, spaces unescaped.
                if (norm.replace_space) {
                    std::string s;
                    for (size_t i = 0; i < t.text.size(); ++i) {
                        if (t.text.compare(i, 3, "\xE2\x96\x81") == 0) {
                            s.push_back(' ');
                            i += 2;
                        } else {
                            s.push_back(t.text[i]);
                        }
                    }
                    t.text = s;
                }
            }
            if (a.value("lstrip", false)) t.attr |= kAttrLstrip;
            if (a.value("rstrip", false)) t.attr |= kAttrRstrip;
            filled[static_cast<size_t>(id)] = true;
        }
        for (size_t i = 0; i < v->tokens.size(); ++i) {
            if (!filled[i]) v->tokens[i] = TokenData{fmt::format("[PAD{}]", i), 0.0f, kAttrUnused};
            if (v->tokens[i].text.empty()) v->tokens[i].text = fmt::format("[EMPTY_{}]", i);
            v->token_to_id[v->tokens[i].text] = static_cast<int32_t>(i);
        }

        // Merges: "a b" strings or ["a", "b"] pairs.
        const json& merges = model.value("merges", json::array());
        if (merges.empty() && vocab.size() > 256)
            return fail(corrupt("model.merges is missing or empty"));
        int32_t rank = 0;
        for (const json& m : merges) {
            std::pair<std::string, std::string> pair;
            if (m.is_string()) {
                const std::string s = m.get<std::string>();
                const size_t sp = s.find(' ', 1);
                if (sp == std::string::npos)
                    return fail(corrupt(fmt::format("merge '{}' has no space", s)));
                pair = {s.substr(0, sp), s.substr(sp + 1)};
            } else if (m.is_array() && m.size() == 2) {
                pair = {m[0].get<std::string>(), m[1].get<std::string>()};
            } else {
                return fail(corrupt("a merge is neither \"a b\" nor [a, b]"));
            }
            v->merge_ranks.emplace(std::move(pair), rank++);
        }
        v->ignore_merges = model.value("ignore_merges", false);
        v->unk = model.contains("unk_token") && model["unk_token"].is_string()
                     ? v->find(model["unk_token"].get<std::string>())
                     : kNoToken;

        // Pre-tokenizer and whitespace handling.
        std::vector<std::string> patterns = pre.patterns;
        if (pre.byte_level) {
            v->escape_whitespaces = false;
        } else {
            v->escape_whitespaces = true;
            v->prepend_space = norm.prepend;
            v->add_space_prefix = norm.prepend;
            patterns.clear();  // SentencePiece-style BPE merges over the whole text
        }
        auto p = PreTokenizer::create(patterns, pre.byte_level);
        if (!p.ok()) return fail(p.status());
        v->pre = std::move(p).value();

        // Special ids and flags: tokenizer_config.json, else the post-processor's template.
        const std::filesystem::path config_path =
            std::filesystem::path(path).parent_path() / "tokenizer_config.json";
        json config = json::object();
        if (std::filesystem::exists(config_path)) {
            UNI_ASSIGN_OR_RETURN(config, read_json(config_path.string()));
        }
        const json& post = root.value("post_processor", json());
        if (!post.is_null() && post.value("type", "") == "TemplateProcessing") {
            bool seen_a = false;
            for (const json& item : post.value("single", json::array())) {
                if (item.contains("Sequence")) {
                    seen_a = true;
                } else if (item.contains("SpecialToken")) {
                    const int32_t id = v->find(item["SpecialToken"].value("id", ""));
                    if (id == kNoToken) continue;
                    if (!seen_a) {
                        v->bos = id;
                        v->add_bos = true;
                    } else {
                        v->eos = id;
                        v->add_eos = true;
                    }
                }
            }
        }
        if (config.contains("bos_token")) {
            const int32_t id = v->find(token_content(config["bos_token"]));
            if (id != kNoToken) v->bos = id;
        }
        if (config.contains("eos_token")) {
            const int32_t id = v->find(token_content(config["eos_token"]));
            if (id != kNoToken) v->eos = id;
        }
        if (config.contains("add_bos_token") && config["add_bos_token"].is_boolean()) {
            v->add_bos = config["add_bos_token"].get<bool>();
        }
        if (config.contains("add_eos_token") && config["add_eos_token"].is_boolean()) {
            v->add_eos = config["add_eos_token"].get<bool>();
        }
        if (v->add_bos && v->bos == kNoToken) v->add_bos = false;
        if (v->add_eos && v->eos == kNoToken) v->add_eos = false;
        v->clean_spaces = config.value("clean_up_tokenization_spaces", false) && pre.byte_level;
        if (config.contains("chat_template") && config["chat_template"].is_string()) {
            v->chat_template = config["chat_template"].get<std::string>();
        }
        v->finish_special_tokens("");
        return std::shared_ptr<const Vocab>(std::move(v));
    } catch (const json::exception& e) {
        return fail(corrupt(fmt::format("unexpected structure: {}", e.what())));
    }
}

}  // namespace unicorn::text
