#include "ops/sparsity.h"

#include <fmt/format.h>

#include <cmath>

#include "ops/validate_util.h"

namespace unicorn::ops {

Status validate_gaussian_topk(const Tensor& x, float z, const Tensor& out) {
    UNI_RETURN_IF_ERROR(detail::expect_f32_2d(x, "gaussian_topk input"));
    UNI_RETURN_IF_ERROR(detail::expect_f32_2d(out, "gaussian_topk output"));
    if (out.shape() != x.shape())
        return invalid_argument(fmt::format("gaussian_topk output {} does not match input {}",
                                            out.describe(), x.describe()));
    if (!std::isfinite(z))
        return invalid_argument(fmt::format("gaussian_topk std multiplier {} is not finite", z));
    return ok_status();
}

}  // namespace unicorn::ops
