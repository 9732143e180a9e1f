#include "ops/attention.h"

#include <fmt/format.h>

#include "ops/validate_util.h"

namespace unicorn::ops {

Status validate_attention(const Tensor& q, std::span<const int32_t> q_pos, const Tensor& k,
                          const Tensor& v, std::span<const int32_t> k_pos, const Tensor& out,
                          const AttentionParams& p) {
    UNI_RETURN_IF_ERROR(detail::expect_f32_2d(q, "attention query"));
    UNI_RETURN_IF_ERROR(detail::expect_f32_2d(k, "attention keys"));
    UNI_RETURN_IF_ERROR(detail::expect_f32_2d(v, "attention values"));
    UNI_RETURN_IF_ERROR(detail::expect_f32_2d(out, "attention output"));
    if (p.n_heads <= 0 || p.n_kv_heads <= 0 || p.head_dim <= 0 || p.n_heads % p.n_kv_heads != 0)
        return invalid_argument(fmt::format("attention: {} query heads cannot share {} KV heads",
                                            p.n_heads, p.n_kv_heads));
    if (q.cols() != static_cast<int64_t>(p.n_heads) * p.head_dim || out.shape() != q.shape())
        return invalid_argument("attention: query/output width is not heads × head_dim");
    if (k.cols() != static_cast<int64_t>(p.n_kv_heads) * p.head_dim || v.shape() != k.shape())
        return invalid_argument("attention: key/value width is not kv_heads × head_dim");
    if (static_cast<int64_t>(q_pos.size()) != q.rows() ||
        static_cast<int64_t>(k_pos.size()) != k.rows())
        return invalid_argument("attention: one position per query and per key needed");
    if (p.window < 0 || p.softcap < 0)
        return invalid_argument("attention: negative window or softcap");
    return ok_status();
}

}  // namespace unicorn::ops
