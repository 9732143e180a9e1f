// JinjaValue and the Python semantics it carries: str()/repr() as Python prints them, ==,
// truthiness, and json.dumps(ensure_ascii=False) as transformers' tojson filter writes it.
#include "text/jinja_value.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <nlohmann/json.hpp>

#include "text/unicode.h"

namespace unicorn::text {

using jinja::kMaxValueDepth;

namespace {

const std::string kEmptyString;
const JinjaValue::List kEmptyList;
const JinjaValue::Map kEmptyMap;

size_t list_depth(const JinjaValue::List& l) {
    size_t d = 0;
    for (const JinjaValue& v : l) d = std::max(d, v.depth());
    return d + 1;
}

size_t map_depth(const JinjaValue::Map& m) {
    size_t d = 0;
    for (const auto& kv : m) d = std::max(d, kv.second.depth());
    return d + 1;
}

void json_escape(std::string& out, std::string_view s) {
    out += '"';
    for (char c : s) {
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            case '\b':
                out += "\\b";
                break;
            case '\f':
                out += "\\f";
                break;
            default:
                if (static_cast<unsigned char>(c) < 0x20)
                    out += fmt::format("\\u{:04x}", static_cast<unsigned char>(c));
                else
                    out += c;
        }
    }
    out += '"';
}

Status json_dump(const JinjaValue& v, int indent, int level, std::string& out) {
    auto newline = [&](int lvl) {
        out += '\n';
        out.append(static_cast<size_t>(indent) * static_cast<size_t>(lvl), ' ');
    };
    switch (v.kind()) {
        case JinjaValue::Kind::kNone:
            out += "null";
            return ok_status();
        case JinjaValue::Kind::kBool:
            out += v.as_bool() ? "true" : "false";
            return ok_status();
        case JinjaValue::Kind::kInt:
            out += std::to_string(v.as_int());
            return ok_status();
        case JinjaValue::Kind::kDouble: {
            const double d = v.as_double();
            if (std::isnan(d))
                out += "NaN";
            else if (std::isinf(d))
                out += d > 0 ? "Infinity" : "-Infinity";
            else
                out += jinja::python_float_repr(d);
            return ok_status();
        }
        case JinjaValue::Kind::kString:
            json_escape(out, v.as_string());
            return ok_status();
        case JinjaValue::Kind::kList: {
            if (v.is_generator())
                return invalid_argument("tojson: a generator is not JSON serializable");
            const auto& l = v.as_list();
            if (l.empty()) {
                out += "[]";
                return ok_status();
            }
            out += '[';
            for (size_t i = 0; i < l.size(); ++i) {
                if (i > 0) out += indent >= 0 ? "," : ", ";
                if (indent >= 0) newline(level + 1);
                UNI_RETURN_IF_ERROR(json_dump(l[i], indent, level + 1, out));
            }
            if (indent >= 0) newline(level);
            out += ']';
            return ok_status();
        }
        case JinjaValue::Kind::kMap: {
            const auto& m = v.as_map();
            if (m.empty()) {
                out += "{}";
                return ok_status();
            }
            out += '{';
            for (size_t i = 0; i < m.size(); ++i) {
                if (i > 0) out += indent >= 0 ? "," : ", ";
                if (indent >= 0) newline(level + 1);
                json_escape(out, m[i].first);
                out += ": ";
                UNI_RETURN_IF_ERROR(json_dump(m[i].second, indent, level + 1, out));
            }
            if (indent >= 0) newline(level);
            out += '}';
            return ok_status();
        }
        case JinjaValue::Kind::kUndefined:
            return invalid_argument("tojson: an undefined value is not JSON serializable");
        case JinjaValue::Kind::kNamespace:
            return invalid_argument("tojson: a namespace is not JSON serializable");
        case JinjaValue::Kind::kCallable:
            return invalid_argument("tojson: a function is not JSON serializable");
    }
    return internal_error("tojson: unknown value kind");
}

Result<JinjaValue> from_ordered_json(const nlohmann::ordered_json& j, size_t depth) {
    if (depth > kMaxValueDepth)
        return invalid_argument(fmt::format("JSON nested deeper than {} levels", kMaxValueDepth));
    switch (j.type()) {
        case nlohmann::ordered_json::value_t::null:
            return JinjaValue::none();
        case nlohmann::ordered_json::value_t::boolean:
            return JinjaValue(j.get<bool>());
        case nlohmann::ordered_json::value_t::number_integer:
            return JinjaValue(j.get<int64_t>());
        case nlohmann::ordered_json::value_t::number_unsigned: {
            const uint64_t u = j.get<uint64_t>();
            if (u <= static_cast<uint64_t>(INT64_MAX)) return JinjaValue(static_cast<int64_t>(u));
            return JinjaValue(static_cast<double>(u));
        }
        case nlohmann::ordered_json::value_t::number_float:
            return JinjaValue(j.get<double>());
        case nlohmann::ordered_json::value_t::string:
            return JinjaValue(j.get_ref<const std::string&>());
        case nlohmann::ordered_json::value_t::array: {
            JinjaValue::List l;
            l.reserve(j.size());
            for (const auto& e : j) {
                UNI_ASSIGN_OR_RETURN(JinjaValue v, from_ordered_json(e, depth + 1));
                l.push_back(std::move(v));
            }
            return JinjaValue(std::move(l));
        }
        case nlohmann::ordered_json::value_t::object: {
            JinjaValue::Map m;
            m.reserve(j.size());
            for (auto it = j.begin(); it != j.end(); ++it) {
                UNI_ASSIGN_OR_RETURN(JinjaValue v, from_ordered_json(it.value(), depth + 1));
                m.emplace_back(it.key(), std::move(v));
            }
            return JinjaValue(std::move(m));
        }
        default:
            return invalid_argument("JSON value of an unsupported type (binary)");
    }
}

}  // namespace

JinjaValue::JinjaValue(std::string s)
    : kind_(Kind::kString), s_(std::make_shared<const std::string>(std::move(s))) {}

JinjaValue::JinjaValue(List list) : kind_(Kind::kList) {
    depth_ = static_cast<uint32_t>(list_depth(list));
    list_ = std::make_shared<const List>(std::move(list));
}

JinjaValue::JinjaValue(Map map) : kind_(Kind::kMap) {
    depth_ = static_cast<uint32_t>(map_depth(map));
    map_ = std::make_shared<Map>(std::move(map));
}

JinjaValue JinjaValue::none() {
    JinjaValue v;
    v.kind_ = Kind::kNone;
    return v;
}

JinjaValue JinjaValue::tuple(List items) {
    JinjaValue v(std::move(items));
    v.tuple_ = true;
    return v;
}

JinjaValue JinjaValue::generator(List items) {
    JinjaValue v(std::move(items));
    v.generator_ = true;
    return v;
}

JinjaValue JinjaValue::undefined(std::string hint) {
    JinjaValue v;
    v.s_ = std::make_shared<const std::string>(std::move(hint));
    return v;
}

JinjaValue JinjaValue::make_namespace(Map attrs) {
    JinjaValue v;
    v.kind_ = Kind::kNamespace;
    v.map_ = std::make_shared<Map>(std::move(attrs));
    return v;
}

JinjaValue JinjaValue::callable(std::shared_ptr<const jinja::Callable> fn) {
    JinjaValue v;
    v.kind_ = Kind::kCallable;
    v.fn_ = std::move(fn);
    return v;
}

Result<JinjaValue> JinjaValue::from_json(std::string_view json_text) {
    nlohmann::ordered_json j = nlohmann::ordered_json::parse(json_text, nullptr, false);
    if (j.is_discarded()) return invalid_argument("not valid JSON");
    return from_ordered_json(j, 0);
}

const std::string& JinjaValue::as_string() const { return s_ ? *s_ : kEmptyString; }
const JinjaValue::List& JinjaValue::as_list() const { return list_ ? *list_ : kEmptyList; }
const JinjaValue::Map& JinjaValue::as_map() const { return map_ ? *map_ : kEmptyMap; }

const JinjaValue* JinjaValue::find(std::string_view key) const {
    if (!map_) return nullptr;
    for (const auto& kv : *map_)
        if (kv.first == key) return &kv.second;
    return nullptr;
}

void JinjaValue::set_namespace_attr(const std::string& key, JinjaValue v) const {
    if (kind_ != Kind::kNamespace) return;
    for (auto& kv : *map_) {
        if (kv.first == key) {
            kv.second = std::move(v);
            return;
        }
    }
    map_->emplace_back(key, std::move(v));
}

bool JinjaValue::truthy() const {
    switch (kind_) {
        case Kind::kUndefined:
        case Kind::kNone:
            return false;
        case Kind::kBool:
            return b_;
        case Kind::kInt:
            return i_ != 0;
        case Kind::kDouble:
            return d_ != 0.0;
        case Kind::kString:
            return !as_string().empty();
        case Kind::kList:
            return generator_ || !as_list().empty();
        case Kind::kMap:
            return !as_map().empty();
        case Kind::kNamespace:
        case Kind::kCallable:
            return true;
    }
    return false;
}

std::string JinjaValue::to_string() const {
    switch (kind_) {
        case Kind::kUndefined:
            return "";
        case Kind::kNone:
            return "None";
        case Kind::kBool:
            return b_ ? "True" : "False";
        case Kind::kInt:
            return std::to_string(i_);
        case Kind::kDouble:
            return jinja::python_float_repr(d_);
        case Kind::kString:
            return as_string();
        case Kind::kList: {
            if (generator_) return "<generator object>";
            std::string out = tuple_ ? "(" : "[";
            const auto& l = as_list();
            for (size_t i = 0; i < l.size(); ++i) out += (i ? ", " : "") + l[i].repr();
            if (tuple_) return out + (l.size() == 1 ? ",)" : ")");
            return out + "]";
        }
        case Kind::kMap: {
            std::string out = "{";
            const auto& m = as_map();
            for (size_t i = 0; i < m.size(); ++i)
                out += (i ? ", " : "") + jinja::python_str_repr(m[i].first) + ": " +
                       m[i].second.repr();
            return out + "}";
        }
        case Kind::kNamespace:
            return "<Namespace " + JinjaValue(as_map()).to_string() + ">";
        case Kind::kCallable:
            return "<function " + (fn_ ? fn_->name : std::string()) + ">";
    }
    return "";
}

std::string JinjaValue::repr() const {
    if (kind_ == Kind::kString) return jinja::python_str_repr(as_string());
    if (kind_ == Kind::kUndefined) return "Undefined";
    return to_string();
}

Result<std::string> JinjaValue::to_json(int indent) const {
    std::string out;
    UNI_RETURN_IF_ERROR(json_dump(*this, indent, 0, out));
    return out;
}

bool JinjaValue::operator==(const JinjaValue& o) const {
    if (is_number() && o.is_number()) {
        if (is_double() || o.is_double()) return as_double() == o.as_double();
        return as_int() == o.as_int();
    }
    if (kind_ != o.kind_ || tuple_ != o.tuple_ || generator_ != o.generator_) return false;
    if (generator_) return list_ == o.list_;
    switch (kind_) {
        case Kind::kUndefined:
        case Kind::kNone:
            return true;
        case Kind::kString:
            return as_string() == o.as_string();
        case Kind::kList:
            return list_ == o.list_ || as_list() == o.as_list();
        case Kind::kMap: {
            if (map_ == o.map_) return true;
            if (as_map().size() != o.as_map().size()) return false;
            for (const auto& kv : as_map()) {
                const JinjaValue* other = o.find(kv.first);
                if (other == nullptr || !(*other == kv.second)) return false;
            }
            return true;
        }
        case Kind::kNamespace:
            return map_ == o.map_;
        case Kind::kCallable:
            return fn_ == o.fn_;
        default:
            return false;
    }
}

namespace jinja {

const JinjaValue& CallArgs::get(size_t index, std::string_view name) const {
    static const JinjaValue kUndefined;
    if (index < positional.size()) return positional[index];
    for (const auto& kv : keyword)
        if (kv.first == name) return kv.second;
    return kUndefined;
}

bool CallArgs::has(size_t index, std::string_view name) const {
    if (index < positional.size()) return true;
    for (const auto& kv : keyword)
        if (kv.first == name) return true;
    return false;
}

bool contains_namespace(const JinjaValue& v) {
    if (v.is_namespace()) return true;
    if (v.is_list())
        for (const JinjaValue& e : v.as_list())
            if (contains_namespace(e)) return true;
    if (v.is_map())
        for (const auto& kv : v.as_map())
            if (contains_namespace(kv.second)) return true;
    return false;
}

std::string python_float_repr(double d) {
    if (std::isnan(d)) return "nan";
    if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
    char buf[64];
    // Shortest round-trip digits, as Python's repr picks them; the layout follows repr's rule:
    // positional for exponents in [-4, 16), scientific otherwise.
    auto res = std::to_chars(buf, buf + sizeof(buf), d, std::chars_format::scientific);
    std::string sci(buf, res.ptr);
    std::string sign;
    if (!sci.empty() && sci[0] == '-') {
        sign = "-";
        sci.erase(0, 1);
    }
    const size_t epos = sci.find('e');
    std::string digits = sci.substr(0, epos);
    digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
    const int exp = std::stoi(sci.substr(epos + 1));
    if (exp >= -4 && exp < 16) {
        std::string out;
        if (exp >= 0) {
            const size_t int_len = static_cast<size_t>(exp) + 1;
            if (digits.size() < int_len) digits.append(int_len - digits.size(), '0');
            out = digits.substr(0, int_len) + "." +
                  (digits.size() > int_len ? digits.substr(int_len) : "0");
        } else {
            out = "0." + std::string(static_cast<size_t>(-exp - 1), '0') + digits;
        }
        return sign + out;
    }
    std::string mant = digits.substr(0, 1);
    if (digits.size() > 1) mant += "." + digits.substr(1);
    return sign + mant + fmt::format("e{}{:02d}", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
}

std::string python_str_repr(std::string_view s) {
    const bool dq = s.find('\'') != std::string_view::npos && s.find('"') == std::string_view::npos;
    const char q = dq ? '"' : '\'';
    std::string out(1, q);
    for (char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '\\')
            out += "\\\\";
        else if (c == q)
            out += std::string("\\") + q;
        else if (c == '\n')
            out += "\\n";
        else if (c == '\r')
            out += "\\r";
        else if (c == '\t')
            out += "\\t";
        else if (u < 0x20 || u == 0x7f)
            out += fmt::format("\\x{:02x}", u);
        else
            out += c;
    }
    out += q;
    return out;
}

}  // namespace jinja
}  // namespace unicorn::text
