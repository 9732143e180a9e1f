#include "ops/embedding.h"

#include <fmt/format.h>

#include "ops/validate_util.h"

namespace unicorn::ops {

Status validate_embedding(const Tensor& table, std::span<const int32_t> ids, const Tensor& out) {
    if (table.shape().rank() != 2)
        return invalid_argument("embedding table must be 2-D, got " + table.describe());
    UNI_RETURN_IF_ERROR(detail::expect_f32_2d(out, "embedding output"));
    if (out.rows() != static_cast<int64_t>(ids.size()) || out.cols() != table.cols())
        return invalid_argument(fmt::format("embedding output {} does not match {} ids × {}",
                                            out.describe(), ids.size(), table.cols()));
    for (size_t i = 0; i < ids.size(); ++i) {
        if (ids[i] < 0 || ids[i] >= table.rows())
            return invalid_argument(fmt::format("token id {} is outside the vocabulary (0..{})",
                                                ids[i], table.rows() - 1));
    }
    return ok_status();
}

}  // namespace unicorn::ops
