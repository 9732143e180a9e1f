#include "ops/rms_norm.h"

#include <fmt/format.h>

#include "ops/validate_util.h"

namespace unicorn::ops {

Status validate_rms_norm(const Tensor& x, const Tensor& weight, const Tensor& out,
                         const Tensor* residual) {
    UNI_RETURN_IF_ERROR(detail::expect_f32_2d(x, "rms_norm input"));
    if (residual != nullptr) {
        UNI_RETURN_IF_ERROR(detail::expect_f32_2d(*residual, "rms_norm residual"));
        if (residual->shape() != x.shape())
            return invalid_argument(fmt::format("rms_norm residual {} is not shaped like {}",
                                                residual->describe(), x.describe()));
    }
    UNI_RETURN_IF_ERROR(detail::expect_f32_2d(out, "rms_norm output"));
    if (out.shape() != x.shape())
        return invalid_argument("rms_norm output shape differs from input");
    if (weight.defined() && weight.numel() > 0) {
        if (weight.dtype() != DType::kF32 || weight.numel() != x.cols())
            return invalid_argument(fmt::format("rms_norm weight {} does not match rows of {}",
                                                weight.describe(), x.cols()));
    }
    return ok_status();
}

}  // namespace unicorn::ops
