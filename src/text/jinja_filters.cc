// jinja2's filters and tests (filters.py, tests.py). `tojson` is transformers' override
// (json.dumps, ensure_ascii=False, keys unsorted), not jinja2's HTML-safe one. The filters that
// are Python generators in jinja2 (select, map, unique, items, reverse...) return
// JinjaValue::generator values: always true, no len().
//
// Filters: abs capitalize count d default e escape first float indent int items join last
// length list lower map reject rejectattr replace reverse safe select selectattr sort string
// sum title tojson trim unique upper.
// Tests: boolean callable defined divisibleby eq equalto even false float ge gt in integer
// iterable le lower lt mapping ne none number odd sameas sequence string true undefined upper
// (and ==, !=, <, <=, >, >=, greaterthan, lessthan).
#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "text/jinja_eval.h"
#include "text/jinja_value.h"

namespace unicorn::text::jinja {
namespace {

using Kind = JinjaValue::Kind;
using List = JinjaValue::List;
using Map = JinjaValue::Map;

Status arg_error(const char* fn, const char* what) {
    return invalid_argument(fmt::format("{}: {}", fn, what));
}

// A dotted attribute path ("function.name", "0.text") as jinja2's make_attrgetter reads it.
Result<JinjaValue> attr_path(const JinjaValue& v, const std::string& path) {
    JinjaValue cur = v;
    size_t start = 0;
    while (true) {
        const size_t dot = path.find('.', start);
        const std::string part = path.substr(start, dot == std::string::npos ? dot : dot - start);
        char* end = nullptr;
        const long long idx = std::strtoll(part.c_str(), &end, 10);
        if (!part.empty() && end != nullptr && *end == '\0') {
            UNI_ASSIGN_OR_RETURN(cur, get_item(cur, JinjaValue(static_cast<int64_t>(idx))));
        } else {
            UNI_ASSIGN_OR_RETURN(cur, get_item(cur, JinjaValue(part)));
        }
        if (dot == std::string::npos) return cur;
        start = dot + 1;
    }
}

// ---- filters ----

Result<JinjaValue> f_trim(Renderer&, const JinjaValue& v, const CallArgs& a) {
    const JinjaValue& chars = a.get(0, "chars");
    const std::string& c = chars.as_string();
    return JinjaValue(python_strip(v.to_string(), true, true, chars.is_string() ? &c : nullptr));
}

Result<JinjaValue> f_length(Renderer&, const JinjaValue& v, const CallArgs&) {
    switch (v.kind()) {
        case Kind::kString:
            return JinjaValue(static_cast<int64_t>(python_len(v.as_string())));
        case Kind::kList:
            if (v.is_generator()) break;
            return JinjaValue(static_cast<int64_t>(v.as_list().size()));
        case Kind::kMap:
            return JinjaValue(static_cast<int64_t>(v.as_map().size()));
        case Kind::kUndefined:
            return JinjaValue(0);
        default:
            break;
    }
    return invalid_argument(fmt::format("object of type '{}' has no len()", python_type_name(v)));
}
Result<JinjaValue> f_upper(Renderer&, const JinjaValue& v, const CallArgs&) {
    return JinjaValue(python_upper(v.to_string()));
}
Result<JinjaValue> f_lower(Renderer&, const JinjaValue& v, const CallArgs&) {
    return JinjaValue(python_lower(v.to_string()));
}
Result<JinjaValue> f_capitalize(Renderer&, const JinjaValue& v, const CallArgs&) {
    return JinjaValue(python_capitalize(v.to_string()));
}
Result<JinjaValue> f_title(Renderer&, const JinjaValue& v, const CallArgs&) {
    return JinjaValue(jinja_title(v.to_string()));
}
Result<JinjaValue> f_string(Renderer&, const JinjaValue& v, const CallArgs&) {
    return JinjaValue(v.to_string());
}
Result<JinjaValue> f_safe(Renderer&, const JinjaValue& v, const CallArgs&) { return v; }

Result<JinjaValue> f_escape(Renderer&, const JinjaValue& v, const CallArgs&) {
    std::string out;
    for (char c : v.to_string()) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&#34;";
                break;
            case '\'':
                out += "&#39;";
                break;
            default:
                out += c;
        }
    }
    return JinjaValue(std::move(out));
}

Result<JinjaValue> f_tojson(Renderer&, const JinjaValue& v, const CallArgs& a) {
    const JinjaValue& indent = a.get(0, "indent");
    if (a.get(1, "ensure_ascii").truthy() || a.get(3, "sort_keys").truthy() ||
        !(a.get(2, "separators").is_undefined() || a.get(2, "separators").is_none()))
        return unsupported("tojson: ensure_ascii, separators and sort_keys are not supported");
    if (!indent.is_undefined() && !indent.is_none() && !indent.is_int())
        return arg_error("tojson", "indent must be an integer");
    UNI_ASSIGN_OR_RETURN(
        std::string s,
        v.to_json(indent.is_int() ? static_cast<int>(std::min<int64_t>(indent.as_int(), 64)) : -1));
    return JinjaValue(std::move(s));
}

Result<JinjaValue> f_default(Renderer&, const JinjaValue& v, const CallArgs& a) {
    const bool boolean = a.get(1, "boolean").truthy();
    if (v.is_undefined() || (boolean && !v.truthy()))
        return a.has(0, "default_value") ? a.get(0, "default_value") : JinjaValue("");
    return v;
}

Result<JinjaValue> f_join(Renderer& r, const JinjaValue& v, const CallArgs& a) {
    UNI_ASSIGN_OR_RETURN(List items, iterate(v));
    const std::string sep = a.get(0, "d").to_string();
    const JinjaValue& attr = a.get(1, "attribute");
    std::string out;
    for (size_t i = 0; i < items.size(); ++i) {
        JinjaValue item = items[i];
        if (attr.is_string()) {
            UNI_ASSIGN_OR_RETURN(item, attr_path(item, attr.as_string()));
        }
        if (i > 0) out += sep;
        out += item.to_string();
        UNI_RETURN_IF_ERROR(r.check_string_size(out.size()));
    }
    return JinjaValue(std::move(out));
}

Result<JinjaValue> f_first(Renderer&, const JinjaValue& v, const CallArgs&) {
    UNI_ASSIGN_OR_RETURN(List items, iterate(v));
    if (items.empty()) return JinjaValue::undefined("No first item, sequence was empty.");
    return items.front();
}

Result<JinjaValue> f_last(Renderer&, const JinjaValue& v, const CallArgs&) {
    if (v.is_generator()) return invalid_argument("'generator' object is not reversible");
    UNI_ASSIGN_OR_RETURN(List items, iterate(v));
    if (items.empty()) return JinjaValue::undefined("No last item, sequence was empty.");
    return items.back();
}

Result<JinjaValue> f_list(Renderer&, const JinjaValue& v, const CallArgs&) {
    UNI_ASSIGN_OR_RETURN(List items, iterate(v));
    return JinjaValue(std::move(items));
}

Result<JinjaValue> f_items(Renderer&, const JinjaValue& v, const CallArgs&) {
    if (v.is_undefined()) return JinjaValue::generator(List{});
    if (!v.is_map()) return arg_error("items", "can only get item pairs from a mapping");
    List out;
    for (const auto& kv : v.as_map())
        out.push_back(JinjaValue::tuple(List{JinjaValue(kv.first), kv.second}));
    return JinjaValue::generator(std::move(out));
}

Result<JinjaValue> f_reverse(Renderer&, const JinjaValue& v, const CallArgs&) {
    if (v.is_string()) {
        std::vector<std::string> chars = python_chars(v.as_string());
        std::string out;
        for (auto it = chars.rbegin(); it != chars.rend(); ++it) out += *it;
        return JinjaValue(std::move(out));
    }
    UNI_ASSIGN_OR_RETURN(List items, iterate(v));
    std::reverse(items.begin(), items.end());
    // reversed(x) is an iterator; a generator has no reversed() and becomes a list.
    if (v.is_generator()) return JinjaValue(std::move(items));
    return JinjaValue::generator(std::move(items));
}

Result<JinjaValue> f_int(Renderer&, const JinjaValue& v, const CallArgs& a) {
    const JinjaValue dflt = a.has(0, "default") ? a.get(0, "default") : JinjaValue(0);
    if (v.is_undefined()) return invalid_argument(v.undefined_hint());
    if (v.is_int() || v.is_bool()) return JinjaValue(v.as_int());
    if (v.is_double()) {
        const double d = std::trunc(v.as_double());
        if (!std::isfinite(d) || std::fabs(d) >= 9.2e18) return dflt;
        return JinjaValue(static_cast<int64_t>(d));
    }
    if (!v.is_string()) return dflt;
    std::string s = python_strip(v.as_string(), true, true, nullptr);
    s.erase(std::remove(s.begin(), s.end(), '_'), s.end());
    if (s.empty()) return dflt;
    errno = 0;
    char* end = nullptr;
    const long long i = std::strtoll(s.c_str(), &end, 10);
    if (errno == 0 && end != nullptr && *end == '\0') return JinjaValue(static_cast<int64_t>(i));
    const double d = std::strtod(s.c_str(), &end);
    if (end != nullptr && *end == '\0' && std::isfinite(d) && std::fabs(d) < 9.2e18)
        return JinjaValue(static_cast<int64_t>(std::trunc(d)));
    return dflt;
}

Result<JinjaValue> f_float(Renderer&, const JinjaValue& v, const CallArgs& a) {
    const JinjaValue dflt = a.has(0, "default") ? a.get(0, "default") : JinjaValue(0.0);
    if (v.is_undefined()) return invalid_argument(v.undefined_hint());
    if (v.is_number()) return JinjaValue(v.as_double());
    if (!v.is_string()) return dflt;
    const std::string s = python_strip(v.as_string(), true, true, nullptr);
    char* end = nullptr;
    const double d = std::strtod(s.c_str(), &end);
    if (!s.empty() && end != nullptr && *end == '\0') return JinjaValue(d);
    return dflt;
}

Result<JinjaValue> f_abs(Renderer&, const JinjaValue& v, const CallArgs&) {
    if (v.is_double()) return JinjaValue(std::fabs(v.as_double()));
    if (v.is_int() || v.is_bool()) {
        if (v.as_int() == INT64_MIN) return out_of_range("integer overflow");
        return JinjaValue(v.as_int() < 0 ? -v.as_int() : v.as_int());
    }
    return invalid_argument(fmt::format("bad operand type for abs(): '{}'", python_type_name(v)));
}

Result<JinjaValue> f_replace(Renderer& r, const JinjaValue& v, const CallArgs& a) {
    const JinjaValue& count = a.get(2, "count");
    UNI_ASSIGN_OR_RETURN(
        std::string s,
        python_replace(v.to_string(), a.get(0, "old").to_string(), a.get(1, "new").to_string(),
                       count.is_int() ? count.as_int() : -1, r.limits().max_output_bytes));
    return JinjaValue(std::move(s));
}

Result<JinjaValue> f_indent(Renderer&, const JinjaValue& v, const CallArgs& a) {
    const JinjaValue& w = a.get(0, "width");
    const std::string pad = w.is_string()
                                ? w.as_string()
                                : std::string(static_cast<size_t>(std::clamp<int64_t>(
                                                  w.is_undefined() ? 4 : w.as_int(), 0, 256)),
                                              ' ');
    // jinja2's do_indent: lines after the first get the indent (blank ones only with blank=True),
    // the first line only with first=True. It appends to the value, so it needs a string.
    if (v.is_undefined()) return invalid_argument(v.undefined_hint());
    if (!v.is_string())
        return invalid_argument(
            fmt::format("indent: expects a string, got '{}'", python_type_name(v)));
    std::vector<std::string> lines;
    const std::string s = v.to_string();
    for (size_t start = 0;;) {
        const size_t nl = s.find('\n', start);
        lines.push_back(s.substr(start, nl == std::string::npos ? nl : nl - start));
        if (nl == std::string::npos) break;
        start = nl + 1;
    }
    const bool blank = a.get(2, "blank").truthy();
    std::string out = lines[0];
    for (size_t i = 1; i < lines.size(); ++i)
        out += "\n" + ((blank || !lines[i].empty()) ? pad : std::string()) + lines[i];
    if (a.get(1, "first").truthy()) out = pad + out;
    return JinjaValue(std::move(out));
}

Result<JinjaValue> f_sum(Renderer&, const JinjaValue& v, const CallArgs& a) {
    UNI_ASSIGN_OR_RETURN(List items, iterate(v));
    const JinjaValue& attr = a.get(0, "attribute");
    JinjaValue total = a.has(1, "start") ? a.get(1, "start") : JinjaValue(0);
    for (JinjaValue item : items) {
        if (attr.is_string()) {
            UNI_ASSIGN_OR_RETURN(item, attr_path(item, attr.as_string()));
        }
        if (!total.is_number() || !item.is_number()) return arg_error("sum", "non-numeric item");
        if (total.is_double() || item.is_double())
            total = JinjaValue(total.as_double() + item.as_double());
        else
            total = JinjaValue(total.as_int() + item.as_int());
    }
    return total;
}

Result<JinjaValue> f_unique(Renderer& r, const JinjaValue& v, const CallArgs&) {
    UNI_ASSIGN_OR_RETURN(List items, iterate(v));
    UNI_RETURN_IF_ERROR(r.charge(items.size()));
    List out;
    for (JinjaValue& item : items) {
        if (item.is_list() || item.is_map())
            return invalid_argument(
                fmt::format("unique: unhashable type: '{}'", python_type_name(item)));
        const JinjaValue key = item.is_string() ? JinjaValue(python_lower(item.as_string())) : item;
        bool seen = false;
        for (const JinjaValue& o : out)
            seen = seen || (o.is_string() ? JinjaValue(python_lower(o.as_string())) : o) == key;
        if (!seen) out.push_back(std::move(item));
    }
    return JinjaValue::generator(std::move(out));
}

Result<JinjaValue> f_sort(Renderer& r, const JinjaValue& v, const CallArgs& a) {
    UNI_ASSIGN_OR_RETURN(List items, iterate(v));
    UNI_RETURN_IF_ERROR(r.charge(items.size()));
    const bool reverse = a.get(0, "reverse").truthy();
    const bool case_sensitive = a.get(1, "case_sensitive").truthy();
    const JinjaValue& attr = a.get(2, "attribute");
    std::vector<std::pair<JinjaValue, JinjaValue>> keyed;
    for (JinjaValue& item : items) {
        JinjaValue key = item;
        if (attr.is_string()) {
            UNI_ASSIGN_OR_RETURN(key, attr_path(item, attr.as_string()));
        }
        if (key.is_string() && !case_sensitive) key = JinjaValue(python_lower(key.as_string()));
        keyed.emplace_back(std::move(key), std::move(item));
    }
    Status err;
    std::stable_sort(keyed.begin(), keyed.end(), [&](const auto& x, const auto& y) {
        if (!err.ok()) return false;
        const JinjaValue& p = reverse ? y.first : x.first;
        const JinjaValue& q = reverse ? x.first : y.first;
        if (p.is_number() && q.is_number()) return p.as_double() < q.as_double();
        if (p.is_string() && q.is_string()) return p.as_string() < q.as_string();
        err = invalid_argument(fmt::format("sort: cannot compare '{}' and '{}'",
                                           python_type_name(p), python_type_name(q)));
        return false;
    });
    UNI_RETURN_IF_ERROR(err);
    List out;
    for (auto& kv : keyed) out.push_back(std::move(kv.second));
    return JinjaValue(std::move(out));
}

// select/reject/selectattr/rejectattr: keep the items whose (attribute's) test result is `want`.
Result<JinjaValue> select_impl(Renderer& r, const JinjaValue& v, const CallArgs& a, bool by_attr,
                               bool want) {
    UNI_ASSIGN_OR_RETURN(List items, iterate(v));
    UNI_RETURN_IF_ERROR(r.charge(items.size()));
    size_t next = 0;
    std::string attr;
    if (by_attr) {
        if (a.positional.empty() || !a.positional[0].is_string())
            return arg_error("selectattr", "missing attribute name");
        attr = a.positional[0].as_string();
        next = 1;
    }
    TestFn test = nullptr;
    CallArgs test_args;
    if (next < a.positional.size()) {
        const std::string& name = a.positional[next].as_string();
        test = find_test(name);
        if (test == nullptr) return invalid_argument(fmt::format("no test named '{}'", name));
        test_args.positional.assign(a.positional.begin() + static_cast<long>(next) + 1,
                                    a.positional.end());
    }
    List out;
    for (JinjaValue& item : items) {
        JinjaValue subject = item;
        if (by_attr) {
            UNI_ASSIGN_OR_RETURN(subject, attr_path(item, attr));
        }
        bool result = false;
        if (test != nullptr) {
            UNI_ASSIGN_OR_RETURN(result, test(r, subject, test_args));
        } else {
            result = subject.truthy();
        }
        if (result == want) out.push_back(std::move(item));
    }
    return JinjaValue::generator(std::move(out));
}

Result<JinjaValue> f_select(Renderer& r, const JinjaValue& v, const CallArgs& a) {
    return select_impl(r, v, a, false, true);
}
Result<JinjaValue> f_reject(Renderer& r, const JinjaValue& v, const CallArgs& a) {
    return select_impl(r, v, a, false, false);
}
Result<JinjaValue> f_selectattr(Renderer& r, const JinjaValue& v, const CallArgs& a) {
    return select_impl(r, v, a, true, true);
}
Result<JinjaValue> f_rejectattr(Renderer& r, const JinjaValue& v, const CallArgs& a) {
    return select_impl(r, v, a, true, false);
}

// map(attribute='x', default=...) or map('filter', args...).
Result<JinjaValue> f_map(Renderer& r, const JinjaValue& v, const CallArgs& a) {
    UNI_ASSIGN_OR_RETURN(List items, iterate(v));
    UNI_RETURN_IF_ERROR(r.charge(items.size()));
    List out;
    const JinjaValue& attr = a.get(99, "attribute");
    if (attr.is_string()) {
        const JinjaValue& dflt = a.get(99, "default");
        for (const JinjaValue& item : items) {
            UNI_ASSIGN_OR_RETURN(JinjaValue x, attr_path(item, attr.as_string()));
            out.push_back(x.is_undefined() && !dflt.is_undefined() ? dflt : x);
        }
        return JinjaValue::generator(std::move(out));
    }
    if (a.positional.empty() || !a.positional[0].is_string())
        return arg_error("map", "needs a filter name or attribute=");
    const FilterFn f = find_filter(a.positional[0].as_string());
    if (f == nullptr)
        return invalid_argument(fmt::format("no filter named '{}'", a.positional[0].as_string()));
    CallArgs fargs;
    fargs.positional.assign(a.positional.begin() + 1, a.positional.end());
    fargs.keyword = a.keyword;
    for (const JinjaValue& item : items) {
        UNI_ASSIGN_OR_RETURN(JinjaValue x, f(r, item, fargs));
        out.push_back(std::move(x));
    }
    return JinjaValue::generator(std::move(out));
}

// ---- tests ----

Result<bool> t_defined(Renderer&, const JinjaValue& v, const CallArgs&) {
    return !v.is_undefined();
}
Result<bool> t_undefined(Renderer&, const JinjaValue& v, const CallArgs&) {
    return v.is_undefined();
}
Result<bool> t_none(Renderer&, const JinjaValue& v, const CallArgs&) { return v.is_none(); }
Result<bool> t_string(Renderer&, const JinjaValue& v, const CallArgs&) { return v.is_string(); }
Result<bool> t_mapping(Renderer&, const JinjaValue& v, const CallArgs&) { return v.is_map(); }
Result<bool> t_iterable(Renderer&, const JinjaValue& v, const CallArgs&) {
    return v.is_list() || v.is_map() || v.is_string() || v.is_undefined();
}
Result<bool> t_sequence(Renderer&, const JinjaValue& v, const CallArgs&) {
    return (v.is_list() && !v.is_generator()) || v.is_map() || v.is_string() || v.is_undefined();
}
Result<bool> t_number(Renderer&, const JinjaValue& v, const CallArgs&) { return v.is_number(); }
Result<bool> t_integer(Renderer&, const JinjaValue& v, const CallArgs&) { return v.is_int(); }
Result<bool> t_float(Renderer&, const JinjaValue& v, const CallArgs&) { return v.is_double(); }
Result<bool> t_boolean(Renderer&, const JinjaValue& v, const CallArgs&) { return v.is_bool(); }
Result<bool> t_true(Renderer&, const JinjaValue& v, const CallArgs&) {
    return v.is_bool() && v.as_bool();
}
Result<bool> t_false(Renderer&, const JinjaValue& v, const CallArgs&) {
    return v.is_bool() && !v.as_bool();
}
Result<bool> t_callable(Renderer&, const JinjaValue& v, const CallArgs&) { return v.is_callable(); }
Result<bool> t_eq(Renderer&, const JinjaValue& v, const CallArgs& a) {
    return v == a.get(0, "other");
}
Result<bool> t_ne(Renderer&, const JinjaValue& v, const CallArgs& a) {
    return v != a.get(0, "other");
}

Result<bool> ordered(const JinjaValue& v, const JinjaValue& o, const char* op) {
    if (v.is_number() && o.is_number()) {
        const double x = v.as_double();
        const double y = o.as_double();
        const std::string_view s(op);
        return s == "<" ? x < y : s == "<=" ? x <= y : s == ">" ? x > y : x >= y;
    }
    if (v.is_string() && o.is_string()) {
        const int c = v.as_string().compare(o.as_string());
        const std::string_view s(op);
        return s == "<" ? c < 0 : s == "<=" ? c <= 0 : s == ">" ? c > 0 : c >= 0;
    }
    return invalid_argument(fmt::format("'{}' not supported between '{}' and '{}'", op,
                                        python_type_name(v), python_type_name(o)));
}
Result<bool> t_lt(Renderer&, const JinjaValue& v, const CallArgs& a) {
    return ordered(v, a.get(0, "other"), "<");
}
Result<bool> t_le(Renderer&, const JinjaValue& v, const CallArgs& a) {
    return ordered(v, a.get(0, "other"), "<=");
}
Result<bool> t_gt(Renderer&, const JinjaValue& v, const CallArgs& a) {
    return ordered(v, a.get(0, "other"), ">");
}
Result<bool> t_ge(Renderer&, const JinjaValue& v, const CallArgs& a) {
    return ordered(v, a.get(0, "other"), ">=");
}

Result<bool> t_in(Renderer&, const JinjaValue& v, const CallArgs& a) {
    const JinjaValue& seq = a.get(0, "seq");
    if (seq.is_string())
        return v.is_string() && seq.as_string().find(v.as_string()) != std::string::npos;
    if (seq.is_map() || seq.is_namespace())
        return v.is_string() && seq.find(v.as_string()) != nullptr;
    for (const JinjaValue& x : seq.as_list())
        if (x == v) return true;
    return false;
}

// odd/even/divisibleby are `value % n` in jinja2: any number works, as Python's % does.
Result<double> py_mod(const JinjaValue& v, const JinjaValue& n, const char* name) {
    if (!v.is_number() || !n.is_number())
        return invalid_argument(fmt::format("{}: expected numbers, got '{}' and '{}'", name,
                                            python_type_name(v), python_type_name(n)));
    const double y = n.as_double();
    if (y == 0) return invalid_argument(fmt::format("{}: modulo by zero", name));
    if (!v.is_double() && !n.is_double()) {
        const int64_t a = v.as_int();
        const int64_t b = n.as_int();
        if (b == -1) return 0.0;
        int64_t m = a % b;
        if (m != 0 && ((m < 0) != (b < 0))) m += b;
        return static_cast<double>(m);
    }
    double m = std::fmod(v.as_double(), y);
    if (m != 0 && ((m < 0) != (y < 0))) m += y;
    return m;
}
Result<bool> t_odd(Renderer&, const JinjaValue& v, const CallArgs&) {
    UNI_ASSIGN_OR_RETURN(double m, py_mod(v, JinjaValue(2), "odd"));
    return m == 1;
}
Result<bool> t_even(Renderer&, const JinjaValue& v, const CallArgs&) {
    UNI_ASSIGN_OR_RETURN(double m, py_mod(v, JinjaValue(2), "even"));
    return m == 0;
}
Result<bool> t_divisibleby(Renderer&, const JinjaValue& v, const CallArgs& a) {
    UNI_ASSIGN_OR_RETURN(double m, py_mod(v, a.get(0, "num"), "divisibleby"));
    return m == 0;
}
Result<bool> t_sameas(Renderer&, const JinjaValue& v, const CallArgs& a) {
    const JinjaValue& o = a.get(0, "other");
    return v.kind() == o.kind() && v == o;
}
Result<bool> t_lower(Renderer&, const JinjaValue& v, const CallArgs&) {
    return python_islower(v.to_string());
}
Result<bool> t_upper(Renderer&, const JinjaValue& v, const CallArgs&) {
    return python_isupper(v.to_string());
}

}  // namespace

FilterFn find_filter(std::string_view name) {
    struct Entry {
        std::string_view name;
        FilterFn fn;
    };
    static constexpr Entry kFilters[] = {
        {"abs", f_abs},
        {"capitalize", f_capitalize},
        {"count", f_length},
        {"d", f_default},
        {"default", f_default},
        {"e", f_escape},
        {"escape", f_escape},
        {"first", f_first},
        {"float", f_float},
        {"indent", f_indent},
        {"int", f_int},
        {"items", f_items},
        {"join", f_join},
        {"last", f_last},
        {"length", f_length},
        {"list", f_list},
        {"lower", f_lower},
        {"map", f_map},
        {"reject", f_reject},
        {"rejectattr", f_rejectattr},
        {"replace", f_replace},
        {"reverse", f_reverse},
        {"safe", f_safe},
        {"select", f_select},
        {"selectattr", f_selectattr},
        {"sort", f_sort},
        {"string", f_string},
        {"sum", f_sum},
        {"title", f_title},
        {"tojson", f_tojson},
        {"trim", f_trim},
        {"unique", f_unique},
        {"upper", f_upper},
    };
    for (const Entry& e : kFilters)
        if (e.name == name) return e.fn;
    return nullptr;
}

TestFn find_test(std::string_view name) {
    struct Entry {
        std::string_view name;
        TestFn fn;
    };
    static constexpr Entry kTests[] = {
        {"!=", t_ne},
        {"<", t_lt},
        {"<=", t_le},
        {"==", t_eq},
        {">", t_gt},
        {">=", t_ge},
        {"boolean", t_boolean},
        {"callable", t_callable},
        {"defined", t_defined},
        {"divisibleby", t_divisibleby},
        {"eq", t_eq},
        {"equalto", t_eq},
        {"even", t_even},
        {"false", t_false},
        {"float", t_float},
        {"ge", t_ge},
        {"greaterthan", t_gt},
        {"gt", t_gt},
        {"in", t_in},
        {"integer", t_integer},
        {"iterable", t_iterable},
        {"le", t_le},
        {"lessthan", t_lt},
        {"lower", t_lower},
        {"lt", t_lt},
        {"mapping", t_mapping},
        {"ne", t_ne},
        {"none", t_none},
        {"number", t_number},
        {"odd", t_odd},
        {"sameas", t_sameas},
        {"sequence", t_sequence},
        {"string", t_string},
        {"true", t_true},
        {"undefined", t_undefined},
        {"upper", t_upper},
    };
    for (const Entry& e : kTests)
        if (e.name == name) return e.fn;
    return nullptr;
}

}  // namespace unicorn::text::jinja
