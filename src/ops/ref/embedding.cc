// Scalar reference: embedding (see reference.h).
#include "ops/ref/reference.h"
#include "quant/quantize.h"

namespace unicorn::ops::ref {

void embedding(const Tensor& table, std::span<const int32_t> ids, const EmbeddingParams& p,
               const Tensor& out) {
    const int64_t d = table.cols();
    for (size_t i = 0; i < ids.size(); ++i) {
        float* dst = out.row<float>(static_cast<int64_t>(i));
        quant::dequantize_row(table.dtype(), table.row_bytes_ptr(ids[i]), dst, d);
        for (int64_t j = 0; j < d; ++j)
            dst[j] = static_cast<float>(static_cast<double>(dst[j]) * p.scale);
    }
}

}  // namespace unicorn::ops::ref
