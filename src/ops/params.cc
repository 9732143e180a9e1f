#include "ops/params.h"

#include <fmt/format.h>

namespace unicorn::ops {
namespace {

Status expect_f32_2d(const Tensor& t, const char* what) {
    if (t.dtype() != DType::kF32)
        return invalid_argument(fmt::format("{} must be F32, got {}", what, t.describe()));
    if (t.shape().rank() != 2)
        return invalid_argument(fmt::format("{} must be 2-D, got {}", what, t.describe()));
    if (t.row_stride() < t.row_bytes())
        return invalid_argument(
            fmt::format("{} rows overlap (stride {} < {})", what, t.row_stride(), t.row_bytes()));
    return ok_status();
}

}  // namespace

Status validate_embedding(const Tensor& table, std::span<const int32_t> ids, const Tensor& out) {
    if (table.shape().rank() != 2)
        return invalid_argument("embedding table must be 2-D, got " + table.describe());
    UNI_RETURN_IF_ERROR(expect_f32_2d(out, "embedding output"));
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

Status validate_linear(const Tensor& x, const Tensor& w, const Tensor& y) {
    UNI_RETURN_IF_ERROR(expect_f32_2d(x, "linear input"));
    UNI_RETURN_IF_ERROR(expect_f32_2d(y, "linear output"));
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

Status validate_rms_norm(const Tensor& x, const Tensor& weight, const Tensor& out) {
    UNI_RETURN_IF_ERROR(expect_f32_2d(x, "rms_norm input"));
    UNI_RETURN_IF_ERROR(expect_f32_2d(out, "rms_norm output"));
    if (out.shape() != x.shape())
        return invalid_argument("rms_norm output shape differs from input");
    if (weight.defined() && weight.numel() > 0) {
        if (weight.dtype() != DType::kF32 || weight.numel() != x.cols())
            return invalid_argument(fmt::format("rms_norm weight {} does not match rows of {}",
                                                weight.describe(), x.cols()));
    }
    return ok_status();
}

Status validate_rope(const Tensor& x, std::span<const int32_t> positions, const RopeParams& p) {
    UNI_RETURN_IF_ERROR(expect_f32_2d(x, "rope input"));
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

Status validate_attention(const Tensor& q, std::span<const int32_t> q_pos, const Tensor& k,
                          const Tensor& v, std::span<const int32_t> k_pos, const Tensor& out,
                          const AttentionParams& p) {
    UNI_RETURN_IF_ERROR(expect_f32_2d(q, "attention query"));
    UNI_RETURN_IF_ERROR(expect_f32_2d(k, "attention keys"));
    UNI_RETURN_IF_ERROR(expect_f32_2d(v, "attention values"));
    UNI_RETURN_IF_ERROR(expect_f32_2d(out, "attention output"));
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

Status validate_binary(const Tensor& a, const Tensor& b, const Tensor& out) {
    UNI_RETURN_IF_ERROR(expect_f32_2d(a, "elementwise input"));
    UNI_RETURN_IF_ERROR(expect_f32_2d(b, "elementwise input"));
    UNI_RETURN_IF_ERROR(expect_f32_2d(out, "elementwise output"));
    if (a.shape() != b.shape() || a.shape() != out.shape())
        return invalid_argument(fmt::format("elementwise shapes differ: {} {} {}", a.describe(),
                                            b.describe(), out.describe()));
    return ok_status();
}

Status validate_unary(const Tensor& x, const Tensor& out) {
    UNI_RETURN_IF_ERROR(expect_f32_2d(x, "elementwise input"));
    UNI_RETURN_IF_ERROR(expect_f32_2d(out, "elementwise output"));
    if (x.shape() != out.shape())
        return invalid_argument("elementwise output shape differs from input");
    return ok_status();
}

}  // namespace unicorn::ops
