// UNICORN_FAULT=DEVICE:STEP — makes the STEP-th forward pass (1-based, counted per ExecContext)
// fail with a device error part-way through, when it runs on a backend whose name starts with
// DEVICE ("vulkan", "cuda:0"). How the tests prove that a device failure mid-generation loses
// and changes no tokens (the step is re-run on the CPU); it never fires unless asked for.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace unicorn {

struct FaultSpec {
    std::string device;  // a prefix of Backend::name()
    int64_t step = 0;    // 1-based forward pass
    // The op of that step that fails (1-based): mid-step, after the step has written some
    // of its KV rows, as a real failure would.
    int64_t op = 5;
};

// "" → none; "vulkan:5", "cuda:0:12" → the spec; anything else → a clear error.
Result<std::optional<FaultSpec>> parse_fault_spec(std::string_view text);
// parse_fault_spec(getenv("UNICORN_FAULT")), the error naming the variable.
Result<std::optional<FaultSpec>> fault_spec_from_env();

}  // namespace unicorn
