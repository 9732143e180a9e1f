// The project's own interpreter for the Jinja2 subset that chat templates use (the template is
// the GGUF `tokenizer.chat_template` / HF `chat_template` text). It renders exactly as Python
// jinja2 does under Hugging Face transformers' `apply_chat_template` environment:
// ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, loopcontrols), with the
// globals `raise_exception` and `strftime_now` and transformers' `tojson` filter (json.dumps,
// ensure_ascii=False, keys in insertion order). docs/reference/formats-and-apis.md §5.
//
// Templates come from untrusted model files: every error (syntax, unknown filter, a template's
// raise_exception, a runaway loop or output) is a Result error naming the line and column, never a
// crash or a hang — output size, loop iterations, evaluation steps and nesting are all bounded.
//
// Supported: {{ }}, {% if/elif/else %}, {% for %} (tuple targets, `if` filter, else, loop.*),
// {% set %} (names, tuples, namespace attributes, block set), {% macro %}, {% break/continue %},
// {% raw %}, {% generation %}, comments, `-`/`+` whitespace control; literals, lists, tuples,
// dicts; attribute/item access, slicing; the operators of jinja2; the filters and tests listed
// in jinja_filters.cc and the str/dict methods and globals of jinja_methods.cc. Not supported
// (an error, not silence): include/import/extends, call and filter blocks, `%` string
// formatting, recursive loops, *args/**kwargs.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"
#include "text/chat_format.h"

namespace unicorn::text {

namespace jinja {
struct Callable;  // a function value (global, bound method, macro); jinja_value.h
}  // namespace jinja

// A template value with Python semantics: str(), ==, truthiness and json.dumps as jinja2 has them.
// Lists and maps are immutable and shared (cheap copies); a namespace() is a map that `set ns.x`
// mutates in place. Undefined is what a missing variable, key or index evaluates to.
class JinjaValue {
  public:
    enum class Kind : uint8_t {
        kUndefined,
        kNone,
        kBool,
        kInt,
        kDouble,
        kString,
        kList,
        kMap,
        kNamespace,
        kCallable,
    };
    using List = std::vector<JinjaValue>;
    // Insertion-ordered, as a Python dict; keys are strings.
    using Map = std::vector<std::pair<std::string, JinjaValue>>;

    JinjaValue() = default;                                // undefined
    JinjaValue(bool b) : kind_(Kind::kBool), b_(b) {}      // NOLINT(google-explicit-constructor)
    JinjaValue(int i) : kind_(Kind::kInt), i_(i) {}        // NOLINT(google-explicit-constructor)
    JinjaValue(int64_t i) : kind_(Kind::kInt), i_(i) {}    // NOLINT(google-explicit-constructor)
    JinjaValue(double d) : kind_(Kind::kDouble), d_(d) {}  // NOLINT(google-explicit-constructor)
    JinjaValue(std::string s);                             // NOLINT(google-explicit-constructor)
    JinjaValue(const char* s)
        : JinjaValue(std::string(s)) {}  // NOLINT(google-explicit-constructor)
    JinjaValue(std::string_view s)
        : JinjaValue(std::string(s)) {}  // NOLINT(google-explicit-constructor)
    JinjaValue(List list);               // NOLINT(google-explicit-constructor)
    JinjaValue(Map map);                 // NOLINT(google-explicit-constructor)

    static JinjaValue none();
    // A tuple: a list that Python prints as (a, b) and that is not == to a list.
    static JinjaValue tuple(List items);
    // What jinja2's select/map/selectattr/unique/items/reverse filters return: a Python
    // generator. It iterates like a list but is always true, has no len() and no indexing, and
    // equals only itself (`{% if xs | select('odd') %}` is true even when nothing is selected).
    static JinjaValue generator(List items);
    // An undefined value that remembers what was looked up, for error messages.
    static JinjaValue undefined(std::string hint);
    static JinjaValue make_namespace(Map attrs);
    static JinjaValue callable(std::shared_ptr<const jinja::Callable> fn);
    // JSON text -> value (objects keep key order; integers stay integers).
    static Result<JinjaValue> from_json(std::string_view json_text);

    Kind kind() const { return kind_; }
    bool is_undefined() const { return kind_ == Kind::kUndefined; }
    bool is_none() const { return kind_ == Kind::kNone; }
    bool is_bool() const { return kind_ == Kind::kBool; }
    bool is_int() const { return kind_ == Kind::kInt; }
    bool is_double() const { return kind_ == Kind::kDouble; }
    bool is_number() const { return is_int() || is_double() || is_bool(); }
    bool is_string() const { return kind_ == Kind::kString; }
    bool is_list() const { return kind_ == Kind::kList; }
    bool is_tuple() const { return tuple_; }
    bool is_generator() const { return generator_; }
    bool is_map() const { return kind_ == Kind::kMap; }
    bool is_namespace() const { return kind_ == Kind::kNamespace; }
    bool is_callable() const { return kind_ == Kind::kCallable; }

    bool as_bool() const { return b_; }
    int64_t as_int() const { return is_bool() ? (b_ ? 1 : 0) : i_; }
    double as_double() const { return is_double() ? d_ : static_cast<double>(as_int()); }
    const std::string& as_string() const;  // "" unless a string
    const List& as_list() const;           // empty unless a list
    const Map& as_map() const;             // entries of a map or namespace, else empty
    const jinja::Callable* as_callable() const { return fn_.get(); }
    // The hint of an undefined value ("'x' is undefined").
    const std::string& undefined_hint() const { return as_string(); }

    // Map or namespace lookup; nullptr when absent (or not a mapping).
    const JinjaValue* find(std::string_view key) const;
    // Namespace attribute assignment (the only mutation jinja2 allows).
    void set_namespace_attr(const std::string& key, JinjaValue v) const;

    // Python bool(value).
    bool truthy() const;
    // Python str(value): what {{ value }} writes ("" for undefined, None, True, [1, 'a']).
    std::string to_string() const;
    // Python repr(value).
    std::string repr() const;
    // json.dumps(value, ensure_ascii=False, indent=indent) (indent < 0: single line).
    Result<std::string> to_json(int indent = -1) const;
    // Python ==.
    bool operator==(const JinjaValue& other) const;
    bool operator!=(const JinjaValue& other) const { return !(*this == other); }
    // Nesting depth: 0 for scalars (and namespaces, which are opaque), 1 + the deepest element
    // for lists and maps.
    size_t depth() const { return depth_; }

  private:
    Kind kind_ = Kind::kUndefined;
    bool b_ = false;
    bool tuple_ = false;
    bool generator_ = false;
    uint32_t depth_ = 0;
    int64_t i_ = 0;
    double d_ = 0.0;
    std::shared_ptr<const std::string> s_;  // string, or an undefined value's hint
    std::shared_ptr<const List> list_;
    std::shared_ptr<Map> map_;  // maps are never mutated once built; namespaces are
    std::shared_ptr<const jinja::Callable> fn_;
};

// Bounds that keep a hostile template finite. Exceeding one is a kResourceExhausted error.
struct JinjaLimits {
    size_t max_output_bytes = 16u << 20;    // rendered text, and any one string value
    size_t max_loop_iterations = 1u << 20;  // over the whole render
    size_t max_steps = 20u << 20;           // expression and statement evaluations
    size_t max_depth = 128;                 // parser nesting (statements, expressions)
    // Render-time nesting of statements, expressions and macro calls together: what bounds the
    // evaluator's recursion, so a hostile template cannot exhaust the stack (at the default, a
    // render stays within 512 KiB of stack; jinja_test checks it on a small-stack thread).
    size_t max_eval_depth = 200;
    size_t max_collection_size = 1u << 20;  // range(), list/map building
};

struct JinjaExtra {
    // Extra variables (tools, documents, enable_thinking, date_string, ...); these override the
    // defaults that render_chat_template sets (tools = none, documents = none).
    JinjaValue::Map variables;
    // strftime_now(format) is defined (recent transformers define it; older ones did not). It
    // formats this fixed time (seconds since the epoch, UTC) when set, for reproducible tests;
    // else the local clock, as transformers' datetime.now() does.
    bool define_strftime_now = true;
    std::optional<int64_t> fixed_time_unix;
    JinjaLimits limits;
};

class JinjaTemplate {
  public:
    // Parses once; syntax errors, unknown filters and tests name their line and column.
    static Result<JinjaTemplate> parse(const std::string& source, const JinjaLimits& limits = {});

    // Renders with `context` as the variables. Globals (range, namespace, dict,
    // raise_exception, strftime_now per `extra`) are added; extra.variables join the context.
    Result<std::string> render(const JinjaValue::Map& context, const JinjaExtra& extra = {}) const;

    JinjaTemplate(JinjaTemplate&&) noexcept;
    JinjaTemplate& operator=(JinjaTemplate&&) noexcept;
    ~JinjaTemplate();

  private:
    JinjaTemplate();
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// What transformers' apply_chat_template(messages, add_generation_prompt, tokenize=False) does:
// variables messages, add_generation_prompt, bos_token, eos_token, tools = none, documents = none,
// then extra.variables.
Result<std::string> render_chat_template(const std::string& source,
                                         const std::vector<ChatMessage>& messages,
                                         bool add_generation_prompt, const std::string& bos_token,
                                         const std::string& eos_token,
                                         const JinjaExtra& extra = {});
// The same with messages as template values (content as a list of parts, tool calls, ...).
Result<std::string> render_chat_template(const std::string& source, const JinjaValue& messages,
                                         bool add_generation_prompt, const std::string& bos_token,
                                         const std::string& eos_token,
                                         const JinjaExtra& extra = {});

}  // namespace unicorn::text
