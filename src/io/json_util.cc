#include "io/json_util.h"

#include <fmt/format.h>

#include <algorithm>

namespace unicorn::io::detail {
namespace {

constexpr size_t kMaxJsonDepth = 64;

// Nesting depth of a JSON text, ignoring brackets inside strings.
size_t json_depth(std::string_view text) {
    size_t depth = 0;
    size_t max_depth = 0;
    bool in_string = false;
    for (size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (in_string) {
            if (c == '\\') {
                ++i;
            } else if (c == '"') {
                in_string = false;
            }
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            max_depth = std::max(max_depth, ++depth);
        } else if ((c == '}' || c == ']') && depth > 0) {
            --depth;
        }
    }
    return max_depth;
}

}  // namespace

Result<nlohmann::json> parse_json(std::string_view text, const std::string& what) {
    if (json_depth(text) > kMaxJsonDepth) {
        return corrupt(fmt::format("{} nests deeper than {} levels", what, kMaxJsonDepth));
    }
    try {
        return nlohmann::json::parse(text.begin(), text.end());
    } catch (const nlohmann::json::exception& e) {
        // e.what() names the line and column: "[json.exception.parse_error.101] parse error at
        // line 1, column 5: syntax error ...".
        return corrupt(fmt::format("{} is not valid JSON: {}", what, e.what()));
    }
}

std::string describe_json(const nlohmann::json& value) {
    if (value.is_array()) return fmt::format("array of {}", value.size());
    if (value.is_object()) return "object";
    if (value.is_null()) return "null";
    // A scalar: dump() is not recursive. Long strings are cut to keep messages one line.
    std::string text =
        value.dump(-1, ' ', /*ensure_ascii=*/true, nlohmann::json::error_handler_t::replace);
    if (text.size() > 80) text = text.substr(0, 77) + "...";
    return fmt::format("{} {}", value.type_name(), text);
}

}  // namespace unicorn::io::detail
