#include "backend/cpu/kernels/kernels.h"
#include "backend/cpu/kernels/vec.h"
#include "quant/quantize.h"

namespace unicorn::cpu {

// Rows are dequantized with the scalar reference: one row per token, so this is never hot.
void embedding(ThreadPool& pool, const Tensor& table, std::span<const int32_t> ids,
               const ops::EmbeddingParams& p, const Tensor& out) {
    const VecOps& v = vec_ops();
    const int64_t d = table.cols();
    pool.parallel_for(static_cast<int64_t>(ids.size()), 16, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) {
            float* dst = out.row<float>(i);
            quant::dequantize_row(table.dtype(), table.row_bytes_ptr(ids[i]), dst, d);
            if (p.scale != 1.0f) v.scale_mul(dst, p.scale, nullptr, dst, d);
        }
    });
}

}  // namespace unicorn::cpu
