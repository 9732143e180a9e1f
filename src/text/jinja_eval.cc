// Evaluation follows jinja2's compiled code: a for-loop body is a fresh scope each iteration
// (a `set` inside does not leak out; namespace() is the way to carry state), `if` has no scope,
// a macro sees its parameters and the template's top level. `and`/`or` return an operand, as
// in Python; arithmetic and comparisons follow Python (true division, floor `//`, `%` with
// the divisor's sign, 1 == 1.0 == True).
#include "text/jinja_eval.h"

#include <fmt/format.h>

namespace unicorn::text::jinja {

Renderer::Renderer(const SourceMap& map, const JinjaLimits& limits, JinjaValue::Map root)
    : map_(map), limits_(limits) {
    frames_.emplace_back();
    for (auto& kv : root) frames_.back().vars[kv.first] = std::move(kv.second);
}

Result<std::string> Renderer::render(const Body& body,
                                     const std::vector<std::string>& root_undefined) {
    for (const std::string& name : root_undefined)
        assign(name, JinjaValue::undefined(fmt::format("'{}' is undefined", name)));
    std::string out;
    UNI_ASSIGN_OR_RETURN(Flow flow, exec_body(body, out));
    (void)flow;
    return out;
}

namespace {

// Counts one level of evaluator recursion for as long as it lives.
class Nesting {
  public:
    explicit Nesting(size_t& n) : n_(n) { ++n_; }
    ~Nesting() { --n_; }
    Nesting(const Nesting&) = delete;
    Nesting& operator=(const Nesting&) = delete;

  private:
    size_t& n_;
};

// The `loop` variable of iteration i of `items` (out of line: its temporaries are large).
[[gnu::noinline]] JinjaValue make_loop(const JinjaValue::List& items, size_t i) {
    const size_t count = items.size();
    auto cycle = std::make_shared<Callable>();
    cycle->name = "loop.cycle";
    cycle->fn = [i](Renderer&, const CallArgs& args) -> Result<JinjaValue> {
        if (args.positional.empty()) return invalid_argument("loop.cycle() needs arguments");
        return args.positional[i % args.positional.size()];
    };
    const auto idx = static_cast<int64_t>(i);
    const auto len = static_cast<int64_t>(count);
    return JinjaValue(JinjaValue::Map{
        {"index", JinjaValue(idx + 1)},
        {"index0", JinjaValue(idx)},
        {"revindex", JinjaValue(len - idx)},
        {"revindex0", JinjaValue(len - idx - 1)},
        {"first", JinjaValue(i == 0)},
        {"last", JinjaValue(i + 1 == count)},
        {"length", JinjaValue(len)},
        {"depth", JinjaValue(1)},
        {"depth0", JinjaValue(0)},
        {"previtem", i > 0 ? items[i - 1] : JinjaValue()},
        {"nextitem", i + 1 < count ? items[i + 1] : JinjaValue()},
        {"cycle", JinjaValue::callable(std::move(cycle))},
    });
}

}  // namespace

Status Renderer::enter(uint32_t offset) {
    if (Status s = step(); !s.ok()) return at(offset, s);
    if (nesting_ > limits_.max_eval_depth)
        return at(offset, resource_exhausted(fmt::format(
                              "chat template nested deeper than {} levels while rendering "
                              "(expressions, statements and macro calls together)",
                              limits_.max_eval_depth)));
    return ok_status();
}

Status Renderer::step() {
    if (++steps_ > limits_.max_steps)
        return resource_exhausted(
            fmt::format("chat template ran more than {} evaluation steps", limits_.max_steps));
    return ok_status();
}

Status Renderer::charge(size_t n) {
    work_ += n;
    if (work_ > limits_.max_loop_iterations)
        return resource_exhausted(fmt::format("chat template ran more than {} loop iterations",
                                              limits_.max_loop_iterations));
    return ok_status();
}

Status Renderer::check_string_size(size_t bytes) const {
    if (bytes > limits_.max_output_bytes)
        return resource_exhausted(
            fmt::format("chat template output exceeds {} bytes", limits_.max_output_bytes));
    return ok_status();
}

void Renderer::push_frame(const std::vector<std::string>& undefined, bool isolated) {
    frames_.emplace_back();
    frames_.back().isolated = isolated;
    for (const std::string& name : undefined)
        assign(name, JinjaValue::undefined(fmt::format("'{}' is undefined", name)));
}

Result<Renderer::Flow> Renderer::exec_in_frame(const Body& body,
                                               const std::vector<std::string>& undefined,
                                               std::string& out) {
    push_frame(undefined);
    Result<Flow> flow = exec_body(body, out);
    pop_frame();
    return flow;
}

Status Renderer::at(uint32_t offset, const Status& s) const {
    return Status(s.code(),
                  fmt::format("chat template error at {}: {}", map_.where(offset), s.message()));
}

Status Renderer::fail(uint32_t offset, const std::string& msg) const {
    return at(offset, invalid_argument(msg));
}

const JinjaValue* Renderer::lookup(const std::string& name) const {
    for (size_t i = frames_.size(); i-- > 0;) {
        auto it = frames_[i].vars.find(name);
        if (it != frames_[i].vars.end()) return &it->second;
        if (frames_[i].isolated && i > 0) i = 1;  // continue with the root frame
    }
    return nullptr;
}

Status Renderer::unpack(const std::vector<std::string>& targets, const JinjaValue& v,
                        uint32_t offset) {
    if (targets.size() == 1) {
        assign(targets[0], v);
        return ok_status();
    }
    auto items = iterate(v);
    if (!items.ok()) return at(offset, items.status());
    if (items->size() != targets.size())
        return fail(offset, fmt::format("cannot unpack {} values into {} names", items->size(),
                                        targets.size()));
    for (size_t i = 0; i < targets.size(); ++i) assign(targets[i], (*items)[i]);
    return ok_status();
}

Status Renderer::append(std::string& out, const std::string& s, uint32_t offset) const {
    if (out.size() + s.size() > limits_.max_output_bytes)
        return at(offset, check_string_size(out.size() + s.size()));
    out += s;
    return ok_status();
}

Result<Renderer::Flow> Renderer::exec_body(const Body& body, std::string& out) {
    for (const NodePtr& n : body) {
        UNI_ASSIGN_OR_RETURN(Flow flow, exec(*n, out));
        if (flow != Flow::kNormal) return flow;
    }
    return Flow::kNormal;
}

Result<Renderer::Flow> Renderer::exec(const Node& n, std::string& out) {
    Nesting nest(nesting_);
    UNI_RETURN_IF_ERROR(enter(n.offset));
    switch (n.kind) {
        case NodeKind::kText:
            UNI_RETURN_IF_ERROR(append(out, n.text, n.offset));
            break;
        case NodeKind::kOutput: {
            UNI_ASSIGN_OR_RETURN(JinjaValue v, eval(*n.expr));
            UNI_RETURN_IF_ERROR(append(out, v.to_string(), n.offset));
            break;
        }
        case NodeKind::kIf:
            for (const auto& [cond, body] : n.branches) {
                UNI_ASSIGN_OR_RETURN(JinjaValue c, eval(*cond));
                if (c.truthy()) return exec_body(body, out);
            }
            return exec_body(n.else_body, out);
        case NodeKind::kFor:
            return exec_for(n, out);
        case NodeKind::kSet:
            UNI_RETURN_IF_ERROR(exec_set(n, JinjaValue()));
            break;
        case NodeKind::kSetBlock: {
            std::string captured;
            UNI_ASSIGN_OR_RETURN(Flow flow, exec_in_frame(n.body, n.frame_undefined, captured));
            if (flow != Flow::kNormal) return flow;  // a break inside leaves the loop unassigned
            UNI_RETURN_IF_ERROR(exec_set(n, JinjaValue(std::move(captured))));
            break;
        }
        case NodeKind::kMacro: {
            auto fn = std::make_shared<Callable>();
            fn->name = n.text;
            fn->positioned = true;
            const Node* node = &n;
            fn->fn = [node](Renderer& r, const CallArgs& args) {
                return r.call_macro(*node, args);
            };
            assign(n.text, JinjaValue::callable(std::move(fn)));
            break;
        }
        case NodeKind::kBreak:
            return Flow::kBreak;
        case NodeKind::kContinue:
            return Flow::kContinue;
        case NodeKind::kScope:
            return exec_in_frame(n.body, n.frame_undefined, out);
    }
    return Flow::kNormal;
}

Result<Renderer::Flow> Renderer::exec_for(const Node& n, std::string& out) {
    UNI_ASSIGN_OR_RETURN(JinjaValue seq, eval(*n.expr));
    auto all = iterate(seq);
    if (!all.ok()) return at(n.expr->offset, all.status());
    JinjaValue::List items;
    if (n.cond) {
        for (JinjaValue& item : *all) {
            if (Status s = charge(1); !s.ok()) return at(n.offset, s);
            frames_.emplace_back();
            Status s = unpack(n.targets, item, n.offset);
            Result<JinjaValue> keep = s.ok() ? eval(*n.cond) : Result<JinjaValue>(s);
            frames_.pop_back();
            if (!keep.ok()) return keep.status();
            if (keep->truthy()) items.push_back(std::move(item));
        }
    } else {
        items = std::move(*all);
    }
    const size_t count = items.size();
    for (size_t i = 0; i < count; ++i) {
        if (Status s = charge(1); !s.ok()) return at(n.offset, s);
        push_frame(n.frame_undefined);
        Status s = unpack(n.targets, items[i], n.offset);
        if (!s.ok()) {
            frames_.pop_back();
            return s;
        }
        assign("loop", make_loop(items, i));
        Result<Flow> flow = exec_body(n.body, out);
        frames_.pop_back();
        if (!flow.ok()) return flow.status();
        if (*flow == Flow::kBreak) break;
    }
    if (count == 0) return exec_in_frame(n.else_body, n.else_undefined, out);
    return Flow::kNormal;
}

Status Renderer::exec_set(const Node& n, JinjaValue value) {
    if (n.kind == NodeKind::kSet) {
        UNI_ASSIGN_OR_RETURN(value, eval(*n.expr));
    }
    if (n.attr.empty()) return unpack(n.targets, value, n.offset);
    const JinjaValue* ns = lookup(n.targets[0]);
    if (ns == nullptr || !ns->is_namespace())
        return fail(n.offset, fmt::format("cannot assign attribute '{}' on '{}': not a namespace",
                                          n.attr, n.targets[0]));
    if (contains_namespace(value))
        return fail(n.offset, "a namespace cannot hold another namespace");
    ns->set_namespace_attr(n.attr, std::move(value));
    return ok_status();
}

Result<JinjaValue> Renderer::call(const JinjaValue& fn, const CallArgs& args) {
    if (fn.is_undefined()) return undefined_error(fn);
    if (!fn.is_callable())
        return invalid_argument(fmt::format("'{}' object is not callable", python_type_name(fn)));
    return fn.as_callable()->fn(*this, args);
}

Result<JinjaValue> Renderer::call_macro(const Node& macro, const CallArgs& args) {
    if (args.positional.size() > macro.params.size())
        return at(macro.offset, invalid_argument(fmt::format(
                                    "macro '{}' takes {} arguments, {} given", macro.text,
                                    macro.params.size(), args.positional.size())));
    for (const auto& kv : args.keyword) {
        bool known = false;
        for (const auto& p : macro.params) known = known || p.first == kv.first;
        if (!known)
            return at(macro.offset, invalid_argument(fmt::format("macro '{}' has no parameter '{}'",
                                                                 macro.text, kv.first)));
    }
    push_frame(macro.frame_undefined, /*isolated=*/true);
    Status s;
    for (size_t i = 0; i < macro.params.size() && s.ok(); ++i) {
        const auto& [name, def] = macro.params[i];
        if (args.has(i, name)) {
            assign(name, args.get(i, name));
        } else if (def) {
            Result<JinjaValue> v = eval(*def);
            if (v.ok())
                assign(name, std::move(v).value());
            else
                s = v.status();
        } else {
            assign(name, JinjaValue::undefined(fmt::format("'{}' is undefined", name)));
        }
    }
    std::string out;
    if (s.ok()) {
        Result<Flow> flow = exec_body(macro.body, out);
        if (!flow.ok()) s = flow.status();
    }
    frames_.pop_back();
    if (!s.ok()) return s;
    return JinjaValue(std::move(out));
}

Result<JinjaValue> Renderer::eval(const Expr& e) {
    Nesting nest(nesting_);
    UNI_RETURN_IF_ERROR(enter(e.offset));
    UNI_ASSIGN_OR_RETURN(JinjaValue v, eval_inner(e));
    if (v.depth() > kMaxValueDepth)
        return fail(e.offset, fmt::format("value nested deeper than {} levels", kMaxValueDepth));
    if (v.is_string() && v.as_string().size() > limits_.max_output_bytes)
        return at(e.offset, check_string_size(v.as_string().size()));
    if ((v.is_list() && v.as_list().size() > limits_.max_collection_size) ||
        (v.is_map() && v.as_map().size() > limits_.max_collection_size))
        return at(e.offset, resource_exhausted(fmt::format("collection larger than {} items",
                                                           limits_.max_collection_size)));
    return v;
}

Result<CallArgs> Renderer::eval_args(const Expr& e, size_t first) {
    CallArgs args;
    for (size_t i = first; i < e.args.size(); ++i) {
        UNI_ASSIGN_OR_RETURN(JinjaValue v, eval(*e.args[i]));
        args.positional.push_back(std::move(v));
    }
    for (const auto& [name, expr] : e.kwargs) {
        UNI_ASSIGN_OR_RETURN(JinjaValue v, eval(*expr));
        args.keyword.emplace_back(name, std::move(v));
    }
    return args;
}

Result<JinjaValue> Renderer::eval_inner(const Expr& e) {
    switch (e.kind) {
        case ExprKind::kLiteral:
            return e.value;
        case ExprKind::kName: {
            if (const JinjaValue* v = lookup(e.name)) return *v;
            return JinjaValue::undefined(fmt::format("'{}' is undefined", e.name));
        }
        case ExprKind::kList:
        case ExprKind::kTuple:
        case ExprKind::kDict:
            return eval_collection(e);
        case ExprKind::kAttr: {
            UNI_ASSIGN_OR_RETURN(JinjaValue obj, eval(*e.args[0]));
            auto r = get_attr(obj, e.name);
            if (!r.ok()) return at(e.offset, r.status());
            return r;
        }
        case ExprKind::kItem: {
            UNI_ASSIGN_OR_RETURN(JinjaValue obj, eval(*e.args[0]));
            UNI_ASSIGN_OR_RETURN(JinjaValue key, eval(*e.args[1]));
            auto r = get_item(obj, key);
            if (!r.ok()) return at(e.offset, r.status());
            return r;
        }
        case ExprKind::kSlice:
            return eval_slice(e);
        case ExprKind::kCall:
        case ExprKind::kFilter:
        case ExprKind::kTest:
            return eval_invoke(e);
        case ExprKind::kNeg:
        case ExprKind::kPos: {
            UNI_ASSIGN_OR_RETURN(JinjaValue v, eval(*e.args[0]));
            if (!v.is_number())
                return fail(e.offset,
                            fmt::format("bad operand type for unary {}: '{}'",
                                        e.kind == ExprKind::kNeg ? '-' : '+', python_type_name(v)));
            if (e.kind == ExprKind::kPos) return v.is_bool() ? JinjaValue(v.as_int()) : v;
            if (v.is_double()) return JinjaValue(-v.as_double());
            if (v.as_int() == INT64_MIN) return at(e.offset, out_of_range("integer overflow"));
            return JinjaValue(-v.as_int());
        }
        case ExprKind::kNot: {
            UNI_ASSIGN_OR_RETURN(JinjaValue v, eval(*e.args[0]));
            return JinjaValue(!v.truthy());
        }
        case ExprKind::kAnd:
        case ExprKind::kOr: {
            UNI_ASSIGN_OR_RETURN(JinjaValue a, eval(*e.args[0]));
            if (a.truthy() == (e.kind == ExprKind::kOr)) return a;
            return eval(*e.args[1]);
        }
        case ExprKind::kCond: {
            UNI_ASSIGN_OR_RETURN(JinjaValue c, eval(*e.args[0]));
            if (c.truthy()) return eval(*e.args[1]);
            if (e.args[2]) return eval(*e.args[2]);
            return JinjaValue::undefined("the conditional expression has no else branch");
        }
        case ExprKind::kConcat: {
            std::string s;
            for (const ExprPtr& a : e.args) {
                UNI_ASSIGN_OR_RETURN(JinjaValue v, eval(*a));
                s += v.to_string();
                if (Status st = check_string_size(s.size()); !st.ok()) return at(e.offset, st);
            }
            return JinjaValue(std::move(s));
        }
        case ExprKind::kBinary: {
            UNI_ASSIGN_OR_RETURN(JinjaValue a, eval(*e.args[0]));
            UNI_ASSIGN_OR_RETURN(JinjaValue b, eval(*e.args[1]));
            auto r = eval_binary(e, a, b);
            if (!r.ok()) return at(e.offset, r.status());
            return r;
        }
        case ExprKind::kCompare: {
            UNI_ASSIGN_OR_RETURN(JinjaValue left, eval(*e.args[0]));
            for (size_t i = 0; i < e.cmp_ops.size(); ++i) {
                UNI_ASSIGN_OR_RETURN(JinjaValue right, eval(*e.args[i + 1]));
                UNI_ASSIGN_OR_RETURN(bool ok, compare(e.cmp_ops[i], left, right, e.offset));
                if (!ok) return JinjaValue(false);
                left = std::move(right);
            }
            return JinjaValue(true);
        }
    }
    return fail(e.offset, "unknown expression");
}

// [a, b], (a, b), {k: v}
Result<JinjaValue> Renderer::eval_collection(const Expr& e) {
    if (e.kind != ExprKind::kDict) {
        JinjaValue::List items;
        for (const ExprPtr& a : e.args) {
            UNI_ASSIGN_OR_RETURN(JinjaValue v, eval(*a));
            items.push_back(std::move(v));
        }
        if (e.kind == ExprKind::kTuple) return JinjaValue::tuple(std::move(items));
        return JinjaValue(std::move(items));
    }
    JinjaValue::Map m;
    for (size_t i = 0; i + 1 < e.args.size(); i += 2) {
        UNI_ASSIGN_OR_RETURN(JinjaValue k, eval(*e.args[i]));
        UNI_ASSIGN_OR_RETURN(JinjaValue v, eval(*e.args[i + 1]));
        if (!k.is_string())
            return fail(e.args[i]->offset, "dict keys must be strings in chat templates");
        bool replaced = false;
        for (auto& kv : m) {
            if (kv.first == k.as_string()) {
                kv.second = v;
                replaced = true;
            }
        }
        if (!replaced) m.emplace_back(k.as_string(), std::move(v));
    }
    return JinjaValue(std::move(m));
}

// x[start:stop:step]
Result<JinjaValue> Renderer::eval_slice(const Expr& e) {
    UNI_ASSIGN_OR_RETURN(JinjaValue obj, eval(*e.args[0]));
    JinjaValue parts[3];
    for (int i = 0; i < 3; ++i) {
        if (e.args[1 + i]) {
            UNI_ASSIGN_OR_RETURN(parts[i], eval(*e.args[1 + i]));
        }
    }
    if (obj.is_undefined()) return at(e.offset, undefined_error(obj));
    // jinja2 compiles a slice to a plain Python subscript: no undefined fallback.
    if ((!obj.is_list() && !obj.is_string()) || obj.is_generator())
        return fail(e.offset,
                    fmt::format("'{}' object is not subscriptable", python_type_name(obj)));
    std::vector<size_t> idx;
    const std::vector<std::string> chars =
        obj.is_string() ? python_chars(obj.as_string()) : std::vector<std::string>{};
    const size_t len = obj.is_list() ? obj.as_list().size() : chars.size();
    if (Status s = slice_indices(len, parts[0], parts[1], parts[2], idx); !s.ok())
        return at(e.offset, s);
    if (obj.is_list()) {
        JinjaValue::List out;
        for (size_t i : idx) out.push_back(obj.as_list()[i]);
        return obj.is_tuple() ? JinjaValue::tuple(std::move(out)) : JinjaValue(std::move(out));
    }
    std::string out;
    for (size_t i : idx) out += chars[i];
    return JinjaValue(std::move(out));
}

// f(args), x | filter(args), x is test(args): errors of builtins get the call site's position.
Result<JinjaValue> Renderer::eval_invoke(const Expr& e) {
    UNI_ASSIGN_OR_RETURN(JinjaValue head, eval(*e.args[0]));
    UNI_ASSIGN_OR_RETURN(CallArgs args, eval_args(e, 1));
    if (e.kind == ExprKind::kCall) {
        auto r = call(head, args);
        if (!r.ok() && !(head.is_callable() && head.as_callable()->positioned))
            return at(e.offset, r.status());
        return r;
    }
    if (e.kind == ExprKind::kFilter) {
        auto r = e.filter(*this, head, args);
        if (!r.ok()) return at(e.offset, r.status());
        return r;
    }
    auto r = e.test(*this, head, args);
    if (!r.ok()) return at(e.offset, r.status());
    return JinjaValue(*r != e.negated);
}

Result<JinjaValue> Renderer::eval_binary(const Expr& e, const JinjaValue& a, const JinjaValue& b) {
    if (a.is_undefined()) return undefined_error(a);
    if (b.is_undefined()) return undefined_error(b);
    if (e.bin_op == BinOp::kAdd) {
        if (a.is_string() && b.is_string()) {
            UNI_RETURN_IF_ERROR(check_string_size(a.as_string().size() + b.as_string().size()));
            return JinjaValue(a.as_string() + b.as_string());
        }
        if (a.is_list() && b.is_list()) {
            if (a.is_tuple() != b.is_tuple() || a.is_generator() || b.is_generator())
                return type_error("+", a, b);
            JinjaValue::List l = a.as_list();
            UNI_RETURN_IF_ERROR(charge(b.as_list().size()));
            l.insert(l.end(), b.as_list().begin(), b.as_list().end());
            return a.is_tuple() ? JinjaValue::tuple(std::move(l)) : JinjaValue(std::move(l));
        }
    }
    if (e.bin_op == BinOp::kMul && (a.is_string() || a.is_list() || b.is_string() || b.is_list())) {
        const JinjaValue& seq = (a.is_string() || a.is_list()) ? a : b;
        const JinjaValue& count = (a.is_string() || a.is_list()) ? b : a;
        if ((!count.is_int() && !count.is_bool()) || seq.is_generator())
            return type_error("*", a, b);
        const int64_t n = std::max<int64_t>(0, count.as_int());
        const size_t unit = seq.is_string() ? seq.as_string().size() : seq.as_list().size();
        if (unit > 0 && static_cast<uint64_t>(n) > limits_.max_output_bytes / unit)
            return check_string_size(limits_.max_output_bytes + 1);
        UNI_RETURN_IF_ERROR(charge(static_cast<size_t>(n)));
        if (seq.is_string()) {
            std::string s;
            for (int64_t i = 0; i < n; ++i) s += seq.as_string();
            return JinjaValue(std::move(s));
        }
        JinjaValue::List l;
        for (int64_t i = 0; i < n; ++i)
            l.insert(l.end(), seq.as_list().begin(), seq.as_list().end());
        return seq.is_tuple() ? JinjaValue::tuple(std::move(l)) : JinjaValue(std::move(l));
    }
    if (e.bin_op == BinOp::kMod && a.is_string())
        return unsupported("'%' string formatting is not supported");
    return python_arith(e.bin_op, a, b);
}

Result<bool> Renderer::compare(CmpOp op, const JinjaValue& a, const JinjaValue& b,
                               uint32_t offset) {
    switch (op) {
        case CmpOp::kEq:
            return a == b;
        case CmpOp::kNe:
            return a != b;
        case CmpOp::kIn:
        case CmpOp::kNotIn: {
            auto r = python_contains(b, a);
            if (!r.ok()) return at(offset, r.status());
            return *r == (op == CmpOp::kIn);
        }
        default: {
            if (a.is_undefined()) return at(offset, undefined_error(a));
            if (b.is_undefined()) return at(offset, undefined_error(b));
            int c = 0;
            if (Status s = python_order(a, b, c); !s.ok()) return at(offset, s);
            if (op == CmpOp::kLt) return c < 0;
            if (op == CmpOp::kLe) return c <= 0;
            if (op == CmpOp::kGt) return c > 0;
            return c >= 0;
        }
    }
}

}  // namespace unicorn::text::jinja
