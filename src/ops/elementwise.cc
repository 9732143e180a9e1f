#include "ops/elementwise.h"

#include <fmt/format.h>

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

Status validate_unary(const Tensor& x, const Tensor& out) {
    UNI_RETURN_IF_ERROR(detail::expect_f32_2d(x, "elementwise input"));
    UNI_RETURN_IF_ERROR(detail::expect_f32_2d(out, "elementwise output"));
    if (x.shape() != out.shape())
        return invalid_argument("elementwise output shape differs from input");
    return ok_status();
}

}  // namespace unicorn::ops
