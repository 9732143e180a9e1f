#include "text/chat_format.h"

#include <fmt/format.h>

namespace unicorn::text {
namespace {

std::string trim(const std::string& s) {
    const char* ws = " \t\n\r\f\v";
    const size_t b = s.find_first_not_of(ws);
    if (b == std::string::npos) return "";
    return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

constexpr const char* kSmolSystem =
    "You are a helpful AI assistant named SmolLM, trained by Hugging Face";

}  // namespace

Result<ChatFormat> detect_chat_format(const std::string& src, const std::string& bos_text) {
    ChatFormat f;
    if (src.find("<start_of_turn>") != std::string::npos) {
        f.family = ChatFamily::kGemma;
        f.bos_text = bos_text;
        return f;
    }
    if (src.find("<|im_start|>") != std::string::npos) {
        f.family = ChatFamily::kChatMl;
        if (src.find(kSmolSystem) != std::string::npos) f.default_system = kSmolSystem;
        return f;
    }
    if (src.empty())
        return unsupported("the model has no chat template; pass --chat-format gemma|chatml");
    return unsupported(
        "the model's chat template is neither Gemma nor ChatML style; pass --chat-format "
        "gemma|chatml");
}

Result<ChatFormat> chat_format_by_name(const std::string& name, const std::string& bos_text) {
    if (name == "gemma") return ChatFormat{ChatFamily::kGemma, "", bos_text};
    if (name == "chatml") return ChatFormat{ChatFamily::kChatMl, "", ""};
    return invalid_argument(fmt::format("unknown chat format '{}' (gemma, chatml)", name));
}

Result<std::string> render_chat(const ChatFormat& f, const std::vector<ChatMessage>& messages,
                                bool add_generation_prompt) {
    std::string out;
    if (f.family == ChatFamily::kChatMl) {
        if (!f.default_system.empty() && (messages.empty() || messages[0].role != "system"))
            out += "<|im_start|>system\n" + f.default_system + "<|im_end|>\n";
        for (const ChatMessage& m : messages)
            out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
        if (add_generation_prompt) out += "<|im_start|>assistant\n";
        return out;
    }
    // Gemma: BOS, system text folded into the first turn, assistant → model, trimmed content.
    out = f.bos_text;
    size_t first = 0;
    std::string prefix;
    if (!messages.empty() && messages[0].role == "system") {
        prefix = messages[0].content + "\n\n";
        first = 1;
    }
    for (size_t i = first; i < messages.size(); ++i) {
        const ChatMessage& m = messages[i];
        const bool expect_user = (i - first) % 2 == 0;
        if ((m.role == "user") != expect_user)
            return invalid_argument(
                "Conversation roles must alternate user/assistant/user/assistant/...");
        const std::string role = m.role == "assistant" ? "model" : m.role;
        out += "<start_of_turn>" + role + "\n" + (i == first ? prefix : "") + trim(m.content) +
               "<end_of_turn>\n";
    }
    if (add_generation_prompt) out += "<start_of_turn>model\n";
    return out;
}

}  // namespace unicorn::text
