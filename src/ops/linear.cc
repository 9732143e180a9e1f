#include "ops/linear.h"

#include <fmt/format.h>

#include "ops/validate_util.h"

namespace unicorn::ops {

Status validate_linear(const Tensor& x, const Tensor& w, const Tensor& y) {
    UNI_RETURN_IF_ERROR(detail::expect_f32_2d(x, "linear input"));
    UNI_RETURN_IF_ERROR(detail::expect_f32_2d(y, "linear output"));
    if (w.shape().rank() != 2)
        return invalid_argument("linear weight must be 2-D, got " + w.describe());
    if (w.cols() % dtype_block_size(w.dtype()) != 0)
        return invalid_argument(fmt::format("linear weight {} rows are not whole {} blocks",
                                            w.describe(), dtype_name(w.dtype())));
    if (x.cols() != w.cols() || y.rows() != x.rows() || y.cols() != w.rows())
        return invalid_argument(fmt::format("linear shapes do not match: x {} · W {}ᵀ → y {}",
                                            x.describe(), w.describe(), y.describe()));
    return ok_status();
}

}  // namespace unicorn::ops
