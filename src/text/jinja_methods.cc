// The str/dict methods chat templates call (Python's semantics), the methods the immutable
// sandbox refuses (list.append, dict.update: an error when called), and the globals of
// transformers' environment: range, namespace, dict, raise_exception, strftime_now.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <ctime>

#include "text/jinja_eval.h"
#include "text/jinja_value.h"

namespace unicorn::text::jinja {
namespace {

using List = JinjaValue::List;
using Map = JinjaValue::Map;

Status arg_error(const char* fn, const char* what) {
    return invalid_argument(fmt::format("{}: {}", fn, what));
}

// ---- methods ----

JinjaValue method(std::string name,
                  std::function<Result<JinjaValue>(Renderer&, const CallArgs&)> fn) {
    auto c = std::make_shared<Callable>();
    c->name = std::move(name);
    c->fn = std::move(fn);
    return JinjaValue::callable(std::move(c));
}

Result<bool> affix_match(const std::string& s, const JinjaValue& affix, bool prefix) {
    auto one = [&](const JinjaValue& x) -> Result<bool> {
        if (!x.is_string()) return arg_error(prefix ? "startswith" : "endswith", "expects str");
        const std::string& t = x.as_string();
        if (t.size() > s.size()) return false;
        return prefix ? s.compare(0, t.size(), t) == 0
                      : s.compare(s.size() - t.size(), t.size(), t) == 0;
    };
    if (affix.is_list()) {
        for (const JinjaValue& x : affix.as_list()) {
            UNI_ASSIGN_OR_RETURN(bool m, one(x));
            if (m) return true;
        }
        return false;
    }
    return one(affix);
}

JinjaValue string_method(const std::string& s, const std::string& name) {
    if (name == "startswith" || name == "endswith") {
        const bool prefix = name == "startswith";
        return method(name, [s, prefix](Renderer&, const CallArgs& a) -> Result<JinjaValue> {
            UNI_ASSIGN_OR_RETURN(bool m, affix_match(s, a.get(0, "prefix"), prefix));
            return JinjaValue(m);
        });
    }
    if (name == "strip" || name == "lstrip" || name == "rstrip") {
        const bool left = name != "rstrip";
        const bool right = name != "lstrip";
        return method(name, [s, left, right](Renderer&, const CallArgs& a) -> Result<JinjaValue> {
            const JinjaValue& chars = a.get(0, "chars");
            const std::string& c = chars.as_string();
            return JinjaValue(python_strip(s, left, right, chars.is_string() ? &c : nullptr));
        });
    }
    if (name == "split") {
        return method(name, [s](Renderer&, const CallArgs& a) -> Result<JinjaValue> {
            const JinjaValue& sep = a.get(0, "sep");
            const JinjaValue& maxsplit = a.get(1, "maxsplit");
            if (sep.is_string() && sep.as_string().empty())
                return invalid_argument("split: empty separator");
            const std::string& sep_s = sep.as_string();
            return JinjaValue(python_split(s, sep.is_string() ? &sep_s : nullptr,
                                           maxsplit.is_int() ? maxsplit.as_int() : -1));
        });
    }
    if (name == "splitlines") {
        return method(name, [s](Renderer&, const CallArgs&) -> Result<JinjaValue> {
            List out;
            size_t start = 0;
            while (start < s.size()) {
                const size_t nl = s.find('\n', start);
                if (nl == std::string::npos) {
                    out.emplace_back(s.substr(start));
                    break;
                }
                out.emplace_back(s.substr(start, nl - start));
                start = nl + 1;
            }
            return JinjaValue(std::move(out));
        });
    }
    if (name == "upper" || name == "lower" || name == "title" || name == "capitalize") {
        return method(name, [s, name](Renderer&, const CallArgs&) -> Result<JinjaValue> {
            if (name == "upper") return JinjaValue(python_upper(s));
            if (name == "lower") return JinjaValue(python_lower(s));
            if (name == "title") return JinjaValue(python_title(s));
            return JinjaValue(python_capitalize(s));
        });
    }
    if (name == "replace") {
        return method(name, [s](Renderer& r, const CallArgs& a) -> Result<JinjaValue> {
            const JinjaValue& count = a.get(2, "count");
            UNI_ASSIGN_OR_RETURN(
                std::string out,
                python_replace(s, a.get(0, "old").as_string(), a.get(1, "new").as_string(),
                               count.is_int() ? count.as_int() : -1, r.limits().max_output_bytes));
            return JinjaValue(std::move(out));
        });
    }
    if (name == "find") {
        return method(name, [s](Renderer&, const CallArgs& a) -> Result<JinjaValue> {
            const size_t p = s.find(a.get(0, "sub").as_string());
            if (p == std::string::npos) return JinjaValue(-1);
            return JinjaValue(static_cast<int64_t>(python_len(s.substr(0, p))));
        });
    }
    if (name == "join") {
        return method(name, [s](Renderer& r, const CallArgs& a) -> Result<JinjaValue> {
            UNI_ASSIGN_OR_RETURN(List items, iterate(a.get(0, "iterable")));
            std::string out;
            for (size_t i = 0; i < items.size(); ++i) {
                if (!items[i].is_string()) return arg_error("join", "expects str items");
                if (i > 0) out += s;
                out += items[i].as_string();
                UNI_RETURN_IF_ERROR(r.check_string_size(out.size()));
            }
            return JinjaValue(std::move(out));
        });
    }
    return JinjaValue();
}

JinjaValue dict_method(const JinjaValue& self, const std::string& name) {
    if (name == "items" || name == "keys" || name == "values") {
        return method(name, [self, name](Renderer&, const CallArgs&) -> Result<JinjaValue> {
            List out;
            for (const auto& kv : self.as_map()) {
                if (name == "items")
                    out.push_back(JinjaValue::tuple(List{JinjaValue(kv.first), kv.second}));
                else
                    out.push_back(name == "keys" ? JinjaValue(kv.first) : kv.second);
            }
            return JinjaValue(std::move(out));
        });
    }
    if (name == "get") {
        return method(name, [self](Renderer&, const CallArgs& a) -> Result<JinjaValue> {
            const JinjaValue& key = a.get(0, "key");
            if (key.is_string())
                if (const JinjaValue* v = self.find(key.as_string())) return *v;
            return a.has(1, "default") ? a.get(1, "default") : JinjaValue::none();
        });
    }
    return JinjaValue();
}

// ---- globals ----

Result<JinjaValue> g_range(Renderer& r, const CallArgs& a) {
    for (const JinjaValue& v : a.positional)
        if (!v.is_int() && !v.is_bool()) return arg_error("range", "arguments must be integers");
    int64_t start = 0;
    int64_t stop = 0;
    int64_t step = 1;
    if (a.positional.size() == 1) {
        stop = a.positional[0].as_int();
    } else if (a.positional.size() == 2 || a.positional.size() == 3) {
        start = a.positional[0].as_int();
        stop = a.positional[1].as_int();
        if (a.positional.size() == 3) step = a.positional[2].as_int();
    } else {
        return arg_error("range", "expects 1 to 3 arguments");
    }
    if (step == 0) return arg_error("range", "step must not be zero");
    const double n = std::ceil((static_cast<double>(stop) - static_cast<double>(start)) /
                               static_cast<double>(step));
    if (n > static_cast<double>(r.limits().max_collection_size))
        return resource_exhausted(
            fmt::format("range() of more than {} items", r.limits().max_collection_size));
    List out;
    for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) out.emplace_back(i);
    UNI_RETURN_IF_ERROR(r.charge(out.size()));
    return JinjaValue(std::move(out));
}

Result<Map> kwargs_map(const CallArgs& a, const char* fn) {
    Map m;
    if (!a.positional.empty()) {
        if (a.positional.size() > 1 || !a.positional[0].is_map())
            return arg_error(fn, "takes one mapping and keyword arguments");
        m = a.positional[0].as_map();
    }
    for (const auto& kv : a.keyword) {
        auto it =
            std::find_if(m.begin(), m.end(), [&](const auto& e) { return e.first == kv.first; });
        if (it != m.end())
            it->second = kv.second;
        else
            m.push_back(kv);
    }
    return m;
}

Result<std::string> strftime_utc(const std::string& fmt_s, const std::tm& tm) {
    static constexpr const char* kDays[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                            "Thursday", "Friday", "Saturday"};
    static constexpr const char* kMonths[] = {"January",   "February", "March",    "April",
                                              "May",       "June",     "July",     "August",
                                              "September", "October",  "November", "December"};
    std::string out;
    for (size_t i = 0; i < fmt_s.size(); ++i) {
        if (fmt_s[i] != '%' || i + 1 >= fmt_s.size()) {
            out += fmt_s[i];
            continue;
        }
        char c = fmt_s[++i];
        bool no_pad = false;
        if (c == '-' && i + 1 < fmt_s.size()) {  // glibc's %-d: no padding
            no_pad = true;
            c = fmt_s[++i];
        }
        auto num = [&](int v, int width) {
            out += no_pad ? std::to_string(v) : fmt::format("{:0{}d}", v, width);
        };
        switch (c) {
            case 'a':
                out += std::string(kDays[tm.tm_wday]).substr(0, 3);
                break;
            case 'A':
                out += kDays[tm.tm_wday];
                break;
            case 'b':
                out += std::string(kMonths[tm.tm_mon]).substr(0, 3);
                break;
            case 'B':
                out += kMonths[tm.tm_mon];
                break;
            case 'd':
                num(tm.tm_mday, 2);
                break;
            case 'e':
                out += fmt::format("{:2d}", tm.tm_mday);
                break;
            case 'm':
                num(tm.tm_mon + 1, 2);
                break;
            case 'Y':
                out += std::to_string(tm.tm_year + 1900);
                break;
            case 'y':
                num((tm.tm_year + 1900) % 100, 2);
                break;
            case 'H':
                num(tm.tm_hour, 2);
                break;
            case 'I':
                num(tm.tm_hour % 12 == 0 ? 12 : tm.tm_hour % 12, 2);
                break;
            case 'M':
                num(tm.tm_min, 2);
                break;
            case 'S':
                num(tm.tm_sec, 2);
                break;
            case 'p':
                out += tm.tm_hour < 12 ? "AM" : "PM";
                break;
            case 'j':
                num(tm.tm_yday + 1, 3);
                break;
            case '%':
                out += '%';
                break;
            default:
                return unsupported(fmt::format("strftime_now: directive %{} is not supported", c));
        }
    }
    return out;
}

}  // namespace

JinjaValue bound_method(const JinjaValue& self, const std::string& name) {
    if (self.is_string()) return string_method(self.as_string(), name);
    if (self.is_map()) {
        JinjaValue m = dict_method(self, name);
        if (!m.is_undefined()) return m;
    }
    // The methods that mutate: ImmutableSandboxedEnvironment refuses them.
    const bool unsafe =
        (self.is_map() && (name == "pop" || name == "popitem" || name == "setdefault" ||
                           name == "update" || name == "clear")) ||
        (self.is_list() &&
         (name == "append" || name == "extend" || name == "insert" || name == "pop" ||
          name == "remove" || name == "sort" || name == "reverse" || name == "clear"));
    if (unsafe) {
        std::string msg = fmt::format("access to attribute '{}' of '{}' object is unsafe", name,
                                      python_type_name(self));
        return method(name, [msg](Renderer&, const CallArgs&) -> Result<JinjaValue> {
            return invalid_argument(msg);
        });
    }
    return JinjaValue();
}

Map make_globals(const JinjaExtra& extra) {
    Map g;
    g.emplace_back("range", method("range", g_range));
    g.emplace_back("namespace",
                   method("namespace", [](Renderer&, const CallArgs& a) -> Result<JinjaValue> {
                       UNI_ASSIGN_OR_RETURN(Map m, kwargs_map(a, "namespace"));
                       for (const auto& kv : m)
                           if (contains_namespace(kv.second))
                               return arg_error("namespace", "cannot hold another namespace");
                       return JinjaValue::make_namespace(std::move(m));
                   }));
    g.emplace_back("dict", method("dict", [](Renderer&, const CallArgs& a) -> Result<JinjaValue> {
                       UNI_ASSIGN_OR_RETURN(Map m, kwargs_map(a, "dict"));
                       return JinjaValue(std::move(m));
                   }));
    g.emplace_back(
        "raise_exception",
        method("raise_exception", [](Renderer&, const CallArgs& a) -> Result<JinjaValue> {
            return invalid_argument("raise_exception: " + a.get(0, "message").to_string());
        }));
    if (extra.define_strftime_now) {
        const std::optional<int64_t> fixed = extra.fixed_time_unix;
        g.emplace_back(
            "strftime_now",
            method("strftime_now", [fixed](Renderer&, const CallArgs& a) -> Result<JinjaValue> {
                const JinjaValue& f = a.get(0, "format");
                if (!f.is_string()) return arg_error("strftime_now", "format must be a string");
                std::tm tm{};
                const std::time_t t = fixed ? static_cast<std::time_t>(*fixed) : std::time(nullptr);
                if (fixed ? gmtime_r(&t, &tm) == nullptr : localtime_r(&t, &tm) == nullptr)
                    return invalid_argument("strftime_now: time out of range");
                UNI_ASSIGN_OR_RETURN(std::string s, strftime_utc(f.as_string(), tm));
                return JinjaValue(std::move(s));
            }));
    }
    return g;
}

}  // namespace unicorn::text::jinja
