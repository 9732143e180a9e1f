#include "text/pre_tokenizer.h"

#include <fmt/format.h>

#include <algorithm>
#include <initializer_list>

#include "text/unicode.h"

namespace unicorn::text {
namespace {

// Qwen 2: Llama 3's pattern with single digits.
constexpr std::string_view kQwen2Pattern =
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|"
    "\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
// Qwen 3.5: marks join letters.
constexpr std::string_view kQwen35Pattern =
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?[\\p{L}\\p{M}]"
    "+|"
    "\\p{N}| ?[^\\s\\p{L}\\p{M}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
constexpr std::string_view kBailingPattern =
    "'(?:[sSdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}|"
    " ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]|\\s+(?!\\S)|\\s+";
constexpr std::string_view kSeedCoderPattern =
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|"
    "\\p{N}{1}| ?[^\\s\\p{L}\\p{N}\\r\\n]+|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
constexpr std::string_view kPoroPattern =
    " ?[^(\\s|.,!?\u2026\u3002\uFF0C\u3001\u0964\u06D4\u060C)]+";

bool is_one_of(const std::string& name, std::initializer_list<std::string_view> names) {
    return std::find(names.begin(), names.end(), name) != names.end();
}

std::vector<std::string> patterns(std::initializer_list<std::string_view> list) {
    return {list.begin(), list.end()};
}

}  // namespace

Result<PreTokenizerConfig> pre_tokenizer_config(const std::string& name) {
    PreTokenizerConfig c;
    if (name.empty() || name == "default") {
        c.patterns =
            patterns({"[\\p{P}\\$\\+<=>\\^~\\|]+", kGpt2Pattern, "\\p{N}+", "[0-9][0-9][0-9]"});
    } else if (is_one_of(name, {"llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1",
                                "pixtral", "midm-2.0", "lfm2", "jina-v5-nano"})) {
        c.patterns = patterns({kLlama3Pattern});
        c.ignore_merges = true;
        c.add_bos = true;
    } else if (is_one_of(name, {"dbrx", "smaug-bpe"})) {
        c.patterns = patterns({kLlama3Pattern});
    } else if (is_one_of(name, {"chatglm-bpe", "glm4", "glm5"})) {
        c.patterns = patterns({kLlama3Pattern});
        c.no_bos = true;
        c.ignore_merges = name != "chatglm-bpe";
    } else if (name == "deepseek-llm") {
        c.patterns = patterns({
            "[\r\n]",
            "\\s?[A-Za-z\u00B5\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u01BA\u01BC-\u01BF\u01C4-"
            "\u0293\u0295-\u02AF\u0370-\u0373\u0376\u0377\u037B-\u037D\u037F\u0386\u0388-"
            "\u038A\u038C\u038E-\u03A1\u03A3-\u03F5\u03F7-\u0481\u048A-\u052F\u0531-\u0556\u10A0-"
            "\u10C5\u13A0-\u13F5\u13F8-\u13FD\u1C90-\u1CBA\u1CBD-\u1CBF\u1D00-\u1D2B\u1D6B-"
            "\u1D77\u1D79-\u1D9A\u1E00-\u1F15\u1F18-\u1F1D\u1F20-\u1F45\u1F48-\u1F4D\u1F50-"
            "\u1F57\u1F59\u1F5B\u1F5D\u1F5F-\u1F7D\u1F80-\u1FB4\u1FB6-\u1FBC\u1FBE\u1FC2-"
            "\u1FC4\u1FC6-\u1FCC\u1FD0-\u1FD3\u1FD6-\u1FDB\u1FE0-\u1FEC\u1FF2-\u1FF4\u1FF6-"
            "\u1FFC\u2102\u2107\u210A-\u2113\u2115\u2119-\u211D\u2124\u2126\u2128\u212A-"
            "\u212D\u212F-\u2134\u2139\u213C-\u213F\u2145-\u2149\u214E\u2183\u2184\u2C00-"
            "\u2C7B\u2C7E-\u2CE4\u2CEB-\u2CEE\u2CF2\u2CF3\uA640-\uA66D\uA680-\uA69B\uA722-"
            "\uA76F\uA771-\uA787\uA78B-\uA78E\uAB70-\uABBF\uFB00-\uFB06\uFB13-\uFB17\uFF21-"
            "\uFF3A\uFF41-\uFF5A\U00010400-\U0001044F\U000104B0-\U000104D3\U000104D8-"
            "\U000104FB\U00010C80-\U00010CB2\U00010CC0-\U00010CF2\U000118A0-\U000118DF\U0001E900-"
            "\U0001E943]+",
            "\\s?[!-/:-~\uFF01-\uFF0F\uFF1A-\uFF5E\u2018-\u201F\u3000-\u3002]+",
            "\\s+$",
            "[\u4E00-\u9FA5\u0800-\u4E00\uAC00-\uD7FF]+",
            "\\p{N}+",
        });
        c.clean_spaces = false;
    } else if (name == "deepseek-coder") {
        c.patterns = patterns({"[\r\n]", "\\s?\\p{L}+", "\\s?\\p{P}+",
                               "[\u4E00-\u9FA5\u0800-\u4E00\uAC00-\uD7FF]+", "\\p{N}"});
        c.clean_spaces = false;
    } else if (is_one_of(name, {"deepseek-v3", "hunyuan-dense", "joyai-llm", "hy_v4"})) {
        c.patterns = patterns({
            "\\p{N}{1,3}",
            "[\u4E00-\u9FA5\u3040-\u309F\u30A0-\u30FF]+",
            "[!\"#$%&'()*+,\\-./"
            ":;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+|"
            " ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+",
        });
        c.clean_spaces = false;
    } else if (name == "falcon") {
        c.patterns = patterns({"[\\p{P}\\$\\+<=>\\^~\\|`]+", kGpt2Pattern, "[0-9][0-9][0-9]"});
    } else if (is_one_of(name,
                         {"starcoder", "refact", "codeshell", "exaone", "minerva-7b", "mellum2"})) {
        c.patterns = patterns({"\\p{N}", kGpt2Pattern});
    } else if (is_one_of(name, {"smollm", "command-r"})) {
        c.patterns = patterns({"\\p{N}", kGpt2Pattern});
        c.clean_spaces = false;
    } else if (is_one_of(name,
                         {"gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es",
                          "jina-v2-de", "a.x-4.0", "mellum", "modern-bert", "exaone4", "jina-v1-en",
                          "jina-v2-code", "roberta-bpe", "mpt", "olmo", "jais"})) {
        c.patterns = patterns({kGpt2Pattern});
    } else if (is_one_of(name, {"trillion", "granite-docling"})) {
        c.patterns = patterns({kGpt2Pattern});
        c.clean_spaces = false;
    } else if (is_one_of(name, {"qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "hunyuan",
                                "solar-open"})) {
        c.patterns = patterns({kQwen2Pattern});
        c.clean_spaces = false;
    } else if (is_one_of(name, {"megrez", "stablelm2"})) {
        c.patterns = patterns({kQwen2Pattern});
    } else if (name == "qwen35") {
        c.patterns = patterns({kQwen35Pattern});
        c.clean_spaces = false;
    } else if (is_one_of(name, {"bailingmoe", "bailingmoe2", "llada-moe"})) {
        c.patterns = patterns({kBailingPattern});
        c.clean_spaces = false;
    } else if (name == "seed-coder") {
        c.patterns = patterns({kSeedCoderPattern});
        c.clean_spaces = false;
    } else if (is_one_of(name, {"poro-chat", "bloom", "gpt3-finnish"})) {
        c.patterns = patterns({kPoroPattern});
        c.clean_spaces = name != "poro-chat";
    } else if (name == "viking") {
        c.patterns = patterns({kPoroPattern, "\\p{N}"});
        c.clean_spaces = false;
    } else if (name == "gemma4") {
        // SPM-style BPE: spaces become U+2581 and merges run over whole lines of raw UTF-8.
        c.patterns = patterns({"[^\\n]+|[\\n]+"});
        c.byte_encode = false;
        c.escape_whitespaces = true;
        c.newline_words_whole = true;
        c.add_bos = true;
    } else {
        return unsupported(fmt::format(
            "pre-tokenizer '{}' (tokenizer.ggml.pre) is not supported; supported include default, "
            "llama-bpe/llama3, gpt-2, smollm, starcoder, qwen2, deepseek-llm, deepseek-coder, "
            "falcon",
            name));
    }
    return c;
}

Result<PreTokenizer> PreTokenizer::create(const std::vector<std::string>& patterns,
                                          bool byte_encode) {
    PreTokenizer p;
    p.byte_encode_ = byte_encode;
    for (const std::string& pattern : patterns) {
        UNI_ASSIGN_OR_RETURN(SplitRegex re, SplitRegex::compile(pattern));
        p.regexes_.push_back(std::move(re));
    }
    return p;
}

std::vector<std::string> PreTokenizer::split(std::string_view text) const {
    const std::vector<uint32_t> cps = utf8_to_codepoints(text);
    // The regexes see non-ASCII whitespace as U+000B, as llama.cpp's std::regex path does: a
    // class of literal codepoints never holds a non-ASCII space, \s always does.
    std::vector<uint32_t> seen(cps);
    for (uint32_t& cp : seen) {
        if (cp >= 0x80 && (codepoint_flags(cp) & kWhitespace) != 0) cp = 0x0B;
    }
    std::vector<size_t> pieces{cps.size()};
    for (const SplitRegex& re : regexes_) pieces = re.split(seen, pieces);

    std::vector<std::string> words;
    words.reserve(pieces.size());
    size_t start = 0;
    for (size_t len : pieces) {
        std::string utf8;
        for (size_t i = start; i < start + len; ++i) append_utf8(utf8, cps[i]);
        start += len;
        if (utf8.empty()) continue;
        if (!byte_encode_) {
            words.push_back(std::move(utf8));
            continue;
        }
        std::string encoded;
        encoded.reserve(utf8.size() * 2);
        for (char ch : utf8) encoded += byte_to_unicode(static_cast<uint8_t>(ch));
        words.push_back(std::move(encoded));
    }
    return words;
}

}  // namespace unicorn::text
