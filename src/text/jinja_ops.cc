// Python's operators as jinja2 evaluates them: arithmetic (true division, floor `//`, `%` with
// the divisor's sign, overflow an error instead of a big integer), ordering, `in`, slicing,
// and jinja2's attribute/item lookup with its Undefined fallbacks.
#include <fmt/format.h>

#include <cmath>

#include "text/jinja_eval.h"

namespace unicorn::text::jinja {
namespace {

using Kind = JinjaValue::Kind;

Result<JinjaValue> int_pow(int64_t base, int64_t exp) {
    if (exp < 0) {
        if (base == 0) return invalid_argument("0 cannot be raised to a negative power");
        return JinjaValue(std::pow(static_cast<double>(base), static_cast<double>(exp)));
    }
    int64_t result = 1;
    while (exp > 0) {
        if ((exp & 1) && __builtin_mul_overflow(result, base, &result))
            return out_of_range("integer overflow in **");
        exp >>= 1;
        if (exp > 0 && __builtin_mul_overflow(base, base, &base))
            return out_of_range("integer overflow in **");
    }
    return JinjaValue(result);
}

}  // namespace

Status type_error(const char* op, const JinjaValue& a, const JinjaValue& b) {
    return invalid_argument(fmt::format("unsupported operand types for {}: '{}' and '{}'", op,
                                        python_type_name(a), python_type_name(b)));
}

Status undefined_error(const JinjaValue& v) {
    const std::string& hint = v.undefined_hint();
    return invalid_argument(hint.empty() ? std::string("a value is undefined") : hint);
}

// CPython's slice index adjustment; `indices` receives the selected positions.
Status slice_indices(size_t len, const JinjaValue& start_v, const JinjaValue& stop_v,
                     const JinjaValue& step_v, std::vector<size_t>& indices) {
    auto as_index = [](const JinjaValue& v, int64_t& out) {
        if (v.is_undefined() || v.is_none()) return false;
        out = v.as_int();
        return true;
    };
    for (const JinjaValue* v : {&start_v, &stop_v, &step_v})
        if (!v->is_undefined() && !v->is_none() && !v->is_int() && !v->is_bool())
            return invalid_argument("slice indices must be integers or none");
    int64_t step = 1;
    as_index(step_v, step);
    if (step == 0) return invalid_argument("slice step cannot be zero");
    const auto n = static_cast<int64_t>(len);
    auto adjust = [&](const JinjaValue& v, int64_t dflt) {
        int64_t i = 0;
        if (!as_index(v, i)) return dflt;
        if (i < 0) {
            i += n;
            if (i < 0) i = step < 0 ? -1 : 0;
        } else if (i >= n) {
            i = step < 0 ? n - 1 : n;
        }
        return i;
    };
    const int64_t start = adjust(start_v, step < 0 ? n - 1 : 0);
    const int64_t stop = adjust(stop_v, step < 0 ? -1 : n);
    for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step)
        indices.push_back(static_cast<size_t>(i));
    return ok_status();
}

Result<JinjaValue> python_arith(BinOp op, const JinjaValue& a, const JinjaValue& b) {
    static constexpr const char* kNames[] = {"+", "-", "*", "/", "//", "%", "**"};
    const char* name = kNames[static_cast<int>(op)];
    if (!a.is_number() || !b.is_number()) return type_error(name, a, b);
    const bool real = a.is_double() || b.is_double();
    if (!real) {
        const int64_t x = a.as_int();
        const int64_t y = b.as_int();
        int64_t r = 0;
        switch (op) {
            case BinOp::kAdd:
                if (__builtin_add_overflow(x, y, &r)) return out_of_range("integer overflow");
                return JinjaValue(r);
            case BinOp::kSub:
                if (__builtin_sub_overflow(x, y, &r)) return out_of_range("integer overflow");
                return JinjaValue(r);
            case BinOp::kMul:
                if (__builtin_mul_overflow(x, y, &r)) return out_of_range("integer overflow");
                return JinjaValue(r);
            case BinOp::kDiv:
                if (y == 0) return invalid_argument("division by zero");
                return JinjaValue(static_cast<double>(x) / static_cast<double>(y));
            case BinOp::kFloorDiv:
            case BinOp::kMod: {
                if (y == 0) return invalid_argument("integer division or modulo by zero");
                if (x == INT64_MIN && y == -1) return out_of_range("integer overflow");
                int64_t q = x / y;
                int64_t m = x % y;
                if (m != 0 && ((m < 0) != (y < 0))) {
                    --q;
                    m += y;
                }
                return JinjaValue(op == BinOp::kMod ? m : q);
            }
            case BinOp::kPow:
                return int_pow(x, y);
        }
    }
    const double x = a.as_double();
    const double y = b.as_double();
    switch (op) {
        case BinOp::kAdd:
            return JinjaValue(x + y);
        case BinOp::kSub:
            return JinjaValue(x - y);
        case BinOp::kMul:
            return JinjaValue(x * y);
        case BinOp::kDiv:
            if (y == 0) return invalid_argument("float division by zero");
            return JinjaValue(x / y);
        case BinOp::kFloorDiv:
        case BinOp::kMod: {
            if (y == 0) return invalid_argument("float modulo or division by zero");
            double m = std::fmod(x, y);
            if (m != 0 && ((m < 0) != (y < 0))) m += y;
            if (op == BinOp::kMod) return JinjaValue(m);
            return JinjaValue(std::floor((x - m) / y + 0.5));
        }
        case BinOp::kPow: {
            if (x < 0 && y != std::floor(y))
                return unsupported("** with a negative base and a fractional exponent (complex)");
            if (x == 0 && y < 0)
                return invalid_argument("0.0 cannot be raised to a negative power");
            const double r = std::pow(x, y);
            if (std::isinf(r) && std::isfinite(x) && std::isfinite(y))
                return out_of_range("numerical result out of range");
            return JinjaValue(r);
        }
    }
    return internal_error("unknown operator");
}

Status python_order(const JinjaValue& a, const JinjaValue& b, int& out) {
    if (a.is_number() && b.is_number()) {
        if (!a.is_double() && !b.is_double())
            out = a.as_int() < b.as_int() ? -1 : a.as_int() > b.as_int() ? 1 : 0;
        else
            out = a.as_double() < b.as_double() ? -1 : a.as_double() > b.as_double() ? 1 : 0;
        return ok_status();
    }
    if (a.is_string() && b.is_string()) {
        const int c = a.as_string().compare(b.as_string());  // UTF-8 keeps codepoint order
        out = c < 0 ? -1 : c > 0 ? 1 : 0;
        return ok_status();
    }
    if (a.is_list() && b.is_list() && !a.is_generator() && !b.is_generator() &&
        a.is_tuple() == b.is_tuple()) {
        const auto& x = a.as_list();
        const auto& y = b.as_list();
        for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
            if (x[i] == y[i]) continue;
            return python_order(x[i], y[i], out);
        }
        out = x.size() < y.size() ? -1 : x.size() > y.size() ? 1 : 0;
        return ok_status();
    }
    return invalid_argument(fmt::format("'<' not supported between instances of '{}' and '{}'",
                                        python_type_name(a), python_type_name(b)));
}

Result<bool> python_contains(const JinjaValue& container, const JinjaValue& item) {
    switch (container.kind()) {
        case Kind::kString:
            if (!item.is_string())
                return invalid_argument(
                    fmt::format("'in <string>' requires string as left operand, not {}",
                                python_type_name(item)));
            return container.as_string().find(item.as_string()) != std::string::npos;
        case Kind::kList:
            for (const JinjaValue& v : container.as_list())
                if (v == item) return true;
            return false;
        case Kind::kMap:
        case Kind::kNamespace:
            if (item.is_list() || item.is_map())
                return invalid_argument(
                    fmt::format("unhashable type: '{}'", python_type_name(item)));
            return item.is_string() && container.find(item.as_string()) != nullptr;
        case Kind::kUndefined:
            return false;
        default:
            return invalid_argument(
                fmt::format("argument of type '{}' is not iterable", python_type_name(container)));
    }
}

const char* python_type_name(const JinjaValue& v) {
    switch (v.kind()) {
        case Kind::kUndefined:
            return "Undefined";
        case Kind::kNone:
            return "NoneType";
        case Kind::kBool:
            return "bool";
        case Kind::kInt:
            return "int";
        case Kind::kDouble:
            return "float";
        case Kind::kString:
            return "str";
        case Kind::kList:
            return v.is_generator() ? "generator" : v.is_tuple() ? "tuple" : "list";
        case Kind::kMap:
            return "dict";
        case Kind::kNamespace:
            return "Namespace";
        case Kind::kCallable:
            return "function";
    }
    return "object";
}

Result<JinjaValue> get_attr(const JinjaValue& obj, const std::string& name) {
    switch (obj.kind()) {
        case Kind::kUndefined:
            return undefined_error(obj);
        case Kind::kNamespace:
            if (const JinjaValue* v = obj.find(name)) return *v;
            break;
        case Kind::kMap: {
            JinjaValue m = bound_method(obj, name);
            if (!m.is_undefined()) return m;
            if (const JinjaValue* v = obj.find(name)) return *v;
            break;
        }
        default: {
            JinjaValue m = bound_method(obj, name);
            if (!m.is_undefined()) return m;
        }
    }
    return JinjaValue::undefined(
        fmt::format("'{} object' has no attribute '{}'", python_type_name(obj), name));
}

Result<JinjaValue> get_item(const JinjaValue& obj, const JinjaValue& key) {
    if (obj.is_undefined()) return undefined_error(obj);
    if (obj.is_generator()) return JinjaValue::undefined("'generator' object is not subscriptable");
    if ((obj.is_list() || obj.is_string()) && (key.is_int() || key.is_bool())) {
        const int64_t i = key.as_int();
        if (obj.is_list()) {
            const auto& l = obj.as_list();
            const int64_t n = static_cast<int64_t>(l.size());
            if (i >= -n && i < n) return l[static_cast<size_t>(i < 0 ? i + n : i)];
        } else {
            const std::vector<std::string> chars = python_chars(obj.as_string());
            const int64_t n = static_cast<int64_t>(chars.size());
            if (i >= -n && i < n) return JinjaValue(chars[static_cast<size_t>(i < 0 ? i + n : i)]);
        }
        return JinjaValue::undefined(
            fmt::format("{} object has no element {}", python_type_name(obj), i));
    }
    if (key.is_string()) {
        if (obj.is_map())
            if (const JinjaValue* v = obj.find(key.as_string())) return *v;
        return get_attr(obj, key.as_string());
    }
    return JinjaValue::undefined(
        fmt::format("{} object has no element {}", python_type_name(obj), key.repr()));
}

Result<JinjaValue::List> iterate(const JinjaValue& v) {
    switch (v.kind()) {
        case Kind::kList:
            return v.as_list();
        case Kind::kUndefined:
            return JinjaValue::List{};
        case Kind::kMap: {
            JinjaValue::List keys;
            for (const auto& kv : v.as_map()) keys.emplace_back(kv.first);
            return keys;
        }
        case Kind::kString: {
            JinjaValue::List chars;
            for (std::string& c : python_chars(v.as_string())) chars.emplace_back(std::move(c));
            return chars;
        }
        default:
            return invalid_argument(
                fmt::format("'{}' object is not iterable", python_type_name(v)));
    }
}

}  // namespace unicorn::text::jinja
