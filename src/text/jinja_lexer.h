// Jinja lexer: template text -> data pieces and tag tokens, with jinja2's whitespace rules
// applied here (trim_blocks, lstrip_blocks, `-`/`+` markers), as jinja2's own lexer does.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace unicorn::text::jinja {

enum class TokKind : uint8_t {
    kData,        // literal template text (whitespace control already applied)
    kVarBegin,    // {{
    kVarEnd,      // }}
    kBlockBegin,  // {%
    kBlockEnd,    // %}
    kName,
    kString,  // text holds the decoded value
    kInt,
    kFloat,
    kOp,  // text holds the operator: + - * / // % ** ~ == != < <= > >= = ( ) [ ] { } , . : |
    kEof,
};

struct Token {
    TokKind kind = TokKind::kEof;
    std::string text;
    int64_t int_value = 0;
    double float_value = 0.0;
    uint32_t offset = 0;  // byte offset in the normalized source
};

// Line and column (1-based) of byte offsets in a source.
class SourceMap {
  public:
    explicit SourceMap(const std::string& source);
    std::pair<uint32_t, uint32_t> line_col(uint32_t offset) const;
    // "line L, column C"
    std::string where(uint32_t offset) const;

  private:
    std::vector<uint32_t> line_starts_;
};

// jinja2's source normalization: \r\n and \r become \n, and one trailing newline is dropped
// (keep_trailing_newline=False).
std::string normalize_template_source(const std::string& source);

// Tokens of a normalized source, ending with kEof. Errors (unclosed tag, comment or string, a bad
// character or escape) name the position.
Result<std::vector<Token>> lex_template(const std::string& source, const SourceMap& map);

}  // namespace unicorn::text::jinja
