// Recursive descent over the token stream, one function per jinja2 grammar level (parser.py):
// condexpr > or > and > not > compare > + - > ~ > * / // % > ** > unary - + > primary, postfix
// (.attr, [item], call) and filters/tests (| f, is t), which bind tighter than any binary
// operator: `'a' + x | trim` is `'a' + (x | trim)`.
#include "text/jinja_parser.h"

#include <fmt/format.h>

#include <set>

namespace unicorn::text::jinja {
namespace {

class Parser {
  public:
    Parser(const std::vector<Token>& tokens, const SourceMap& map, size_t max_depth)
        : toks_(tokens), map_(map), max_depth_(max_depth) {}

    Result<Body> run() {
        Body body;
        std::string stop;
        UNI_RETURN_IF_ERROR(parse_body({}, body, stop));
        return body;
    }

  private:
    // Nesting guard: every statement body and every unary/primary level counts one.
    struct DepthGuard {
        explicit DepthGuard(Parser& p) : p_(p) { ++p_.depth_; }
        ~DepthGuard() { --p_.depth_; }
        DepthGuard(const DepthGuard&) = delete;
        DepthGuard& operator=(const DepthGuard&) = delete;
        Parser& p_;
    };

    const Token& cur() const { return toks_[pos_]; }
    const Token& peek(size_t n = 1) const { return toks_[std::min(pos_ + n, toks_.size() - 1)]; }
    void advance() {
        if (pos_ + 1 < toks_.size()) ++pos_;
    }
    bool is_op(const char* op) const { return cur().kind == TokKind::kOp && cur().text == op; }
    bool is_name(const char* name) const {
        return cur().kind == TokKind::kName && cur().text == name;
    }

    static std::string describe(const Token& t) {
        switch (t.kind) {
            case TokKind::kEof:
                return "end of template";
            case TokKind::kVarEnd:
                return "'}}'";
            case TokKind::kBlockEnd:
                return "'%}'";
            case TokKind::kString:
                return "string literal";
            case TokKind::kData:
                return "template text";
            default:
                return "'" + t.text + "'";
        }
    }

    Status error_at(uint32_t offset, const std::string& msg) const {
        return invalid_argument(
            fmt::format("chat template syntax error at {}: {}", map_.where(offset), msg));
    }
    Status error(const std::string& msg) const { return error_at(cur().offset, msg); }
    Status unexpected(const std::string& expected) const {
        return error(fmt::format("expected {}, got {}", expected, describe(cur())));
    }
    Status check_depth() const {
        if (depth_ > max_depth_)
            return error(fmt::format("nested deeper than {} levels", max_depth_));
        return ok_status();
    }

    Status expect_op(const char* op) {
        if (!is_op(op)) return unexpected(fmt::format("'{}'", op));
        advance();
        return ok_status();
    }
    Status expect_block_end() {
        if (cur().kind != TokKind::kBlockEnd) return unexpected("'%}'");
        advance();
        return ok_status();
    }
    Result<std::string> expect_name(const char* what) {
        if (cur().kind != TokKind::kName) return unexpected(what);
        std::string n = cur().text;
        advance();
        return n;
    }

    // ---- statements ----

    // Parses until EOF (stop empty) or a `{% name` with name in `stop`; then the stream is at that
    // name, and `stop_found` holds it.
    Status parse_body(const std::set<std::string>& stop, Body& body, std::string& stop_found) {
        DepthGuard guard(*this);
        UNI_RETURN_IF_ERROR(check_depth());
        while (true) {
            const Token& t = cur();
            if (t.kind == TokKind::kEof) {
                if (stop.empty()) return ok_status();
                return error(
                    fmt::format("unexpected end of template, expected '{}'", *stop.rbegin()));
            }
            if (t.kind == TokKind::kData) {
                auto n = std::make_unique<Node>();
                n->kind = NodeKind::kText;
                n->offset = t.offset;
                n->text = t.text;
                body.push_back(std::move(n));
                advance();
                continue;
            }
            if (t.kind == TokKind::kVarBegin) {
                auto n = std::make_unique<Node>();
                n->kind = NodeKind::kOutput;
                n->offset = t.offset;
                advance();
                UNI_ASSIGN_OR_RETURN(n->expr, parse_tuple(false));
                if (cur().kind != TokKind::kVarEnd) return unexpected("'}}'");
                advance();
                body.push_back(std::move(n));
                continue;
            }
            if (t.kind != TokKind::kBlockBegin) return unexpected("a tag or text");
            advance();
            if (cur().kind != TokKind::kName) return unexpected("a tag name");
            const std::string name = cur().text;
            if (stop.count(name)) {
                stop_found = name;
                return ok_status();
            }
            UNI_ASSIGN_OR_RETURN(NodePtr n, parse_statement(name));
            body.push_back(std::move(n));
        }
    }

    Result<NodePtr> parse_statement(const std::string& name) {
        const uint32_t at = cur().offset;
        if (name == "if") return parse_if();
        if (name == "for") return parse_for();
        if (name == "set") return parse_set();
        if (name == "macro") return parse_macro();
        if ((name == "break" || name == "continue") && loop_depth_ == 0)
            return error(fmt::format("'{}' outside a loop", name));
        if (name == "break" || name == "continue" || name == "generation") {
            advance();
            UNI_RETURN_IF_ERROR(expect_block_end());
            auto n = std::make_unique<Node>();
            n->offset = at;
            if (name == "generation") {
                n->kind = NodeKind::kScope;
                std::string stop;
                UNI_RETURN_IF_ERROR(parse_body({"endgeneration"}, n->body, stop));
                advance();
                UNI_RETURN_IF_ERROR(expect_block_end());
            } else {
                n->kind = name == "break" ? NodeKind::kBreak : NodeKind::kContinue;
            }
            return n;
        }
        static const std::set<std::string> kUnsupported = {
            "include", "import", "from",       "extends", "block", "call",
            "filter",  "with",   "autoescape", "do",      "trans"};
        if (kUnsupported.count(name))
            return error(fmt::format("the '{}' tag is not supported in chat templates", name));
        if (name.rfind("end", 0) == 0 || name == "elif" || name == "else")
            return error(fmt::format("unexpected '{}' (no open block it could close)", name));
        return error(fmt::format("unknown tag '{}'", name));
    }

    Result<NodePtr> parse_if() {
        auto n = std::make_unique<Node>();
        n->kind = NodeKind::kIf;
        n->offset = cur().offset;
        advance();  // if
        while (true) {
            UNI_ASSIGN_OR_RETURN(ExprPtr cond, parse_tuple(false, /*with_condexpr=*/false));
            UNI_RETURN_IF_ERROR(expect_block_end());
            Body body;
            std::string stop;
            UNI_RETURN_IF_ERROR(parse_body({"elif", "else", "endif"}, body, stop));
            advance();  // the stop name
            n->branches.emplace_back(std::move(cond), std::move(body));
            if (stop == "elif") continue;
            if (stop == "else") {
                UNI_RETURN_IF_ERROR(expect_block_end());
                UNI_RETURN_IF_ERROR(parse_body({"endif"}, n->else_body, stop));
                advance();
            }
            UNI_RETURN_IF_ERROR(expect_block_end());
            return n;
        }
    }

    // Assignment targets: `a`, `a, b`, `(a, b)`.
    Status parse_targets(std::vector<std::string>& targets) {
        const bool paren = is_op("(");
        if (paren) advance();
        while (true) {
            UNI_ASSIGN_OR_RETURN(std::string t, expect_name("a variable name"));
            targets.push_back(std::move(t));
            if (!is_op(",")) break;
            advance();
            if (paren && is_op(")")) break;
        }
        if (paren) UNI_RETURN_IF_ERROR(expect_op(")"));
        return ok_status();
    }

    Result<NodePtr> parse_for() {
        auto n = std::make_unique<Node>();
        n->kind = NodeKind::kFor;
        n->offset = cur().offset;
        advance();  // for
        UNI_RETURN_IF_ERROR(parse_targets(n->targets));
        if (!is_name("in")) return unexpected("'in'");
        advance();
        UNI_ASSIGN_OR_RETURN(n->expr, parse_tuple(false, /*with_condexpr=*/false));
        if (is_name("if")) {
            advance();
            UNI_ASSIGN_OR_RETURN(n->cond, parse_expression());
        }
        if (is_name("recursive")) return error("recursive loops are not supported");
        UNI_RETURN_IF_ERROR(expect_block_end());
        std::string stop;
        ++loop_depth_;
        Status body = parse_body({"else", "endfor"}, n->body, stop);
        --loop_depth_;
        UNI_RETURN_IF_ERROR(body);
        advance();
        if (stop == "else") {
            UNI_RETURN_IF_ERROR(expect_block_end());
            // The else branch runs outside the loop: break/continue there are errors.
            const size_t saved = loop_depth_;
            loop_depth_ = 0;
            Status else_body = parse_body({"endfor"}, n->else_body, stop);
            loop_depth_ = saved;
            UNI_RETURN_IF_ERROR(else_body);
            advance();
        }
        UNI_RETURN_IF_ERROR(expect_block_end());
        return n;
    }

    Result<NodePtr> parse_set() {
        auto n = std::make_unique<Node>();
        n->offset = cur().offset;
        advance();  // set
        if (cur().kind == TokKind::kName && peek().kind == TokKind::kOp && peek().text == "." &&
            peek(2).kind == TokKind::kName) {
            n->targets.push_back(cur().text);
            n->attr = peek(2).text;
            advance();
            advance();
            advance();
        } else {
            UNI_RETURN_IF_ERROR(parse_targets(n->targets));
        }
        if (is_op("=")) {
            advance();
            n->kind = NodeKind::kSet;
            UNI_ASSIGN_OR_RETURN(n->expr, parse_tuple(false));
            UNI_RETURN_IF_ERROR(expect_block_end());
            return n;
        }
        if (n->targets.size() != 1 || !n->attr.empty())
            return unexpected("'=' (a block set takes one variable name)");
        n->kind = NodeKind::kSetBlock;
        if (is_op("|")) return error("filters on a block set are not supported");
        UNI_RETURN_IF_ERROR(expect_block_end());
        std::string stop;
        UNI_RETURN_IF_ERROR(parse_body({"endset"}, n->body, stop));
        advance();
        UNI_RETURN_IF_ERROR(expect_block_end());
        return n;
    }

    Result<NodePtr> parse_macro() {
        auto n = std::make_unique<Node>();
        n->kind = NodeKind::kMacro;
        n->offset = cur().offset;
        advance();  // macro
        UNI_ASSIGN_OR_RETURN(n->text, expect_name("a macro name"));
        UNI_RETURN_IF_ERROR(expect_op("("));
        while (!is_op(")")) {
            if (!n->params.empty()) UNI_RETURN_IF_ERROR(expect_op(","));
            if (is_op(")")) break;
            UNI_ASSIGN_OR_RETURN(std::string p, expect_name("a parameter name"));
            ExprPtr def;
            if (is_op("=")) {
                advance();
                UNI_ASSIGN_OR_RETURN(def, parse_expression());
            } else if (!n->params.empty() && n->params.back().second) {
                return error("a parameter without a default follows one with a default");
            }
            n->params.emplace_back(std::move(p), std::move(def));
        }
        advance();  // )
        UNI_RETURN_IF_ERROR(expect_block_end());
        std::string stop;
        const size_t saved = loop_depth_;
        loop_depth_ = 0;  // a macro body is not inside the loop it is defined in
        Status body = parse_body({"endmacro"}, n->body, stop);
        loop_depth_ = saved;
        UNI_RETURN_IF_ERROR(body);
        advance();
        if (cur().kind == TokKind::kName) advance();  // {% endmacro name %}
        UNI_RETURN_IF_ERROR(expect_block_end());
        return n;
    }

    // ---- expressions ----

    ExprPtr make(ExprKind kind, uint32_t offset) {
        auto e = std::make_unique<Expr>();
        e->kind = kind;
        e->offset = offset;
        return e;
    }

    bool at_tuple_end() const {
        const Token& t = cur();
        return t.kind == TokKind::kVarEnd || t.kind == TokKind::kBlockEnd ||
               t.kind == TokKind::kEof || (t.kind == TokKind::kOp && t.text == ")") ||
               (t.kind == TokKind::kName &&
                (t.text == "in" || t.text == "recursive" || (t.text == "if" && for_iter_)));
    }

    // An expression or a bare tuple `a, b` (jinja2 parse_tuple).
    Result<ExprPtr> parse_tuple(bool explicit_parens, bool with_condexpr = true) {
        const uint32_t at = cur().offset;
        std::vector<ExprPtr> items;
        bool is_tuple = false;
        const bool saved_for_iter = for_iter_;
        for_iter_ = !with_condexpr;
        while (true) {
            if (!items.empty()) UNI_RETURN_IF_ERROR(expect_op(","));
            if (!items.empty() || explicit_parens)
                if (at_tuple_end()) break;
            ExprPtr e;
            if (with_condexpr) {
                UNI_ASSIGN_OR_RETURN(e, parse_expression());
            } else {
                UNI_ASSIGN_OR_RETURN(e, parse_or());
            }
            items.push_back(std::move(e));
            if (!is_op(",")) break;
            is_tuple = true;
        }
        for_iter_ = saved_for_iter;
        if (!is_tuple && items.size() == 1) return std::move(items[0]);
        if (items.empty() && !explicit_parens) return unexpected("an expression");
        ExprPtr t = make(ExprKind::kTuple, at);
        t->args = std::move(items);
        return t;
    }

    Result<ExprPtr> parse_expression() {
        DepthGuard guard(*this);
        UNI_RETURN_IF_ERROR(check_depth());
        UNI_ASSIGN_OR_RETURN(ExprPtr e, parse_or());
        while (is_name("if")) {
            const uint32_t at = cur().offset;
            advance();
            UNI_ASSIGN_OR_RETURN(ExprPtr cond, parse_or());
            ExprPtr other;
            if (is_name("else")) {
                advance();
                UNI_ASSIGN_OR_RETURN(other, parse_expression());
            }
            ExprPtr c = make(ExprKind::kCond, at);
            c->args.push_back(std::move(cond));
            c->args.push_back(std::move(e));
            c->args.push_back(std::move(other));
            e = std::move(c);
        }
        return e;
    }

    Result<ExprPtr> parse_or() {
        UNI_ASSIGN_OR_RETURN(ExprPtr left, parse_and());
        while (is_name("or")) {
            const uint32_t at = cur().offset;
            advance();
            UNI_ASSIGN_OR_RETURN(ExprPtr right, parse_and());
            ExprPtr e = make(ExprKind::kOr, at);
            e->args.push_back(std::move(left));
            e->args.push_back(std::move(right));
            left = std::move(e);
        }
        return left;
    }

    Result<ExprPtr> parse_and() {
        UNI_ASSIGN_OR_RETURN(ExprPtr left, parse_not());
        while (is_name("and")) {
            const uint32_t at = cur().offset;
            advance();
            UNI_ASSIGN_OR_RETURN(ExprPtr right, parse_not());
            ExprPtr e = make(ExprKind::kAnd, at);
            e->args.push_back(std::move(left));
            e->args.push_back(std::move(right));
            left = std::move(e);
        }
        return left;
    }

    Result<ExprPtr> parse_not() {
        if (is_name("not")) {
            DepthGuard guard(*this);
            UNI_RETURN_IF_ERROR(check_depth());
            ExprPtr e = make(ExprKind::kNot, cur().offset);
            advance();
            UNI_ASSIGN_OR_RETURN(ExprPtr operand, parse_not());
            e->args.push_back(std::move(operand));
            return e;
        }
        return parse_compare();
    }

    Result<ExprPtr> parse_compare() {
        const uint32_t at = cur().offset;
        UNI_ASSIGN_OR_RETURN(ExprPtr first, parse_math1());
        ExprPtr cmp;
        while (true) {
            CmpOp op;
            if (is_op("==")) {
                op = CmpOp::kEq;
            } else if (is_op("!=")) {
                op = CmpOp::kNe;
            } else if (is_op("<")) {
                op = CmpOp::kLt;
            } else if (is_op("<=")) {
                op = CmpOp::kLe;
            } else if (is_op(">")) {
                op = CmpOp::kGt;
            } else if (is_op(">=")) {
                op = CmpOp::kGe;
            } else if (is_name("in")) {
                op = CmpOp::kIn;
            } else if (is_name("not") && peek().kind == TokKind::kName && peek().text == "in") {
                op = CmpOp::kNotIn;
                advance();
            } else {
                break;
            }
            advance();
            if (!cmp) {
                cmp = make(ExprKind::kCompare, at);
                cmp->args.push_back(std::move(first));
            }
            UNI_ASSIGN_OR_RETURN(ExprPtr right, parse_math1());
            cmp->cmp_ops.push_back(op);
            cmp->args.push_back(std::move(right));
        }
        if (cmp) return cmp;
        return first;
    }

    Result<ExprPtr> binary(ExprPtr left, BinOp op, ExprPtr right, uint32_t at) {
        ExprPtr e = make(ExprKind::kBinary, at);
        e->bin_op = op;
        e->args.push_back(std::move(left));
        e->args.push_back(std::move(right));
        return e;
    }

    Result<ExprPtr> parse_math1() {
        UNI_ASSIGN_OR_RETURN(ExprPtr left, parse_concat());
        while (is_op("+") || is_op("-")) {
            const BinOp op = is_op("+") ? BinOp::kAdd : BinOp::kSub;
            const uint32_t at = cur().offset;
            advance();
            UNI_ASSIGN_OR_RETURN(ExprPtr right, parse_concat());
            UNI_ASSIGN_OR_RETURN(left, binary(std::move(left), op, std::move(right), at));
        }
        return left;
    }

    Result<ExprPtr> parse_concat() {
        const uint32_t at = cur().offset;
        UNI_ASSIGN_OR_RETURN(ExprPtr first, parse_math2());
        if (!is_op("~")) return first;
        ExprPtr e = make(ExprKind::kConcat, at);
        e->args.push_back(std::move(first));
        while (is_op("~")) {
            advance();
            UNI_ASSIGN_OR_RETURN(ExprPtr next, parse_math2());
            e->args.push_back(std::move(next));
        }
        return e;
    }

    Result<ExprPtr> parse_math2() {
        UNI_ASSIGN_OR_RETURN(ExprPtr left, parse_pow());
        while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
            const BinOp op = is_op("*")    ? BinOp::kMul
                             : is_op("/")  ? BinOp::kDiv
                             : is_op("//") ? BinOp::kFloorDiv
                                           : BinOp::kMod;
            const uint32_t at = cur().offset;
            advance();
            UNI_ASSIGN_OR_RETURN(ExprPtr right, parse_pow());
            UNI_ASSIGN_OR_RETURN(left, binary(std::move(left), op, std::move(right), at));
        }
        return left;
    }

    Result<ExprPtr> parse_pow() {
        UNI_ASSIGN_OR_RETURN(ExprPtr left, parse_unary(true));
        while (is_op("**")) {
            const uint32_t at = cur().offset;
            advance();
            UNI_ASSIGN_OR_RETURN(ExprPtr right, parse_unary(true));
            UNI_ASSIGN_OR_RETURN(left, binary(std::move(left), BinOp::kPow, std::move(right), at));
        }
        return left;
    }

    Result<ExprPtr> parse_unary(bool with_filter) {
        DepthGuard guard(*this);
        UNI_RETURN_IF_ERROR(check_depth());
        ExprPtr node;
        if (is_op("-") || is_op("+")) {
            node = make(is_op("-") ? ExprKind::kNeg : ExprKind::kPos, cur().offset);
            advance();
            UNI_ASSIGN_OR_RETURN(ExprPtr operand, parse_unary(false));
            node->args.push_back(std::move(operand));
        } else {
            UNI_ASSIGN_OR_RETURN(node, parse_primary());
        }
        UNI_ASSIGN_OR_RETURN(node, parse_postfix(std::move(node)));
        if (with_filter) {
            UNI_ASSIGN_OR_RETURN(node, parse_filter_expr(std::move(node)));
        }
        return node;
    }

    Result<ExprPtr> parse_primary() {
        const Token& t = cur();
        const uint32_t at = t.offset;
        if (t.kind == TokKind::kName) {
            ExprPtr e = make(ExprKind::kLiteral, at);
            if (t.text == "true" || t.text == "True") {
                e->value = JinjaValue(true);
            } else if (t.text == "false" || t.text == "False") {
                e->value = JinjaValue(false);
            } else if (t.text == "none" || t.text == "None") {
                e->value = JinjaValue::none();
            } else {
                e->kind = ExprKind::kName;
                e->name = t.text;
            }
            advance();
            return e;
        }
        if (t.kind == TokKind::kString) {
            std::string s;
            while (cur().kind == TokKind::kString) {  // adjacent literals concatenate
                s += cur().text;
                advance();
            }
            ExprPtr e = make(ExprKind::kLiteral, at);
            e->value = JinjaValue(std::move(s));
            return e;
        }
        if (t.kind == TokKind::kInt || t.kind == TokKind::kFloat) {
            ExprPtr e = make(ExprKind::kLiteral, at);
            e->value =
                t.kind == TokKind::kInt ? JinjaValue(t.int_value) : JinjaValue(t.float_value);
            advance();
            return e;
        }
        if (is_op("(")) {
            advance();
            UNI_ASSIGN_OR_RETURN(ExprPtr e, parse_tuple(true));
            UNI_RETURN_IF_ERROR(expect_op(")"));
            return e;
        }
        if (is_op("[")) {
            advance();
            ExprPtr e = make(ExprKind::kList, at);
            while (!is_op("]")) {
                if (!e->args.empty()) UNI_RETURN_IF_ERROR(expect_op(","));
                if (is_op("]")) break;
                UNI_ASSIGN_OR_RETURN(ExprPtr item, parse_expression());
                e->args.push_back(std::move(item));
            }
            advance();
            return e;
        }
        if (is_op("{")) {
            advance();
            ExprPtr e = make(ExprKind::kDict, at);
            while (!is_op("}")) {
                if (!e->args.empty()) UNI_RETURN_IF_ERROR(expect_op(","));
                if (is_op("}")) break;
                UNI_ASSIGN_OR_RETURN(ExprPtr key, parse_expression());
                UNI_RETURN_IF_ERROR(expect_op(":"));
                UNI_ASSIGN_OR_RETURN(ExprPtr value, parse_expression());
                e->args.push_back(std::move(key));
                e->args.push_back(std::move(value));
            }
            advance();
            return e;
        }
        return unexpected("an expression");
    }

    Result<ExprPtr> parse_postfix(ExprPtr node) {
        while (true) {
            if (is_op(".") || is_op("[")) {
                UNI_ASSIGN_OR_RETURN(node, parse_subscript(std::move(node)));
            } else if (is_op("(")) {
                UNI_ASSIGN_OR_RETURN(node, parse_call(std::move(node)));
            } else {
                return node;
            }
        }
    }

    Result<ExprPtr> parse_filter_expr(ExprPtr node) {
        while (true) {
            if (is_op("|")) {
                UNI_ASSIGN_OR_RETURN(node, parse_filter(std::move(node)));
            } else if (is_name("is")) {
                UNI_ASSIGN_OR_RETURN(node, parse_test(std::move(node)));
            } else if (is_op("(")) {
                UNI_ASSIGN_OR_RETURN(node, parse_call(std::move(node)));
            } else {
                return node;
            }
        }
    }

    Result<ExprPtr> parse_subscript(ExprPtr node) {
        const uint32_t at = cur().offset;
        if (is_op(".")) {
            advance();
            if (cur().kind == TokKind::kName) {
                ExprPtr e = make(ExprKind::kAttr, at);
                e->name = cur().text;
                e->args.push_back(std::move(node));
                advance();
                return e;
            }
            if (cur().kind == TokKind::kInt) {
                ExprPtr e = make(ExprKind::kItem, at);
                ExprPtr index = make(ExprKind::kLiteral, cur().offset);
                index->value = JinjaValue(cur().int_value);
                e->args.push_back(std::move(node));
                e->args.push_back(std::move(index));
                advance();
                return e;
            }
            return unexpected("an attribute name");
        }
        advance();  // [
        ExprPtr parts[3];
        bool is_slice = false;
        // x[a, b]: a tuple index (jinja2 parse_subscript).
        for (int i = 0; i < 3; ++i) {
            if (i > 0) {
                if (!is_op(":")) break;
                is_slice = true;
                advance();
            }
            if (!is_op(":") && !is_op("]")) {
                UNI_ASSIGN_OR_RETURN(parts[i], parse_expression());
            } else if (i == 0 && is_op("]")) {
                parts[0] = make(ExprKind::kTuple, cur().offset);  // x[]: the empty tuple
            }
        }
        if (!is_slice && is_op(",")) {
            ExprPtr tuple = make(ExprKind::kTuple, parts[0]->offset);
            tuple->args.push_back(std::move(parts[0]));
            while (is_op(",")) {
                advance();
                if (is_op("]")) break;
                UNI_ASSIGN_OR_RETURN(ExprPtr item, parse_expression());
                tuple->args.push_back(std::move(item));
            }
            parts[0] = std::move(tuple);
        }
        UNI_RETURN_IF_ERROR(expect_op("]"));
        ExprPtr e = make(is_slice ? ExprKind::kSlice : ExprKind::kItem, at);
        e->args.push_back(std::move(node));
        e->args.push_back(std::move(parts[0]));
        if (is_slice) {
            e->args.push_back(std::move(parts[1]));
            e->args.push_back(std::move(parts[2]));
        }
        return e;
    }

    // `(` args `)`: positional, then name=value.
    Status parse_call_args(Expr& e) {
        UNI_RETURN_IF_ERROR(expect_op("("));
        bool first = true;
        while (!is_op(")")) {
            if (!first) UNI_RETURN_IF_ERROR(expect_op(","));
            first = false;
            if (is_op(")")) break;
            if (is_op("*") || is_op("**")) return error("*args and **kwargs are not supported");
            if (cur().kind == TokKind::kName && peek().kind == TokKind::kOp && peek().text == "=") {
                std::string key = cur().text;
                advance();
                advance();
                UNI_ASSIGN_OR_RETURN(ExprPtr v, parse_expression());
                e.kwargs.emplace_back(std::move(key), std::move(v));
            } else {
                if (!e.kwargs.empty())
                    return error("a positional argument follows a keyword argument");
                UNI_ASSIGN_OR_RETURN(ExprPtr v, parse_expression());
                e.args.push_back(std::move(v));
            }
        }
        advance();  // )
        return ok_status();
    }

    Result<ExprPtr> parse_call(ExprPtr node) {
        ExprPtr e = make(ExprKind::kCall, cur().offset);
        e->args.push_back(std::move(node));
        UNI_RETURN_IF_ERROR(parse_call_args(*e));
        return e;
    }

    Result<ExprPtr> parse_filter(ExprPtr node) {
        advance();  // |
        const uint32_t at = cur().offset;
        UNI_ASSIGN_OR_RETURN(std::string name, expect_name("a filter name"));
        ExprPtr e = make(ExprKind::kFilter, at);
        e->filter = find_filter(name);
        if (e->filter == nullptr) return error_at(at, fmt::format("no filter named '{}'", name));
        e->name = std::move(name);
        e->args.push_back(std::move(node));
        if (is_op("(")) UNI_RETURN_IF_ERROR(parse_call_args(*e));
        return e;
    }

    Result<ExprPtr> parse_test(ExprPtr node) {
        advance();  // is
        ExprPtr e = make(ExprKind::kTest, cur().offset);
        if (is_name("not")) {
            e->negated = true;
            advance();
        }
        const uint32_t at = cur().offset;
        UNI_ASSIGN_OR_RETURN(std::string name, expect_name("a test name"));
        e->test = find_test(name);
        if (e->test == nullptr) return error_at(at, fmt::format("no test named '{}'", name));
        e->name = std::move(name);
        e->args.push_back(std::move(node));
        if (is_op("(")) {
            UNI_RETURN_IF_ERROR(parse_call_args(*e));
        } else {
            // One bare argument: `is divisibleby 3`, `is sameas false` (jinja2 parse_test).
            const Token& t = cur();
            const bool starts_arg =
                t.kind == TokKind::kString || t.kind == TokKind::kInt ||
                t.kind == TokKind::kFloat || is_op("[") || is_op("{") ||
                (t.kind == TokKind::kName && t.text != "else" && t.text != "or" && t.text != "and");
            if (starts_arg) {
                if (is_name("is")) return error("tests cannot be chained with 'is'");
                UNI_ASSIGN_OR_RETURN(ExprPtr arg, parse_primary());
                UNI_ASSIGN_OR_RETURN(arg, parse_postfix(std::move(arg)));
                e->args.push_back(std::move(arg));
            }
        }
        return e;
    }

    const std::vector<Token>& toks_;
    const SourceMap& map_;
    size_t max_depth_;
    size_t pos_ = 0;
    size_t depth_ = 0;
    bool for_iter_ = false;  // parsing a for loop's iterable: a bare `if` ends it
    size_t loop_depth_ = 0;  // for bodies around the current statement (break/continue)
};

}  // namespace

Result<Body> parse_template(const std::vector<Token>& tokens, const SourceMap& map,
                            size_t max_depth) {
    return Parser(tokens, map, max_depth).run();
}

}  // namespace unicorn::text::jinja
