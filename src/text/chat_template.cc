#include "text/chat_template.h"

#include <fmt/format.h>

#include "text/jinja.h"

namespace unicorn::text {
namespace {

const char* family_name(ChatFamily f) { return f == ChatFamily::kGemma ? "Gemma" : "ChatML"; }

// Parses the model's template and renders a one-user-turn conversation with it, so that a
// template the interpreter cannot run is caught at load rather than on the first request. Many
// templates refuse a system turn, so the probe has none.
Result<std::shared_ptr<const JinjaTemplate>> load_jinja(const ChatTemplateSource& s) {
    UNI_ASSIGN_OR_RETURN(JinjaTemplate t, JinjaTemplate::parse(s.template_text));
    auto shared = std::make_shared<const JinjaTemplate>(std::move(t));
    const JinjaValue probe(JinjaValue::List{
        JinjaValue(JinjaValue::Map{{"role", JinjaValue("user")}, {"content", JinjaValue("Hi")}})});
    const JinjaValue::Map context = {
        {"messages", probe},
        {"add_generation_prompt", JinjaValue(true)},
        {"bos_token", JinjaValue(s.bos_token)},
        {"eos_token", JinjaValue(s.eos_token)},
        {"tools", JinjaValue::none()},
        {"documents", JinjaValue::none()},
    };
    UNI_ASSIGN_OR_RETURN(std::string out, shared->render(context));
    if (out.empty()) return unsupported("it renders a conversation as empty text");
    return shared;
}

}  // namespace

Result<ChatTemplate> ChatTemplate::choose(const ChatTemplateSource& s, const std::string& forced) {
    ChatTemplate t;
    t.bos_token_ = s.bos_token;
    t.eos_token_ = s.eos_token;
    if (forced == "jinja") {
        if (s.template_text.empty())
            return invalid_argument(
                "--chat-format jinja: the model file has no chat template "
                "(tokenizer.chat_template); use --chat-format gemma or chatml");
        auto j = load_jinja(s);
        if (!j.ok())
            return j.status().with_context("--chat-format jinja: the model's chat template");
        t.jinja_ = std::move(*j);
        t.reason_ = "chat template: the model's own (Jinja interpreter), as --chat-format asked";
        return t;
    }
    if (!forced.empty()) {
        auto f = chat_format_by_name(forced, s.bos_token);
        if (!f.ok())
            return invalid_argument(
                fmt::format("unknown chat format '{}' (jinja, gemma, chatml)", forced));
        t.builtin_ = *f;
        t.reason_ = fmt::format("chat template: the built-in {} format, as --chat-format asked",
                                family_name(f->family));
        return t;
    }
    // Why the model's own template is not used ("" when it is).
    std::string why;
    if (s.template_text.empty()) {
        why = "the model file has no chat template";
    } else {
        auto j = load_jinja(s);
        if (j.ok()) {
            t.jinja_ = std::move(*j);
            t.reason_ = "chat template: the model's own (Jinja interpreter)";
            return t;
        }
        why = "the Jinja interpreter cannot render the model's chat template (" +
              j.status().message() + ")";
        auto f = detect_chat_format(s.template_text, s.bos_token);
        if (f.ok()) {
            t.builtin_ = *f;
            t.reason_ =
                fmt::format("chat template: {}; using the built-in {} format its text names", why,
                            family_name(f->family));
            return t;
        }
    }
    if (s.fallback_family.empty())
        return unsupported(
            fmt::format("{}, and its family is unknown; pass --chat-format gemma|chatml", why));
    UNI_ASSIGN_OR_RETURN(t.builtin_, chat_format_by_name(s.fallback_family, s.bos_token));
    t.reason_ = fmt::format("chat template: {}; using the built-in {} format ({})", why,
                            family_name(t.builtin_.family), s.fallback_why);
    return t;
}

Result<std::string> ChatTemplate::render(const std::vector<ChatMessage>& messages,
                                         bool add_generation_prompt) const {
    if (!jinja_) return render_chat(builtin_, messages, add_generation_prompt);
    JinjaValue::List list;
    list.reserve(messages.size());
    for (const ChatMessage& m : messages)
        list.emplace_back(
            JinjaValue::Map{{"role", JinjaValue(m.role)}, {"content", JinjaValue(m.content)}});
    // The variables transformers' apply_chat_template sets (jinja.h, render_chat_template).
    const JinjaValue::Map context = {
        {"messages", JinjaValue(std::move(list))},
        {"add_generation_prompt", JinjaValue(add_generation_prompt)},
        {"bos_token", JinjaValue(bos_token_)},
        {"eos_token", JinjaValue(eos_token_)},
        {"tools", JinjaValue::none()},
        {"documents", JinjaValue::none()},
    };
    return jinja_->render(context);
}

Result<std::vector<int32_t>> encode_chat_prompt(const Tokenizer& tok, std::string_view prompt) {
    UNI_ASSIGN_OR_RETURN(std::vector<int32_t> ids,
                         tok.encode(prompt, /*add_special=*/false, /*parse_special=*/true));
    const int32_t bos = tok.bos();
    if (tok.add_bos_default() && bos >= 0 && (ids.empty() || ids.front() != bos))
        ids.insert(ids.begin(), bos);
    return ids;
}

}  // namespace unicorn::text
