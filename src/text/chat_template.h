// How a chat conversation becomes prompt text, and prompt text becomes token ids — the one rule
// `unicorn run --chat`, `unicorn chat` and `unicorn serve` all use.
//
// The model's own template (GGUF `tokenizer.chat_template`) is rendered by the project's Jinja
// interpreter (text/jinja.h) with the variables transformers' apply_chat_template passes
// (messages, add_generation_prompt, bos_token, eos_token). The built-in family renderers
// (text/chat_format.h: Gemma, ChatML) are the fallback when the file has no template or the
// interpreter cannot render it, and what `--chat-format gemma|chatml` forces.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "text/chat_format.h"
#include "text/tokenizer.h"

namespace unicorn::text {

class JinjaTemplate;

struct ChatTemplateSource {
    std::string template_text;  // tokenizer.chat_template; "" when the file has none
    std::string bos_token;      // the special tokens' texts ("<bos>", "<|im_start|>", ...)
    std::string eos_token;
    // The built-in family ("gemma" or "chatml") used when the template is missing or cannot be
    // rendered and its text does not name a family either, and why that family ("the vocabulary
    // has <start_of_turn>"). "" = no fallback: an error instead.
    std::string fallback_family;
    std::string fallback_why;
};

class ChatTemplate {
  public:
    // `forced` is --chat-format: "" (choose), "jinja" (the model's template or an error), "gemma"
    // or "chatml" (that built-in renderer). Choosing: the model's template when the interpreter
    // parses it and renders a one-message probe conversation; else the family its text names;
    // else `fallback_family`. reason() says which and why.
    static Result<ChatTemplate> choose(const ChatTemplateSource& source, const std::string& forced);

    // The prompt text; with add_generation_prompt it ends with the assistant turn's opening.
    // Errors are the template's own (a raise_exception such as Gemma's role alternation check)
    // or the interpreter's, naming the problem.
    Result<std::string> render(const std::vector<ChatMessage>& messages,
                               bool add_generation_prompt) const;

    bool uses_jinja() const { return jinja_ != nullptr; }
    // One line for the log: the renderer in use and why it was chosen.
    const std::string& reason() const { return reason_; }

  private:
    std::shared_ptr<const JinjaTemplate> jinja_;  // shared: the server copies this per worker
    ChatFormat builtin_;                          // when jinja_ is null
    std::string bos_token_, eos_token_;
    std::string reason_;
};

// Rendered chat prompt -> ids, the same everywhere: special tokens written in the text are
// parsed ("<start_of_turn>", "<|im_end|>"), and a BOS is put first exactly when the vocabulary
// asks for one (add_bos) and the text did not already start with it — Gemma's template writes
// "<bos>" itself, so its prompt is never given a second one. No EOS is appended (the prompt
// continues with the model's reply).
Result<std::vector<int32_t>> encode_chat_prompt(const Tokenizer& tok, std::string_view prompt);

}  // namespace unicorn::text
