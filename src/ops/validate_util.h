// Shared argument checks for the ops' validate_* functions (internal to ops/).
#pragma once

#include <fmt/format.h>

#include "core/status.h"
#include "core/tensor.h"

namespace unicorn::ops::detail {

inline Status expect_f32_2d(const Tensor& t, const char* what) {
    if (t.dtype() != DType::kF32)
        return invalid_argument(fmt::format("{} must be F32, got {}", what, t.describe()));
    if (t.shape().rank() != 2)
        return invalid_argument(fmt::format("{} must be 2-D, got {}", what, t.describe()));
    if (t.row_stride() < t.row_bytes())
        return invalid_argument(
            fmt::format("{} rows overlap (stride {} < {})", what, t.row_stride(), t.row_bytes()));
    return ok_status();
}

}  // namespace unicorn::ops::detail
