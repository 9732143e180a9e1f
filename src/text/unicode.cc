#include "text/unicode.h"

#include <array>
#include <cstdio>

namespace unicorn::text {
namespace {

#include "text/unicode_tables.inc"

// One byte of flags per codepoint (1.1 MB), expanded once from the range table: the
// pre-tokenizers ask for every codepoint of every prompt.
const std::vector<uint8_t>& flag_table() {
    static const std::vector<uint8_t> table = [] {
        std::vector<uint8_t> t(kMaxCodepoint + 1, 0);
        constexpr size_t n = sizeof(kUnicodeRanges) / sizeof(kUnicodeRanges[0]);
        for (size_t i = 0; i < n; ++i) {
            const uint32_t end = i + 1 < n ? kUnicodeRanges[i + 1].first : kMaxCodepoint + 1;
            for (uint32_t cp = kUnicodeRanges[i].first; cp < end; ++cp)
                t[cp] = kUnicodeRanges[i].flags;
        }
        return t;
    }();
    return table;
}

bool is_continuation(uint8_t b) { return (b & 0xC0) == 0x80; }

struct ByteAlphabet {
    std::array<std::string, 256> byte_to_utf8;
    std::array<int16_t, 512> cp_to_byte{};  // every mapped codepoint is below 0x144
};

// GPT-2 bytes_to_unicode: printable Latin-1 bytes map to themselves, the other 68 bytes to
// U+0100.. in byte order.
const ByteAlphabet& byte_alphabet() {
    static const ByteAlphabet alphabet = [] {
        ByteAlphabet a;
        a.cp_to_byte.fill(-1);
        int next = 256;
        for (int b = 0; b < 256; ++b) {
            const bool printable =
                (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
            const int cp = printable ? b : next++;
            append_utf8(a.byte_to_utf8[b], static_cast<uint32_t>(cp));
            a.cp_to_byte[cp] = static_cast<int16_t>(b);
        }
        return a;
    }();
    return alphabet;
}

}  // namespace

uint8_t codepoint_flags(uint32_t cp) { return cp <= kMaxCodepoint ? flag_table()[cp] : 0; }

std::string unicode_version() {
    char buf[16];
    std::snprintf(buf, sizeof(buf), "%u.%u.%u", (kUnicodeVersionTag >> 16) & 0xFF,
                  (kUnicodeVersionTag >> 8) & 0xFF, kUnicodeVersionTag & 0xFF);
    return buf;
}

size_t utf8_sequence_length(uint8_t lead) {
    static constexpr size_t kLookup[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
    return kLookup[lead >> 4];
}

uint32_t decode_utf8(std::string_view s, size_t& pos) {
    const auto at = [&](size_t i) { return static_cast<uint8_t>(s[i]); };
    const uint8_t c = at(pos);
    if (c < 0x80) {
        pos += 1;
        return c;
    }
    size_t n = 0;
    uint32_t cp = 0;
    if ((c & 0xE0) == 0xC0) {
        n = 2;
        cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
        n = 3;
        cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
        n = 4;
        cp = c & 0x07;
    }
    // Like llama.cpp, overlong forms and surrogates decode to their value; only the shape of
    // the sequence is checked.
    if (n == 0 || pos + n > s.size()) {
        pos += 1;
        return kReplacementChar;
    }
    for (size_t i = 1; i < n; ++i) {
        if (!is_continuation(at(pos + i))) {
            pos += 1;
            return kReplacementChar;
        }
        cp = (cp << 6) | (at(pos + i) & 0x3F);
    }
    if (cp > kMaxCodepoint) {
        pos += 1;
        return kReplacementChar;
    }
    pos += n;
    return cp;
}

std::vector<uint32_t> utf8_to_codepoints(std::string_view s) {
    std::vector<uint32_t> out;
    out.reserve(s.size());
    for (size_t pos = 0; pos < s.size();) out.push_back(decode_utf8(s, pos));
    return out;
}

void append_utf8(std::string& out, uint32_t cp) {
    if (cp > kMaxCodepoint) cp = kReplacementChar;
    if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
}

namespace {

// Length of the well-formed UTF-8 sequence at s[pos] (Unicode Table 3-7), 0 when ill-formed,
// or -1 when the bytes so far are a valid but truncated prefix.
int well_formed_length(std::string_view s, size_t pos) {
    const auto at = [&](size_t i) { return static_cast<uint8_t>(s[i]); };
    const uint8_t c = at(pos);
    if (c < 0x80) return 1;
    int n = 0;
    uint8_t lo = 0x80;
    uint8_t hi = 0xBF;  // allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else {
        return 0;
    }
    for (int i = 1; i < n; ++i) {
        if (pos + i >= s.size()) return -1;
        const uint8_t b = at(pos + i);
        if (i == 1 ? (b < lo || b > hi) : !is_continuation(b)) return 0;
    }
    return n;
}

}  // namespace

size_t utf8_complete_prefix(std::string_view s) {
    size_t pos = 0;
    while (pos < s.size()) {
        const int n = well_formed_length(s, pos);
        if (n < 0) return pos;  // a sequence more bytes can complete
        pos += n == 0 ? 1 : static_cast<size_t>(n);
    }
    return pos;
}

bool is_valid_utf8(std::string_view s) {
    for (size_t pos = 0; pos < s.size();) {
        const int n = well_formed_length(s, pos);
        if (n <= 0) return false;
        pos += static_cast<size_t>(n);
    }
    return true;
}

std::string sanitize_utf8(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (size_t pos = 0; pos < s.size();) {
        const int n = well_formed_length(s, pos);
        if (n > 0) {
            out.append(s.substr(pos, static_cast<size_t>(n)));
            pos += static_cast<size_t>(n);
            continue;
        }
        append_utf8(out, kReplacementChar);
        // Skip the maximal ill-formed subpart: the lead byte and any continuation bytes that
        // were accepted before the sequence broke off.
        size_t skip = 1;
        while (pos + skip < s.size() && skip < 4 &&
               is_continuation(static_cast<uint8_t>(s[pos + skip])) &&
               well_formed_length(s.substr(0, pos + skip + 1), pos) == -1) {
            ++skip;
        }
        if (n < 0) skip = s.size() - pos;  // truncated at the very end
        pos += skip;
    }
    return out;
}

const std::string& byte_to_unicode(uint8_t b) { return byte_alphabet().byte_to_utf8[b]; }

int unicode_to_byte(uint32_t cp) { return cp < 512 ? byte_alphabet().cp_to_byte[cp] : -1; }

}  // namespace unicorn::text
