#include "ops/elementwise.h"

#include <fmt/format.h>

#include <cmath>

#include "ops/validate_util.h"

namespace unicorn::ops {

Status validate_binary(const Tensor& a, const Tensor& b, const Tensor& out) {
    UNI_RETURN_IF_ERROR(detail::expect_f32_2d(a, "elementwise input"));
    UNI_RETURN_IF_ERROR(detail::expect_f32_2d(b, "elementwise input"));
    UNI_RETURN_IF_ERROR(detail::expect_f32_2d(out, "elementwise output"));
    if (a.shape() != b.shape() || a.shape() != out.shape())
        return invalid_argument(fmt::format("elementwise shapes differ: {} {} {}", a.describe(),
                                            b.describe(), out.describe()));
    return ok_status();
}

Status validate_add(const Tensor& a, const Tensor& b, const Tensor& out) {
    UNI_RETURN_IF_ERROR(detail::expect_f32_2d(a, "add input"));
    UNI_RETURN_IF_ERROR(detail::expect_f32_2d(b, "add input"));
    UNI_RETURN_IF_ERROR(detail::expect_f32_2d(out, "add output"));
    const bool repeats = b.rows() > 0 ? a.rows() % b.rows() == 0 : a.rows() == 0;
    if (a.shape() != out.shape() || b.cols() != a.cols() || !repeats)
        return invalid_argument(
            fmt::format("add: {} + {} → {} (b must have a's columns and a row count dividing a's)",
                        a.describe(), b.describe(), out.describe()));
    return ok_status();
}

Status validate_unary(const Tensor& x, const Tensor& out) {
    UNI_RETURN_IF_ERROR(detail::expect_f32_2d(x, "elementwise input"));
    UNI_RETURN_IF_ERROR(detail::expect_f32_2d(out, "elementwise output"));
    if (x.shape() != out.shape())
        return invalid_argument("elementwise output shape differs from input");
    return ok_status();
}

Status validate_mul(const Tensor& a, const Tensor& b, const Tensor& out) {
    UNI_RETURN_IF_ERROR(detail::expect_f32_2d(a, "mul input"));
    UNI_RETURN_IF_ERROR(detail::expect_f32_2d(out, "mul output"));
    if (b.shape().rank() == 1) {
        if (b.dtype() != DType::kF32)
            return invalid_argument(fmt::format("mul input must be F32, got {}", b.describe()));
    } else {
        UNI_RETURN_IF_ERROR(detail::expect_f32_2d(b, "mul input"));
    }
    const bool same = b.shape().rank() == 2 && b.rows() == a.rows();
    const bool one_row = b.rows() == 1;
    if (b.cols() != a.cols() || !(same || one_row))
        return invalid_argument(fmt::format("mul: {} is neither shaped like {} nor one row of it",
                                            b.describe(), a.describe()));
    if (out.shape() != a.shape())
        return invalid_argument(
            fmt::format("mul output {} does not match input {}", out.describe(), a.describe()));
    return ok_status();
}

Status validate_scale(const Tensor& x, float s, const Tensor& out) {
    UNI_RETURN_IF_ERROR(detail::expect_f32_2d(x, "scale input"));
    UNI_RETURN_IF_ERROR(detail::expect_f32_2d(out, "scale output"));
    if (x.shape() != out.shape())
        return invalid_argument(
            fmt::format("scale output {} does not match input {}", out.describe(), x.describe()));
    if (!std::isfinite(s)) return invalid_argument(fmt::format("scale factor {} is not finite", s));
    return ok_status();
}

}  // namespace unicorn::ops
