// Internal to io/: JSON parsing shared by the safetensors and config.json readers. Not part
// of the public io API (it exposes nlohmann::json).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "core/status.h"

namespace unicorn::io::detail {

// Parses `text` without exceptions; corrupt("<what> is not valid JSON ...") on failure.
// Refuses nesting deeper than 64 levels before building a value: parsing is iterative in
// nlohmann, but printing and comparing values recurse, and no real header nests that deep.
Result<nlohmann::json> parse_json(std::string_view text, const std::string& what);

// Short description of a value for error messages: `string "64"`, `number 1.5`, `array`,
// `object`, `null`. Never prints a whole container, so a hostile file cannot make an error
// message large or deeply recursive.
std::string describe_json(const nlohmann::json& value);

}  // namespace unicorn::io::detail
