#include "exec/fault_injection.h"

#include <fmt/format.h>

#include <charconv>
#include <cstdlib>

namespace unicorn {

Result<std::optional<FaultSpec>> parse_fault_spec(std::string_view text) {
    if (text.empty()) return std::optional<FaultSpec>();
    const size_t colon = text.rfind(':');
    const auto bad = [&] {
        return invalid_argument(fmt::format(
            "fault spec '{}': expected DEVICE:STEP, e.g. vulkan:5 or cuda:0:12 (STEP >= 1)", text));
    };
    if (colon == std::string_view::npos || colon == 0) return bad();
    const std::string_view step = text.substr(colon + 1);
    FaultSpec f;
    const auto [end, ec] = std::from_chars(step.data(), step.data() + step.size(), f.step);
    if (ec != std::errc() || end != step.data() + step.size() || f.step < 1) return bad();
    f.device = std::string(text.substr(0, colon));
    return std::optional<FaultSpec>(std::move(f));
}

Result<std::optional<FaultSpec>> fault_spec_from_env() {
    const char* env = std::getenv("UNICORN_FAULT");
    auto spec = parse_fault_spec(env != nullptr ? env : "");
    if (!spec.ok()) return invalid_argument("UNICORN_FAULT: " + spec.status().message());
    return spec;
}

}  // namespace unicorn
