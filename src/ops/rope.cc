#include "ops/rope.h"

#include <fmt/format.h>

#include "ops/validate_util.h"

namespace unicorn::ops {

Status validate_rope(const Tensor& x, std::span<const int32_t> positions, const RopeParams& p) {
    UNI_RETURN_IF_ERROR(detail::expect_f32_2d(x, "rope input"));
    if (p.n_heads <= 0 || p.head_dim <= 0 || p.rot_dim <= 0 || p.rot_dim > p.head_dim ||
        p.rot_dim % 2 != 0)
        return invalid_argument(fmt::format("rope: bad dims heads={} head_dim={} rot_dim={}",
                                            p.n_heads, p.head_dim, p.rot_dim));
    if (x.cols() != static_cast<int64_t>(p.n_heads) * p.head_dim)
        return invalid_argument(
            fmt::format("rope input {} is not {} heads × {}", x.describe(), p.n_heads, p.head_dim));
    if (static_cast<int64_t>(positions.size()) != x.rows())
        return invalid_argument("rope: one position per row needed");
    if (p.inv_freq == nullptr) return invalid_argument("rope: missing frequency table");
    return ok_status();
}

}  // namespace unicorn::ops
