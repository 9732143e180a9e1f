// The Jinja evaluator: renders a parsed template against variables with jinja2's semantics
// (scoping, Undefined, Python operators), counting every step against JinjaLimits.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "text/jinja_ast.h"
#include "text/jinja_lexer.h"

namespace unicorn::text::jinja {

// ---- Python operators (jinja_ops.cc) ----

Status type_error(const char* op, const JinjaValue& a, const JinjaValue& b);
// The error that using an undefined value is ("'x' is undefined").
Status undefined_error(const JinjaValue& v);
// CPython's slice index adjustment: the positions x[start:stop:step] selects from `len` items.
Status slice_indices(size_t len, const JinjaValue& start, const JinjaValue& stop,
                     const JinjaValue& step, std::vector<size_t>& indices);
// + - * / // % ** on numbers (bools count as ints).
Result<JinjaValue> python_arith(BinOp op, const JinjaValue& a, const JinjaValue& b);
// Python's ordering of numbers, strings and lists: -1, 0 or 1 in `out`.
Status python_order(const JinjaValue& a, const JinjaValue& b, int& out);
// `item in container`.
Result<bool> python_contains(const JinjaValue& container, const JinjaValue& item);
// Python's type() name of a value, for error messages ('int', 'str', 'dict', 'NoneType', ...).
const char* python_type_name(const JinjaValue& v);

// jinja2's environment.getattr / getitem: obj.name tries a method, then a key; obj[key] tries the
// key, then a method. A missing one is undefined; looking into an undefined value is an error.
Result<JinjaValue> get_attr(const JinjaValue& obj, const std::string& name);
Result<JinjaValue> get_item(const JinjaValue& obj, const JinjaValue& key);
// What `for x in v` visits: list elements, map keys, string characters; undefined is empty.
Result<JinjaValue::List> iterate(const JinjaValue& v);

class Renderer {
  public:
    Renderer(const SourceMap& map, const JinjaLimits& limits, JinjaValue::Map root);

    // `root_undefined`: names the template frame starts undefined (analyze_scopes).
    Result<std::string> render(const Body& body, const std::vector<std::string>& root_undefined);

    // For builtins: account for `n` units of loop or collection work; a string about to reach
    // `bytes` must stay under the output limit.
    Status charge(size_t n);
    Status check_string_size(size_t bytes) const;
    const JinjaLimits& limits() const { return limits_; }
    // Calls a callable value (a macro, a bound method, a global).
    Result<JinjaValue> call(const JinjaValue& fn, const CallArgs& args);
    // Renders a macro body with its parameters bound (the Callable a {% macro %} defines).
    Result<JinjaValue> call_macro(const Node& macro, const CallArgs& args);

  private:
    enum class Flow : uint8_t { kNormal, kBreak, kContinue };
    struct Frame {
        std::unordered_map<std::string, JinjaValue> vars;
        bool isolated = false;  // a macro's frame: lookups skip to the root frame below it
    };

    Status step();
    Status at(uint32_t offset, const Status& s) const;
    Status fail(uint32_t offset, const std::string& msg) const;

    const JinjaValue* lookup(const std::string& name) const;
    void assign(const std::string& name, JinjaValue v) { frames_.back().vars[name] = std::move(v); }
    // A new frame whose `undefined` names start undefined; pop_frame() ends it.
    void push_frame(const std::vector<std::string>& undefined, bool isolated = false);
    void pop_frame() { frames_.pop_back(); }
    Result<Flow> exec_in_frame(const Body& body, const std::vector<std::string>& undefined,
                               std::string& out);
    Status unpack(const std::vector<std::string>& targets, const JinjaValue& v, uint32_t offset);

    Result<Flow> exec_body(const Body& body, std::string& out);
    Result<Flow> exec(const Node& n, std::string& out);
    Result<Flow> exec_for(const Node& n, std::string& out);
    // `value`: a block set's captured text; a plain set evaluates its expression.
    Status exec_set(const Node& n, JinjaValue value);
    Status append(std::string& out, const std::string& s, uint32_t offset) const;

    Result<JinjaValue> eval(const Expr& e);
    Result<JinjaValue> eval_inner(const Expr& e);
    // The bulkier expression kinds, out of eval_inner so its stack frame stays small.
    [[gnu::noinline]] Result<JinjaValue> eval_collection(const Expr& e);
    [[gnu::noinline]] Result<JinjaValue> eval_slice(const Expr& e);
    [[gnu::noinline]] Result<JinjaValue> eval_invoke(const Expr& e);
    Status enter(uint32_t offset);
    Result<CallArgs> eval_args(const Expr& e, size_t first);
    Result<JinjaValue> eval_binary(const Expr& e, const JinjaValue& a, const JinjaValue& b);
    Result<bool> compare(CmpOp op, const JinjaValue& a, const JinjaValue& b, uint32_t offset);

    const SourceMap& map_;
    JinjaLimits limits_;
    std::vector<Frame> frames_;
    size_t steps_ = 0;
    size_t work_ = 0;
    size_t nesting_ = 0;  // eval/exec frames on the stack (JinjaLimits::max_eval_depth)
};

}  // namespace unicorn::text::jinja
