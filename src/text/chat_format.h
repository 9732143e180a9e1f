// Built-in chat prompt rendering for two template families: Gemma (<start_of_turn>) and ChatML
// (<|im_start|>) — the fallback when a model file has no chat template or the Jinja interpreter
// cannot render it, and what --chat-format gemma|chatml forces (text/chat_template.h chooses).
// The family is detected from the GGUF `tokenizer.chat_template` text; the rendering follows
// docs/reference/formats-and-apis.md §5 exactly, including Gemma's system-into-first-turn
// folding and SmolLM2's default system turn.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/status.h"

namespace unicorn::text {

struct ChatMessage {
    std::string role;  // "system", "user", "assistant"
    std::string content;
};

enum class ChatFamily { kGemma, kChatMl };

struct ChatFormat {
    ChatFamily family = ChatFamily::kChatMl;
    std::string default_system;  // ChatML: a system turn added when none is given ("" = none)
    std::string bos_text;        // Gemma: the template emits BOS itself
};

// From the template source (GGUF tokenizer.chat_template); unsupported for anything else.
Result<ChatFormat> detect_chat_format(const std::string& template_source,
                                      const std::string& bos_text);
// "gemma" or "chatml" (--chat-format).
Result<ChatFormat> chat_format_by_name(const std::string& name, const std::string& bos_text);

// The prompt text; with add_generation_prompt, ends with the assistant turn's opening.
// Gemma requires user/assistant alternation (as its template does) and errors otherwise.
Result<std::string> render_chat(const ChatFormat& f, const std::vector<ChatMessage>& messages,
                                bool add_generation_prompt);

}  // namespace unicorn::text
