#include "backend/backend.h"

#include <cstring>

#include "core/check.h"

namespace unicorn {

void host_copy_rows(const Tensor& src, std::span<const int64_t> src_rows, const Tensor& dst,
                    std::span<const int64_t> dst_rows, int64_t n) {
    UNI_CHECK(src.row_bytes() == dst.row_bytes() && !src.on_device() && !dst.on_device());
    for (int64_t i = 0; i < n; ++i) {
        const int64_t s = src_rows.empty() ? i : src_rows[static_cast<size_t>(i)];
        const int64_t d = dst_rows.empty() ? i : dst_rows[static_cast<size_t>(i)];
        UNI_CHECK(s >= 0 && s < src.rows() && d >= 0 && d < dst.rows());
        std::memcpy(dst.row_bytes_ptr(d), src.row_bytes_ptr(s), src.row_bytes());
    }
}

Status Backend::copy_rows(const Tensor& src, std::span<const int64_t> src_rows, const Tensor& dst,
                          std::span<const int64_t> dst_rows, int64_t n) {
    host_copy_rows(src, src_rows, dst, dst_rows, n);
    return ok_status();
}

Status Backend::altup_coefs(const Tensor&, const Tensor&, const Tensor&, const Tensor&, float,
                            const Tensor&) {
    return unsupported(name() + " has no fused altup_coefs");
}

}  // namespace unicorn
