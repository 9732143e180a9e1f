// Internals of the Jinja interpreter shared by the parser, the evaluator and the builtins:
// callable values, call arguments, and the Python string/number semantics (str(), repr(),
// json.dumps, str.strip, codepoint indexing) that jinja2 inherits from Python.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "text/jinja.h"

namespace unicorn::text::jinja {

class Renderer;

struct CallArgs {
    std::vector<JinjaValue> positional;
    std::vector<std::pair<std::string, JinjaValue>> keyword;

    // The argument at `index` or named `name`; undefined when neither was given.
    const JinjaValue& get(size_t index, std::string_view name) const;
    bool has(size_t index, std::string_view name) const;
};

// A function value: a global (range, namespace, raise_exception), a method bound to its object
// (str.split, dict.get), a macro or loop.cycle. Errors it returns carry no position; the caller
// adds the call site's, unless `positioned` (a macro body reports its own positions).
struct Callable {
    std::string name;
    std::function<Result<JinjaValue>(Renderer& r, const CallArgs& args)> fn;
    bool positioned = false;
};

using FilterFn = Result<JinjaValue> (*)(Renderer& r, const JinjaValue& subject,
                                        const CallArgs& args);
using TestFn = Result<bool> (*)(Renderer& r, const JinjaValue& subject, const CallArgs& args);

// Filters and tests by name (jinja_filters.cc); nullptr when unknown.
FilterFn find_filter(std::string_view name);
TestFn find_test(std::string_view name);
// A str/dict/list attribute that is a method (s.strip, d.items), bound to `self`; undefined when
// `name` is no method of that type (jinja_methods.cc).
JinjaValue bound_method(const JinjaValue& self, const std::string& name);
// The template globals: range, namespace, dict, raise_exception, strftime_now.
JinjaValue::Map make_globals(const JinjaExtra& extra);

// Containers deeper than this are an error: value recursion (str, ==, destruction) stays bounded.
inline constexpr size_t kMaxValueDepth = 200;
// True when `v` is or holds a namespace (a namespace may not hold one: no reference cycles).
bool contains_namespace(const JinjaValue& v);

// Python float repr: shortest round-trip digits, "1.0", "1e-05", "1e+16", "inf", "nan".
std::string python_float_repr(double d);
// Python repr of a str: single quotes unless the text has ' and no ".
std::string python_str_repr(std::string_view s);
// Python str.isspace for one codepoint.
bool is_python_space(uint32_t cp);
// str.strip()/lstrip()/rstrip() with no argument (Unicode whitespace), or of the codepoints in
// `chars`.
std::string python_strip(std::string_view s, bool left, bool right, const std::string* chars);
// str.split(sep, maxsplit): sep == nullptr splits on whitespace runs, dropping empty words.
JinjaValue::List python_split(const std::string& s, const std::string* sep, int64_t maxsplit);
// str.replace(old, new, count) (count < 0: all); an empty `old` inserts between codepoints.
// Results longer than max_bytes are a kResourceExhausted error.
Result<std::string> python_replace(const std::string& s, const std::string& from,
                                   const std::string& to, int64_t count, size_t max_bytes);
// Python's str.upper()/lower() (simple case mapping of Latin, Greek, Cyrillic, Armenian and
// fullwidth letters, plus ß -> SS and İ -> i̇; no final-sigma rule), str.title(), str.capitalize(),
// and jinja2's title filter (words start after - ( { [ < and whitespace).
std::string python_upper(std::string_view s);
std::string python_lower(std::string_view s);
std::string python_title(std::string_view s);
std::string python_capitalize(std::string_view s);
std::string jinja_title(std::string_view s);
// str.islower()/isupper(): some cased letter, and none of the other case.
bool python_islower(std::string_view s);
bool python_isupper(std::string_view s);
// Codepoint count; codepoints of a string (UTF-8 decoded, as Python str indexing sees them).
size_t python_len(std::string_view s);
std::vector<std::string> python_chars(std::string_view s);

}  // namespace unicorn::text::jinja
