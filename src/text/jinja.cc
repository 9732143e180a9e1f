// JinjaTemplate (parse once, render many) and render_chat_template, which sets the variables
// transformers' apply_chat_template passes: messages, add_generation_prompt, the special
// tokens, tools and documents (none unless given).
#include "text/jinja.h"

#include "text/jinja_ast.h"
#include "text/jinja_eval.h"
#include "text/jinja_lexer.h"
#include "text/jinja_parser.h"

namespace unicorn::text {

struct JinjaTemplate::Impl {
    std::string source;  // normalized (jinja2's newline rules)
    std::unique_ptr<jinja::SourceMap> map;
    jinja::Body body;
    std::vector<std::string> root_undefined;
};

JinjaTemplate::JinjaTemplate() = default;
JinjaTemplate::JinjaTemplate(JinjaTemplate&&) noexcept = default;
JinjaTemplate& JinjaTemplate::operator=(JinjaTemplate&&) noexcept = default;
JinjaTemplate::~JinjaTemplate() = default;

Result<JinjaTemplate> JinjaTemplate::parse(const std::string& source, const JinjaLimits& limits) {
    JinjaTemplate t;
    t.impl_ = std::make_unique<Impl>();
    t.impl_->source = jinja::normalize_template_source(source);
    t.impl_->map = std::make_unique<jinja::SourceMap>(t.impl_->source);
    UNI_ASSIGN_OR_RETURN(std::vector<jinja::Token> tokens,
                         jinja::lex_template(t.impl_->source, *t.impl_->map));
    UNI_ASSIGN_OR_RETURN(t.impl_->body,
                         jinja::parse_template(tokens, *t.impl_->map, limits.max_depth));
    t.impl_->root_undefined = jinja::analyze_scopes(t.impl_->body);
    return t;
}

Result<std::string> JinjaTemplate::render(const JinjaValue::Map& context,
                                          const JinjaExtra& extra) const {
    JinjaValue::Map root = jinja::make_globals(extra);
    auto put = [&root](const std::string& key, const JinjaValue& v) {
        for (auto& kv : root) {
            if (kv.first == key) {
                kv.second = v;
                return;
            }
        }
        root.emplace_back(key, v);
    };
    for (const auto& kv : context) put(kv.first, kv.second);
    for (const auto& kv : extra.variables) put(kv.first, kv.second);
    jinja::Renderer r(*impl_->map, extra.limits, std::move(root));
    return r.render(impl_->body, impl_->root_undefined);
}

Result<std::string> render_chat_template(const std::string& source, const JinjaValue& messages,
                                         bool add_generation_prompt, const std::string& bos_token,
                                         const std::string& eos_token, const JinjaExtra& extra) {
    UNI_ASSIGN_OR_RETURN(JinjaTemplate t, JinjaTemplate::parse(source, extra.limits));
    JinjaValue::Map context = {
        {"messages", messages},
        {"add_generation_prompt", JinjaValue(add_generation_prompt)},
        {"bos_token", JinjaValue(bos_token)},
        {"eos_token", JinjaValue(eos_token)},
        {"tools", JinjaValue::none()},
        {"documents", JinjaValue::none()},
    };
    return t.render(context, extra);
}

Result<std::string> render_chat_template(const std::string& source,
                                         const std::vector<ChatMessage>& messages,
                                         bool add_generation_prompt, const std::string& bos_token,
                                         const std::string& eos_token, const JinjaExtra& extra) {
    JinjaValue::List list;
    list.reserve(messages.size());
    for (const ChatMessage& m : messages)
        list.emplace_back(
            JinjaValue::Map{{"role", JinjaValue(m.role)}, {"content", JinjaValue(m.content)}});
    return render_chat_template(source, JinjaValue(std::move(list)), add_generation_prompt,
                                bos_token, eos_token, extra);
}

}  // namespace unicorn::text
