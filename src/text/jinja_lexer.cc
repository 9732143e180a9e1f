// The lexer mirrors jinja2's (lexer.py) with trim_blocks=True and lstrip_blocks=True:
// - `{%-`/`{{-`/`{#-` strip all whitespace before the tag; `-%}`/`-}}`/`-#}` all after it.
// - lstrip_blocks: spaces and tabs between a line start and a `{%` or `{#` are removed, unless
//   the tag starts with `{%+`. "Line start" is the template start or a newline just consumed by
//   the previous token, as jinja2's `line_starting` tracks it.
// - trim_blocks: the first newline after `%}` or `#}` is removed, unless the tag ends with `+%}`.
// - Inside a tag, `}}`/`%}` end it only outside brackets ({{ {'a': {'b': 1}} }} is one tag).
#include "text/jinja_lexer.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <string_view>

#include "text/unicode.h"

namespace unicorn::text::jinja {
namespace {

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_name_char(char c) { return is_name_start(c) || is_digit(c); }

std::string_view rstrip(std::string_view s) {
    size_t e = s.size();
    while (e > 0 && is_space(s[e - 1])) --e;
    return s.substr(0, e);
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

class Lexer {
  public:
    Lexer(const std::string& src, const SourceMap& map) : src_(src), map_(map) {}

    Result<std::vector<Token>> run() {
        while (true) {
            const size_t start = find_tag_start(pos_);
            size_t text_begin = pos_;
            if (strip_next_) {
                while (text_begin < src_.size() && is_space(src_[text_begin])) ++text_begin;
                strip_next_ = false;
            }
            const size_t text_end = start == std::string::npos ? src_.size() : start;
            std::string_view text(src_.data() + text_begin, text_end - text_begin);
            if (start == std::string::npos) {
                emit_data(text, text_begin);
                out_.push_back(Token{TokKind::kEof, "", 0, 0.0, offset(src_.size())});
                return std::move(out_);
            }
            const char kind = src_[start + 1];
            const char flag = start + 2 < src_.size() ? src_[start + 2] : '\0';
            if (flag == '-') {
                text = rstrip(text);
            } else if (flag != '+' && kind != '{') {
                text = lstrip_block(text, text_begin);
            }
            emit_data(text, text_begin);
            pos_ = start + 2 + ((flag == '-' || flag == '+') ? 1 : 0);
            if (kind == '#') {
                UNI_RETURN_IF_ERROR(lex_comment(start));
            } else if (kind == '{') {
                out_.push_back(Token{TokKind::kVarBegin, "{{", 0, 0.0, offset(start)});
                UNI_RETURN_IF_ERROR(lex_tag_body(start, "}}", TokKind::kVarEnd, false));
            } else if (is_raw_tag()) {
                UNI_RETURN_IF_ERROR(lex_raw(start));
            } else {
                out_.push_back(Token{TokKind::kBlockBegin, "{%", 0, 0.0, offset(start)});
                UNI_RETURN_IF_ERROR(lex_tag_body(start, "%}", TokKind::kBlockEnd, true));
            }
        }
    }

  private:
    static uint32_t offset(size_t pos) { return static_cast<uint32_t>(pos); }

    Status error(size_t pos, const std::string& msg) const {
        return invalid_argument(
            fmt::format("chat template syntax error at {}: {}", map_.where(offset(pos)), msg));
    }

    size_t find_tag_start(size_t from) const {
        for (size_t p = src_.find('{', from); p != std::string::npos; p = src_.find('{', p + 1)) {
            if (p + 1 < src_.size() &&
                (src_[p + 1] == '{' || src_[p + 1] == '%' || src_[p + 1] == '#'))
                return p;
        }
        return std::string::npos;
    }

    // lstrip_blocks for the text before a block or comment tag.
    std::string_view lstrip_block(std::string_view text, size_t text_begin) const {
        const size_t nl = text.rfind('\n');
        const size_t l_pos = nl == std::string_view::npos ? 0 : nl + 1;
        const bool line_starting = text_begin == 0 || src_[text_begin - 1] == '\n';
        if (l_pos == 0 && !line_starting) return text;
        const std::string_view tail = text.substr(l_pos);
        if (tail.empty() || !std::all_of(tail.begin(), tail.end(), is_space)) return text;
        return text.substr(0, l_pos);
    }

    void emit_data(std::string_view text, size_t at) {
        if (text.empty()) return;
        out_.push_back(Token{TokKind::kData, std::string(text), 0, 0.0, offset(at)});
    }

    // After a tag's end marker: `-` strips what follows, trim_blocks eats one newline.
    void after_tag(bool minus, bool plus, bool trim) {
        if (minus)
            strip_next_ = true;
        else if (!plus && trim && pos_ < src_.size() && src_[pos_] == '\n')
            ++pos_;
    }

    Status lex_comment(size_t start) {
        const size_t end = src_.find("#}", pos_);
        if (end == std::string::npos) return error(start, "unclosed comment ('{#' without '#}')");
        const bool minus = end > pos_ && src_[end - 1] == '-';
        const bool plus = end > pos_ && src_[end - 1] == '+';
        pos_ = end + 2;
        after_tag(minus, plus, true);
        return ok_status();
    }

    // {% raw %} ... {% endraw %}: the body is data, not parsed.
    bool is_raw_tag() const {
        size_t p = pos_;
        while (p < src_.size() && is_space(src_[p])) ++p;
        if (src_.compare(p, 3, "raw") != 0) return false;
        p += 3;
        while (p < src_.size() && is_space(src_[p])) ++p;
        if (p < src_.size() && src_[p] == '-') ++p;  // jinja2's raw rule takes `-%}`, not `+%}`
        return src_.compare(p, 2, "%}") == 0;
    }

    // The start tag takes no trim_blocks newline (jinja2's raw_begin rule has no suffix).
    Status lex_raw(size_t start) {
        size_t p = src_.find("%}", pos_);
        const bool minus = src_[p - 1] == '-';
        pos_ = p + 2;
        after_tag(minus, false, false);
        size_t body = pos_;
        if (strip_next_) {
            while (body < src_.size() && is_space(src_[body])) ++body;
            strip_next_ = false;
        }
        for (size_t q = src_.find("{%", body); q != std::string::npos; q = src_.find("{%", q + 1)) {
            size_t r = q + 2;
            const char flag = r < src_.size() ? src_[r] : '\0';
            if (flag == '-' || flag == '+') ++r;
            while (r < src_.size() && is_space(src_[r])) ++r;
            if (src_.compare(r, 6, "endraw") != 0) continue;
            r += 6;
            while (r < src_.size() && is_space(src_[r])) ++r;
            bool end_minus = false;
            bool end_plus = false;
            if (r < src_.size() && (src_[r] == '-' || src_[r] == '+')) {
                end_minus = src_[r] == '-';
                end_plus = src_[r] == '+';
                ++r;
            }
            if (src_.compare(r, 2, "%}") != 0) continue;
            std::string_view text(src_.data() + body, q - body);
            if (flag == '-')
                text = rstrip(text);
            else if (flag != '+')
                text = lstrip_block(text, body);
            emit_data(text, body);
            pos_ = r + 2;
            after_tag(end_minus, end_plus, true);
            return ok_status();
        }
        return error(start, "missing {% endraw %}");
    }

    Status lex_tag_body(size_t start, std::string_view end, TokKind end_kind, bool block) {
        std::string brackets;  // open ( [ { not yet closed
        while (true) {
            while (pos_ < src_.size() && is_space(src_[pos_])) ++pos_;
            if (pos_ >= src_.size())
                return error(start, fmt::format("unclosed tag (no '{}' before the end)", end));
            if (brackets.empty()) {
                bool minus = false;
                bool plus = false;
                size_t p = pos_;
                if (src_[p] == '-' || src_[p] == '+') {
                    minus = src_[p] == '-';
                    plus = src_[p] == '+';
                    ++p;
                }
                if (src_.compare(p, end.size(), end) == 0) {
                    out_.push_back(Token{end_kind, std::string(end), 0, 0.0, offset(pos_)});
                    pos_ = p + end.size();
                    after_tag(minus, plus, block);
                    return ok_status();
                }
            }
            const char c = src_[pos_];
            if (is_name_start(c)) {
                const size_t b = pos_;
                while (pos_ < src_.size() && is_name_char(src_[pos_])) ++pos_;
                out_.push_back(Token{TokKind::kName, src_.substr(b, pos_ - b), 0, 0.0, offset(b)});
            } else if (is_digit(c)) {
                UNI_RETURN_IF_ERROR(lex_number());
            } else if (c == '\'' || c == '"') {
                UNI_RETURN_IF_ERROR(lex_string());
            } else {
                UNI_RETURN_IF_ERROR(lex_operator(brackets));
            }
        }
    }

    Status lex_operator(std::string& brackets) {
        static constexpr std::string_view kTwo[] = {"//", "**", "==", "!=", "<=", ">="};
        for (std::string_view op : kTwo) {
            if (src_.compare(pos_, 2, op) == 0) {
                out_.push_back(Token{TokKind::kOp, std::string(op), 0, 0.0, offset(pos_)});
                pos_ += 2;
                return ok_status();
            }
        }
        const char c = src_[pos_];
        static constexpr std::string_view kOne = "+-*/%~<>=()[]{},.:|";
        if (kOne.find(c) == std::string_view::npos)
            return error(pos_, fmt::format("unexpected character '{}'", c));
        if (c == '(' || c == '[' || c == '{') brackets += c;
        if (c == ')' || c == ']' || c == '}') {
            const char open = c == ')' ? '(' : c == ']' ? '[' : '{';
            if (brackets.empty()) return error(pos_, fmt::format("unexpected '{}'", c));
            if (brackets.back() != open) {
                const char want = brackets.back() == '(' ? ')' : brackets.back() == '[' ? ']' : '}';
                return error(pos_, fmt::format("unexpected '{}', expected '{}'", c, want));
            }
            brackets.pop_back();
        }
        out_.push_back(Token{TokKind::kOp, std::string(1, c), 0, 0.0, offset(pos_)});
        ++pos_;
        return ok_status();
    }

    // Decimal integers and floats (with `_` separators and exponents), 0x/0o/0b integers.
    Status lex_number() {
        const size_t b = pos_;
        auto digits = [&](auto pred) {
            std::string d;
            while (pos_ < src_.size() && (pred(src_[pos_]) || (src_[pos_] == '_' && !d.empty())))
                if (src_[pos_++] != '_') d += src_[pos_ - 1];
            return d;
        };
        if (src_[pos_] == '0' && pos_ + 1 < src_.size() &&
            std::string_view("xXoObB").find(src_[pos_ + 1]) != std::string_view::npos) {
            const char base_char = static_cast<char>(src_[pos_ + 1] | 0x20);
            const int base = base_char == 'x' ? 16 : base_char == 'o' ? 8 : 2;
            pos_ += 2;
            const std::string d = digits([&](char ch) {
                const int v = hex_value(ch);
                return v >= 0 && v < base;
            });
            int64_t value = 0;
            auto res = std::from_chars(d.data(), d.data() + d.size(), value, base);
            if (d.empty() || res.ec != std::errc())
                return error(b, "invalid or too large integer literal");
            out_.push_back(Token{TokKind::kInt, src_.substr(b, pos_ - b), value, 0.0, offset(b)});
            return ok_status();
        }
        std::string text = digits(is_digit);
        bool is_float = false;
        if (pos_ + 1 < src_.size() && src_[pos_] == '.' && is_digit(src_[pos_ + 1])) {
            ++pos_;
            text += "." + digits(is_digit);
            is_float = true;
        }
        if (pos_ < src_.size() && (src_[pos_] == 'e' || src_[pos_] == 'E')) {
            size_t p = pos_ + 1;
            if (p < src_.size() && (src_[p] == '+' || src_[p] == '-')) ++p;
            if (p < src_.size() && is_digit(src_[p])) {
                text += "e";
                if (src_[pos_ + 1] == '-') text += "-";
                pos_ = p;
                text += digits(is_digit);
                is_float = true;
            }
        }
        Token t{is_float ? TokKind::kFloat : TokKind::kInt, text, 0, 0.0, offset(b)};
        if (is_float) {
            t.float_value = std::strtod(text.c_str(), nullptr);
        } else {
            auto res = std::from_chars(text.data(), text.data() + text.size(), t.int_value);
            if (res.ec != std::errc()) return error(b, "integer literal too large");
        }
        out_.push_back(std::move(t));
        return ok_status();
    }

    // A quoted string with Python's unicode-escape rules (what jinja2 applies to literals).
    Status lex_string() {
        const size_t b = pos_;
        const char quote = src_[pos_++];
        std::string value;
        while (true) {
            if (pos_ >= src_.size()) return error(b, "unterminated string literal");
            const char c = src_[pos_++];
            if (c == quote) break;
            if (c != '\\') {
                value += c;
                continue;
            }
            if (pos_ >= src_.size()) return error(b, "unterminated string literal");
            const char e = src_[pos_++];
            switch (e) {
                case '\n':
                    break;  // line continuation
                case '\\':
                    value += '\\';
                    break;
                case '\'':
                    value += '\'';
                    break;
                case '"':
                    value += '"';
                    break;
                case 'a':
                    value += '\a';
                    break;
                case 'b':
                    value += '\b';
                    break;
                case 'f':
                    value += '\f';
                    break;
                case 'n':
                    value += '\n';
                    break;
                case 'r':
                    value += '\r';
                    break;
                case 't':
                    value += '\t';
                    break;
                case 'v':
                    value += '\v';
                    break;
                case 'x':
                case 'u':
                case 'U': {
                    const int n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
                    uint32_t cp = 0;
                    for (int i = 0; i < n; ++i) {
                        const int v = pos_ < src_.size() ? hex_value(src_[pos_]) : -1;
                        if (v < 0) return error(pos_, fmt::format("truncated \\{} escape", e));
                        cp = cp * 16 + static_cast<uint32_t>(v);
                        ++pos_;
                    }
                    if (cp > kMaxCodepoint) return error(b, "escape past U+10FFFF");
                    append_utf8(value, cp);
                    break;
                }
                default:
                    if (e >= '0' && e <= '7') {
                        uint32_t cp = static_cast<uint32_t>(e - '0');
                        for (int i = 0;
                             i < 2 && pos_ < src_.size() && src_[pos_] >= '0' && src_[pos_] <= '7';
                             ++i)
                            cp = cp * 8 + static_cast<uint32_t>(src_[pos_++] - '0');
                        append_utf8(value, cp);
                    } else if (e == 'N') {
                        return error(pos_ - 2, "\\N{...} escapes are not supported");
                    } else {
                        value += '\\';  // unknown escapes stay as written, as in Python
                        value += e;
                    }
            }
        }
        out_.push_back(Token{TokKind::kString, std::move(value), 0, 0.0, offset(b)});
        return ok_status();
    }

    const std::string& src_;
    const SourceMap& map_;
    size_t pos_ = 0;
    bool strip_next_ = false;
    std::vector<Token> out_;
};

}  // namespace

SourceMap::SourceMap(const std::string& source) {
    line_starts_.push_back(0);
    for (size_t i = 0; i < source.size(); ++i)
        if (source[i] == '\n') line_starts_.push_back(static_cast<uint32_t>(i + 1));
}

std::pair<uint32_t, uint32_t> SourceMap::line_col(uint32_t offset) const {
    auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
    const size_t line = static_cast<size_t>(it - line_starts_.begin());  // 1-based
    return {static_cast<uint32_t>(line), offset - line_starts_[line - 1] + 1};
}

std::string SourceMap::where(uint32_t offset) const {
    auto [line, col] = line_col(offset);
    return fmt::format("line {}, column {}", line, col);
}

std::string normalize_template_source(const std::string& source) {
    std::string out;
    out.reserve(source.size());
    for (size_t i = 0; i < source.size(); ++i) {
        if (source[i] == '\r') {
            out += '\n';
            if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
        } else {
            out += source[i];
        }
    }
    if (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
}

Result<std::vector<Token>> lex_template(const std::string& source, const SourceMap& map) {
    if (source.size() > UINT32_MAX) return invalid_argument("chat template larger than 4 GiB");
    return Lexer(source, map).run();
}

}  // namespace unicorn::text::jinja
