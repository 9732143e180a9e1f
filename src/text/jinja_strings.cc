// Python's str semantics that jinja2 inherits and chat templates lean on: whitespace as
// str.isspace sees it, strip/split/replace, codepoint length and indexing, and case mapping.
#include <fmt/format.h>

#include <algorithm>

#include "text/jinja_value.h"
#include "text/unicode.h"

namespace unicorn::text::jinja {
namespace {

Status too_long(size_t max_bytes) {
    return resource_exhausted(fmt::format("chat template output exceeds {} bytes", max_bytes));
}

}  // namespace

bool is_python_space(uint32_t cp) {
    // str.isspace: the White_Space property plus the information separators U+001C..U+001F.
    if (cp >= 0x1c && cp <= 0x1f) return true;
    return (codepoint_flags(cp) & kWhitespace) != 0;
}

std::string python_strip(std::string_view s, bool left, bool right, const std::string* chars) {
    std::vector<uint32_t> strip_set;
    if (chars != nullptr) strip_set = utf8_to_codepoints(*chars);
    auto strippable = [&](uint32_t cp) {
        if (chars == nullptr) return is_python_space(cp);
        return std::find(strip_set.begin(), strip_set.end(), cp) != strip_set.end();
    };
    // Byte offsets of each codepoint start, so the kept range is copied byte-exact.
    std::vector<size_t> starts;
    std::vector<uint32_t> cps;
    for (size_t pos = 0; pos < s.size();) {
        starts.push_back(pos);
        cps.push_back(decode_utf8(s, pos));
    }
    starts.push_back(s.size());
    size_t b = 0;
    size_t e = cps.size();
    if (left)
        while (b < e && strippable(cps[b])) ++b;
    if (right)
        while (e > b && strippable(cps[e - 1])) --e;
    return std::string(s.substr(starts[b], starts[e] - starts[b]));
}

namespace {

// One-codepoint case pairs: in [lo, hi], the codepoints with parity `upper_parity` are upper
// case and the next one is their lower case.
struct PairRange {
    uint32_t lo;
    uint32_t hi;
    uint32_t upper_parity;
};
constexpr PairRange kPairs[] = {
    {0x100, 0x12F, 0}, {0x132, 0x137, 0},   {0x139, 0x148, 1},   {0x14A, 0x177, 0},
    {0x179, 0x17E, 1}, {0x1CD, 0x1DC, 1},   {0x1DE, 0x1EF, 0},   {0x1F8, 0x21F, 0},
    {0x222, 0x233, 0}, {0x460, 0x481, 0},   {0x48A, 0x4BF, 0},   {0x4C1, 0x4CE, 1},
    {0x4D0, 0x52F, 0}, {0x1E00, 0x1E95, 0}, {0x1EA0, 0x1EFF, 0},
};
// Blocks whose upper and lower case are `delta` apart.
struct ShiftRange {
    uint32_t upper_lo;
    uint32_t upper_hi;
    uint32_t delta;
};
constexpr ShiftRange kShifts[] = {
    {'A', 'Z', 0x20},     {0xC0, 0xD6, 0x20},   {0xD8, 0xDE, 0x20},     {0x388, 0x38A, 0x25},
    {0x391, 0x3A1, 0x20}, {0x3A3, 0x3AB, 0x20}, {0x38E, 0x38F, 0x3F},   {0x400, 0x40F, 0x50},
    {0x410, 0x42F, 0x20}, {0x531, 0x556, 0x30}, {0xFF21, 0xFF3A, 0x20},
};

uint32_t upper_cp(uint32_t c) {
    if (c >= 0x1C4 && c <= 0x1CC) return 0x1C4 + (c - 0x1C4) / 3 * 3;  // Ǆ ǅ ǆ, Ǉ ǈ ǉ, Ǌ ǋ ǌ
    for (const ShiftRange& r : kShifts)
        if (c >= r.upper_lo + r.delta && c <= r.upper_hi + r.delta) return c - r.delta;
    for (const PairRange& r : kPairs)
        if (c >= r.lo && c <= r.hi && (c & 1) != r.upper_parity) return c - 1;
    switch (c) {
        case 0xFF:
            return 0x178;
        case 0xB5:
            return 0x39C;
        case 0x131:
            return 'I';
        case 0x17F:
            return 'S';
        case 0x3AC:
            return 0x386;
        case 0x3CC:
            return 0x38C;
        case 0x3C2:
            return 0x3A3;
        case 0x4CF:
            return 0x4C0;
        default:
            return c;
    }
}

uint32_t lower_cp(uint32_t c) {
    if (c >= 0x1C4 && c <= 0x1CC) return 0x1C4 + (c - 0x1C4) / 3 * 3 + 2;
    for (const ShiftRange& r : kShifts)
        if (c >= r.upper_lo && c <= r.upper_hi) return c + r.delta;
    for (const PairRange& r : kPairs)
        if (c >= r.lo && c <= r.hi && (c & 1) == r.upper_parity && c + 1 <= r.hi) return c + 1;
    switch (c) {
        case 0x178:
            return 0xFF;
        case 0x386:
            return 0x3AC;
        case 0x38C:
            return 0x3CC;
        case 0x4C0:
            return 0x4CF;
        case 0x1E9E:
            return 0xDF;
        default:
            return c;
    }
}

// Lowercase letters without an upper case: ß (upper "SS"), ĸ, and ª º (Other_Lowercase).
bool is_caseless_lower(uint32_t c) { return c == 0xDF || c == 0x138 || c == 0xAA || c == 0xBA; }
bool is_titlecase(uint32_t c) { return c == 0x1C5 || c == 0x1C8 || c == 0x1CB; }
bool is_upper_cp(uint32_t c) { return (lower_cp(c) != c && !is_titlecase(c)) || c == 0x130; }
bool is_lower_cp(uint32_t c) {
    return (upper_cp(c) != c && !is_titlecase(c)) || is_caseless_lower(c);
}
bool is_cased(uint32_t c) { return is_upper_cp(c) || is_lower_cp(c) || is_titlecase(c); }

void append_upper(std::string& out, uint32_t c) {
    if (c == 0xDF)
        out += "SS";
    else
        append_utf8(out, upper_cp(c));
}

// Title case: as upper case except ß -> Ss and the Ǆ/ǅ/ǆ digraphs -> ǅ.
void append_title(std::string& out, uint32_t c) {
    if (c == 0xDF)
        out += "Ss";
    else if (c >= 0x1C4 && c <= 0x1CC)
        append_utf8(out, upper_cp(c) + 1);
    else
        append_upper(out, c);
}

void append_lower(std::string& out, uint32_t c) {
    if (c == 0x130) {
        out += "i\xcc\x87";  // i + U+0307 COMBINING DOT ABOVE
        return;
    }
    append_utf8(out, lower_cp(c));
}

}  // namespace

std::string python_upper(std::string_view s) {
    std::string out;
    for (uint32_t c : utf8_to_codepoints(s)) append_upper(out, c);
    return out;
}

std::string python_lower(std::string_view s) {
    std::string out;
    for (uint32_t c : utf8_to_codepoints(s)) append_lower(out, c);
    return out;
}

std::string python_title(std::string_view s) {
    std::string out;
    bool prev_cased = false;
    for (uint32_t c : utf8_to_codepoints(s)) {
        if (is_cased(c)) {
            if (prev_cased)
                append_lower(out, c);
            else
                append_title(out, c);
            prev_cased = true;
        } else {
            append_utf8(out, c);
            prev_cased = false;
        }
    }
    return out;
}

std::string python_capitalize(std::string_view s) {
    std::string out;
    bool first = true;
    for (uint32_t c : utf8_to_codepoints(s)) {
        if (first)
            append_title(out, c);
        else
            append_lower(out, c);
        first = false;
    }
    return out;
}

std::string jinja_title(std::string_view s) {
    std::string out;
    bool word_start = true;
    for (uint32_t c : utf8_to_codepoints(s)) {
        if (c == '-' || c == '(' || c == '{' || c == '[' || c == '<' || is_python_space(c)) {
            append_utf8(out, c);
            word_start = true;
        } else {
            if (word_start)
                append_upper(out, c);
            else
                append_lower(out, c);
            word_start = false;
        }
    }
    return out;
}

bool python_islower(std::string_view s) {
    bool any = false;
    for (uint32_t c : utf8_to_codepoints(s)) {
        if (is_upper_cp(c)) return false;
        any = any || is_lower_cp(c);
    }
    return any;
}

bool python_isupper(std::string_view s) {
    bool any = false;
    for (uint32_t c : utf8_to_codepoints(s)) {
        if (is_lower_cp(c)) return false;
        any = any || is_upper_cp(c);
    }
    return any;
}

size_t python_len(std::string_view s) {
    size_t n = 0;
    for (size_t pos = 0; pos < s.size(); ++n) decode_utf8(s, pos);
    return n;
}

std::vector<std::string> python_chars(std::string_view s) {
    std::vector<std::string> out;
    for (size_t pos = 0; pos < s.size();) {
        const size_t start = pos;
        decode_utf8(s, pos);
        out.emplace_back(s.substr(start, pos - start));
    }
    return out;
}

// Python str.split(sep, maxsplit); sep == nullptr splits on whitespace runs.
JinjaValue::List python_split(const std::string& s, const std::string* sep, int64_t maxsplit) {
    JinjaValue::List out;
    if (sep == nullptr) {
        const std::vector<std::string> chars = python_chars(s);
        size_t i = 0;
        auto space = [&](size_t k) {
            size_t pos = 0;
            return is_python_space(decode_utf8(chars[k], pos));
        };
        while (i < chars.size()) {
            while (i < chars.size() && space(i)) ++i;
            if (i >= chars.size()) break;
            std::string word;
            if (maxsplit >= 0 && static_cast<int64_t>(out.size()) >= maxsplit) {
                for (; i < chars.size(); ++i) word += chars[i];
                out.emplace_back(python_strip(word, false, true, nullptr));
                break;
            }
            while (i < chars.size() && !space(i)) word += chars[i++];
            out.emplace_back(std::move(word));
        }
        return out;
    }
    size_t start = 0;
    while (maxsplit < 0 || static_cast<int64_t>(out.size()) < maxsplit) {
        const size_t p = s.find(*sep, start);
        if (p == std::string::npos) break;
        out.emplace_back(s.substr(start, p - start));
        start = p + sep->size();
    }
    out.emplace_back(s.substr(start));
    return out;
}

Result<std::string> python_replace(const std::string& s, const std::string& from,
                                   const std::string& to, int64_t count, size_t max_bytes) {
    std::string out;
    if (from.empty()) {
        const std::vector<std::string> chars = python_chars(s);
        int64_t done = 0;
        for (size_t i = 0; i <= chars.size(); ++i) {
            if (count < 0 || done < count) {
                out += to;
                ++done;
            }
            if (i < chars.size()) out += chars[i];
            if (out.size() > max_bytes) return too_long(max_bytes);
        }
        return out;
    }
    size_t start = 0;
    int64_t done = 0;
    while (count < 0 || done < count) {
        const size_t p = s.find(from, start);
        if (p == std::string::npos) break;
        out.append(s, start, p - start);
        out += to;
        if (out.size() > max_bytes) return too_long(max_bytes);
        start = p + from.size();
        ++done;
    }
    out.append(s, start, std::string::npos);
    return out;
}

}  // namespace unicorn::text::jinja
