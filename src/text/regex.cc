#include "text/regex.h"

#include <fmt/format.h>

#include "text/unicode.h"

namespace unicorn::text {
namespace {

constexpr int kInfinite = -1;
// {n,m} is compiled by repeating the body; beyond this the pattern is refused.
constexpr int kMaxRepeat = 64;

struct Node {
    enum class Kind { kEmpty, kClass, kConcat, kAlt, kRepeat, kLook, kBegin, kEnd, kWordBoundary };
    Kind kind = Kind::kEmpty;
    std::vector<Node> kids;
    uint32_t cls = 0;
    int min = 0;
    int max = 0;  // kInfinite for no bound
    bool greedy = true;
    bool negative = false;  // (?!...) and \B
};

bool nullable(const Node& n) {
    switch (n.kind) {
        case Node::Kind::kClass:
            return false;
        case Node::Kind::kConcat:
            for (const Node& k : n.kids)
                if (!nullable(k)) return false;
            return true;
        case Node::Kind::kAlt:
            for (const Node& k : n.kids)
                if (nullable(k)) return true;
            return false;
        case Node::Kind::kRepeat:
            return n.min == 0 || nullable(n.kids[0]);
        default:
            return true;
    }
}

using CharClass = SplitRegex::CharClass;

class Parser {
  public:
    Parser(std::string_view pattern, std::vector<CharClass>& classes)
        : cps_(utf8_to_codepoints(pattern)), classes_(classes) {}

    Result<Node> parse() {
        UNI_ASSIGN_OR_RETURN(Node n, parse_alt());
        if (pos_ != cps_.size()) return error("unbalanced ')'");
        return n;
    }

  private:
    Status error(const std::string& what) const {
        return unsupported(fmt::format("regex: {} at offset {}", what, pos_));
    }
    bool at_end() const { return pos_ >= cps_.size(); }
    uint32_t peek(size_t ahead = 0) const {
        return pos_ + ahead < cps_.size() ? cps_[pos_ + ahead] : 0;
    }
    bool eat(uint32_t c) {
        if (!at_end() && cps_[pos_] == c) {
            ++pos_;
            return true;
        }
        return false;
    }

    Result<Node> parse_alt() {
        Node alt;
        alt.kind = Node::Kind::kAlt;
        while (true) {
            UNI_ASSIGN_OR_RETURN(Node c, parse_concat());
            alt.kids.push_back(std::move(c));
            if (!eat('|')) break;
        }
        if (alt.kids.size() == 1) return std::move(alt.kids[0]);
        return alt;
    }

    Result<Node> parse_concat() {
        Node cat;
        cat.kind = Node::Kind::kConcat;
        while (!at_end() && peek() != '|' && peek() != ')') {
            UNI_ASSIGN_OR_RETURN(Node atom, parse_atom());
            UNI_ASSIGN_OR_RETURN(Node rep, parse_quantifier(std::move(atom)));
            cat.kids.push_back(std::move(rep));
        }
        if (cat.kids.size() == 1) return std::move(cat.kids[0]);
        return cat;
    }

    Result<int> parse_int() {
        int v = 0;
        bool any = false;
        while (!at_end() && peek() >= '0' && peek() <= '9') {
            v = v * 10 + static_cast<int>(peek() - '0');
            if (v > 100000) return error("repeat count too large");
            ++pos_;
            any = true;
        }
        if (!any) return error("expected a number");
        return v;
    }

    Result<Node> parse_quantifier(Node atom) {
        int lo = 0;
        int hi = 0;
        if (eat('?')) {
            lo = 0;
            hi = 1;
        } else if (eat('*')) {
            lo = 0;
            hi = kInfinite;
        } else if (eat('+')) {
            lo = 1;
            hi = kInfinite;
        } else if (peek() == '{' && peek(1) >= '0' && peek(1) <= '9') {
            ++pos_;
            UNI_ASSIGN_OR_RETURN(lo, parse_int());
            hi = lo;
            if (eat(',')) {
                hi = kInfinite;
                if (peek() != '}') {
                    UNI_ASSIGN_OR_RETURN(hi, parse_int());
                }
            }
            if (!eat('}')) return error("unterminated {n,m}");
            if (hi != kInfinite && hi < lo) return error("{n,m} with m < n");
            if (lo > kMaxRepeat || hi > kMaxRepeat) return error("repeat count above 64");
        } else {
            return atom;
        }
        Node rep;
        rep.kind = Node::Kind::kRepeat;
        rep.min = lo;
        rep.max = hi;
        if (eat('?')) rep.greedy = false;
        if (peek() == '+' || peek() == '*' || peek() == '?' || peek() == '{') {
            return error("possessive or stacked quantifier");
        }
        if (atom.kind != Node::Kind::kClass && atom.kind != Node::Kind::kConcat &&
            atom.kind != Node::Kind::kAlt && atom.kind != Node::Kind::kRepeat) {
            return error("quantifier on an assertion");
        }
        if (hi == kInfinite && nullable(atom)) return error("loop whose body can match empty");
        rep.kids.push_back(std::move(atom));
        return rep;
    }

    Node class_node(CharClass c) {
        if (icase_) fold_case(c);
        classes_.push_back(std::move(c));
        Node n;
        n.kind = Node::Kind::kClass;
        n.cls = static_cast<uint32_t>(classes_.size() - 1);
        return n;
    }

    static void fold_case(CharClass& c) {
        std::vector<std::pair<uint32_t, uint32_t>> extra;
        for (auto [a, b] : c.ranges) {
            for (uint32_t ch = std::max<uint32_t>(a, 'A'); ch <= std::min<uint32_t>(b, 'Z'); ++ch)
                extra.emplace_back(ch + 32, ch + 32);
            for (uint32_t ch = std::max<uint32_t>(a, 'a'); ch <= std::min<uint32_t>(b, 'z'); ++ch)
                extra.emplace_back(ch - 32, ch - 32);
        }
        c.ranges.insert(c.ranges.end(), extra.begin(), extra.end());
    }

    Result<Node> parse_group() {
        // After '('.
        bool saved_icase = icase_;
        Node look;
        bool is_look = false;
        if (eat('?')) {
            if (eat(':')) {
            } else if (eat('=') || (peek() == '!' && eat('!'))) {
                is_look = true;
                look.kind = Node::Kind::kLook;
                look.negative = cps_[pos_ - 1] == '!';
            } else if (peek() == 'i' && peek(1) == ':') {
                pos_ += 2;
                icase_ = true;
            } else {
                return error("unsupported group kind");
            }
        }
        UNI_ASSIGN_OR_RETURN(Node inner, parse_alt());
        icase_ = saved_icase;
        if (!eat(')')) return error("missing ')'");
        if (!is_look) return inner;
        look.kids.push_back(std::move(inner));
        return look;
    }

    // \p{Name} after "\p" or "\P"; returns the flag bits.
    Result<uint8_t> parse_property() {
        if (!eat('{')) return error("expected '{' after \\p");
        std::string name;
        while (!at_end() && peek() != '}') name.push_back(static_cast<char>(cps_[pos_++]));
        if (!eat('}')) return error("unterminated \\p{");
        if (name == "L" || name == "Lu" || name == "Ll" || name == "Lt" || name == "Lm" ||
            name == "Lo")
            return kCatLetter;
        if (name == "N") return kCatNumber;
        if (name == "P") return kCatPunct;
        if (name == "S") return kCatSymbol;
        if (name == "M") return kCatMark;
        if (name == "Z") return kCatSeparator;
        if (name == "C") return kCatOther;
        return error("unsupported property \\p{" + name + "}");
    }

    Result<uint32_t> parse_hex(int digits) {
        uint32_t v = 0;
        for (int i = 0; i < digits; ++i) {
            const uint32_t c = peek();
            uint32_t d = 0;
            if (c >= '0' && c <= '9')
                d = c - '0';
            else if (c >= 'a' && c <= 'f')
                d = c - 'a' + 10;
            else if (c >= 'A' && c <= 'F')
                d = c - 'A' + 10;
            else
                return error("bad hex escape");
            v = v * 16 + d;
            ++pos_;
        }
        return v;
    }

    // An escape after '\' that denotes one character, or -1 (not consumed) if it is a class
    // escape.
    Result<int64_t> parse_char_escape() {
        const uint32_t c = peek();
        switch (c) {
            case 'r':
                ++pos_;
                return int64_t{'\r'};
            case 'n':
                ++pos_;
                return int64_t{'\n'};
            case 't':
                ++pos_;
                return int64_t{'\t'};
            case 'f':
                ++pos_;
                return int64_t{'\f'};
            case 'v':
                ++pos_;
                return int64_t{'\v'};
            case '0':
                ++pos_;
                return int64_t{0};
            case 'u': {
                ++pos_;
                UNI_ASSIGN_OR_RETURN(uint32_t v, parse_hex(4));
                return int64_t{v};
            }
            case 'x': {
                ++pos_;
                UNI_ASSIGN_OR_RETURN(uint32_t v, parse_hex(2));
                return int64_t{v};
            }
            default:
                break;
        }
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
            return int64_t{-1};
        ++pos_;
        return int64_t{c};  // an escaped punctuation character stands for itself
    }

    // Adds a class escape (\s \d \w \p{..} and negations) to `c`; false if `e` is not one.
    Result<bool> add_class_escape(CharClass& c, bool in_class) {
        const uint32_t e = peek();
        switch (e) {
            case 's':
                ++pos_;
                c.cats |= kWhitespace;
                return true;
            case 'S':
                ++pos_;
                c.not_cats |= kWhitespace;
                return true;
            case 'd':
                ++pos_;
                c.ranges.emplace_back('0', '9');
                return true;
            case 'w':
                ++pos_;
                c.ranges.emplace_back('0', '9');
                c.ranges.emplace_back('A', 'Z');
                c.ranges.emplace_back('a', 'z');
                c.ranges.emplace_back('_', '_');
                return true;
            case 'p': {
                ++pos_;
                UNI_ASSIGN_OR_RETURN(uint8_t f, parse_property());
                c.cats |= f;
                return true;
            }
            case 'P': {
                ++pos_;
                UNI_ASSIGN_OR_RETURN(uint8_t f, parse_property());
                c.not_cats |= f;
                return true;
            }
            case 'D':
            case 'W':
                if (in_class) return error("\\D or \\W inside a class");
                ++pos_;
                c.negated = true;
                c.ranges.emplace_back('0', '9');
                if (e == 'W') {
                    c.ranges.emplace_back('A', 'Z');
                    c.ranges.emplace_back('a', 'z');
                    c.ranges.emplace_back('_', '_');
                }
                return true;
            default:
                return false;
        }
    }

    Result<Node> parse_class() {
        // After '['.
        CharClass c;
        if (eat('^')) c.negated = true;
        bool first = true;
        while (true) {
            if (at_end()) return error("unterminated '['");
            if (peek() == ']' && !first) {
                ++pos_;
                break;
            }
            first = false;
            uint32_t lo = 0;
            if (eat('\\')) {
                UNI_ASSIGN_OR_RETURN(bool was_class, add_class_escape(c, true));
                if (was_class) continue;
                UNI_ASSIGN_OR_RETURN(int64_t ch, parse_char_escape());
                if (ch < 0) return error("unsupported escape in class");
                lo = static_cast<uint32_t>(ch);
            } else {
                lo = cps_[pos_++];
            }
            uint32_t hi = lo;
            if (peek() == '-' && peek(1) != ']' && pos_ + 1 < cps_.size()) {
                ++pos_;
                if (eat('\\')) {
                    UNI_ASSIGN_OR_RETURN(int64_t ch, parse_char_escape());
                    if (ch < 0) return error("bad range end");
                    hi = static_cast<uint32_t>(ch);
                } else {
                    hi = cps_[pos_++];
                }
                if (hi < lo) return error("reversed range");
            }
            c.ranges.emplace_back(lo, hi);
        }
        return class_node(std::move(c));
    }

    Result<Node> parse_atom() {
        const uint32_t c = cps_[pos_++];
        Node n;
        switch (c) {
            case '(':
                return parse_group();
            case '[':
                return parse_class();
            case '.': {
                CharClass any;
                any.negated = true;
                any.ranges = {{'\n', '\n'}, {'\r', '\r'}, {0x2028, 0x2029}};
                return class_node(std::move(any));
            }
            case '^':
                n.kind = Node::Kind::kBegin;
                return n;
            case '$':
                n.kind = Node::Kind::kEnd;
                return n;
            case '*':
            case '+':
            case '?':
            case '{':
                --pos_;
                return error("quantifier without operand");
            case '\\': {
                if (at_end()) return error("trailing backslash");
                if (peek() == 'b' || peek() == 'B') {
                    n.kind = Node::Kind::kWordBoundary;
                    n.negative = cps_[pos_++] == 'B';
                    return n;
                }
                CharClass cls;
                UNI_ASSIGN_OR_RETURN(bool was_class, add_class_escape(cls, false));
                if (was_class) {
                    // \S alone is "not whitespace"; not_cats alone already says that.
                    return class_node(std::move(cls));
                }
                UNI_ASSIGN_OR_RETURN(int64_t ch, parse_char_escape());
                if (ch < 0) return error("unsupported escape");
                cls.ranges.emplace_back(static_cast<uint32_t>(ch), static_cast<uint32_t>(ch));
                return class_node(std::move(cls));
            }
            default: {
                CharClass lit;
                lit.ranges.emplace_back(c, c);
                return class_node(std::move(lit));
            }
        }
    }

    std::vector<uint32_t> cps_;
    size_t pos_ = 0;
    bool icase_ = false;
    std::vector<CharClass>& classes_;
};

using Inst = SplitRegex::Inst;
using Op = SplitRegex::Op;

class Emitter {
  public:
    explicit Emitter(std::vector<Inst>& prog) : prog_(prog) {}

    void emit(const Node& n) {
        switch (n.kind) {
            case Node::Kind::kEmpty:
                break;
            case Node::Kind::kClass:
                add(Op::kClass, n.cls);
                break;
            case Node::Kind::kConcat:
                for (const Node& k : n.kids) emit(k);
                break;
            case Node::Kind::kAlt: {
                std::vector<size_t> jumps;
                for (size_t i = 0; i < n.kids.size(); ++i) {
                    if (i + 1 < n.kids.size()) {
                        const size_t split = add(Op::kSplit);
                        prog_[split].x = here();
                        emit(n.kids[i]);
                        jumps.push_back(add(Op::kJmp));
                        prog_[split].y = here();
                    } else {
                        emit(n.kids[i]);
                    }
                }
                for (size_t j : jumps) prog_[j].x = here();
                break;
            }
            case Node::Kind::kRepeat:
                emit_repeat(n);
                break;
            case Node::Kind::kLook: {
                const size_t look = add(Op::kLookahead, 0, n.negative ? 1 : 0);
                emit(n.kids[0]);
                add(Op::kMatch);
                prog_[look].x = here();
                break;
            }
            case Node::Kind::kBegin:
                add(Op::kBegin);
                break;
            case Node::Kind::kEnd:
                add(Op::kEnd);
                break;
            case Node::Kind::kWordBoundary:
                add(Op::kWordBoundary, n.negative ? 1 : 0);
                break;
        }
    }

  private:
    uint32_t here() const { return static_cast<uint32_t>(prog_.size()); }
    size_t add(Op op, uint32_t x = 0, uint32_t y = 0) {
        prog_.push_back(Inst{op, x, y});
        return prog_.size() - 1;
    }
    // A split that prefers `first` when greedy.
    void set_split(size_t at, uint32_t body, uint32_t skip, bool greedy) {
        prog_[at].x = greedy ? body : skip;
        prog_[at].y = greedy ? skip : body;
    }

    void emit_repeat(const Node& n) {
        const Node& body = n.kids[0];
        for (int i = 0; i < n.min; ++i) emit(body);
        if (n.max == kInfinite) {
            // L: split(B, out); B: body; jmp L; out:
            const size_t loop = add(Op::kSplit);
            const uint32_t b = here();
            emit(body);
            add(Op::kJmp, static_cast<uint32_t>(loop));
            set_split(loop, b, here(), n.greedy);
            return;
        }
        // Nested optionals: split(B1, out); B1: body; split(B2, out); B2: body; ... out:
        std::vector<size_t> splits;
        for (int i = n.min; i < n.max; ++i) {
            splits.push_back(add(Op::kSplit));
            prog_[splits.back()].x = here();
            emit(body);
        }
        for (size_t s : splits) set_split(s, prog_[s].x, here(), n.greedy);
    }

    std::vector<Inst>& prog_;
};

bool is_word(const uint32_t* cps, size_t begin, size_t end, size_t i) {
    if (i < begin || i >= end) return false;
    const uint32_t c = cps[i];
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

}  // namespace

bool SplitRegex::CharClass::matches(uint32_t cp) const {
    bool hit = false;
    const uint8_t f = codepoint_flags(cp);
    if ((f & cats) != 0 || (not_cats != 0 && (f & not_cats) != not_cats)) {
        hit = true;
    } else {
        for (const auto& [lo, hi] : ranges) {
            if (cp >= lo && cp <= hi) {
                hit = true;
                break;
            }
        }
    }
    return hit != negated;
}

Result<SplitRegex> SplitRegex::compile(std::string_view pattern) {
    SplitRegex re;
    re.pattern_ = std::string(pattern);
    Parser parser(pattern, re.classes_);
    auto root = parser.parse();
    if (!root.ok()) return root.status().with_context(fmt::format("pattern '{}'", pattern));
    if (nullable(*root)) {
        return unsupported(fmt::format("pattern '{}' can match the empty string", pattern));
    }
    Emitter(re.prog_).emit(*root);
    re.prog_.push_back(Inst{Op::kMatch});
    return re;
}

bool SplitRegex::run(size_t pc, const uint32_t* cps, size_t begin, size_t end, size_t pos,
                     size_t& out_end) const {
    std::vector<std::pair<uint32_t, size_t>> backtrack;
    while (true) {
        const Inst& in = prog_[pc];
        bool ok = true;
        switch (in.op) {
            case Op::kClass:
                ok = pos < end && classes_[in.x].matches(cps[pos]);
                if (ok) {
                    ++pos;
                    ++pc;
                }
                break;
            case Op::kSplit:
                backtrack.emplace_back(in.y, pos);
                pc = in.x;
                break;
            case Op::kJmp:
                pc = in.x;
                break;
            case Op::kMatch:
                out_end = pos;
                return true;
            case Op::kLookahead: {
                size_t ignored = 0;
                const bool found = run(pc + 1, cps, begin, end, pos, ignored);
                ok = found != (in.y != 0);
                if (ok) pc = in.x;
                break;
            }
            case Op::kBegin:
                ok = pos == begin;
                ++pc;
                break;
            case Op::kEnd:
                ok = pos == end;
                ++pc;
                break;
            case Op::kWordBoundary: {
                const bool boundary = (pos > begin && is_word(cps, begin, end, pos - 1)) !=
                                      is_word(cps, begin, end, pos);
                ok = boundary != (in.x != 0);
                ++pc;
                break;
            }
        }
        if (!ok) {
            if (backtrack.empty()) return false;
            pc = backtrack.back().first;
            pos = backtrack.back().second;
            backtrack.pop_back();
        }
    }
}

bool SplitRegex::search(const uint32_t* cps, size_t begin, size_t end, size_t from,
                        size_t& match_begin, size_t& match_end) const {
    for (size_t s = from; s < end; ++s) {
        size_t e = 0;
        if (run(0, cps, begin, end, s, e)) {
            match_begin = s;
            match_end = e;
            return true;
        }
    }
    return false;
}

std::vector<size_t> SplitRegex::split(const std::vector<uint32_t>& cps,
                                      const std::vector<size_t>& pieces) const {
    std::vector<size_t> out;
    out.reserve(pieces.size() * 2);
    size_t start = 0;
    for (size_t len : pieces) {
        const size_t begin = start;
        const size_t end = start + len;
        start = end;
        size_t pos = begin;
        size_t mb = 0;
        size_t me = 0;
        while (pos < end && search(cps.data(), begin, end, pos, mb, me)) {
            if (mb > pos) out.push_back(mb - pos);
            out.push_back(me - mb);
            pos = me;
        }
        if (pos < end) out.push_back(end - pos);
    }
    return out;
}

}  // namespace unicorn::text
