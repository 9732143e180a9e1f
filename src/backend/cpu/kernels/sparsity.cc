// gaussian_topk (Gemma 3n activation sparsity), mirroring transformers
// Gemma3nTextMLP._gaussian_topk: relu(x − (mean + z·std)) per row, std with divisor N.
#include <cmath>

#include "backend/cpu/kernels/for_rows.h"
#include "backend/cpu/kernels/kernels.h"

namespace unicorn::cpu {

// Mean and variance in double, the variance two-pass (Σ(x − mean)², no E[x²] − mean²
// cancellation); the cutoff is then rounded to fp32 once and applied in fp32 as HF does.
void gaussian_topk(ThreadPool& pool, const Tensor& x, float z, const Tensor& out) {
    for_rows(pool, out, [&](int64_t r, int64_t n) {
        const float* src = x.row<float>(r);
        const double mean = sum_pow_f64<1>(src, n) / static_cast<double>(n);
        const double var = sum_pow_f64<2>(src, n, mean) / static_cast<double>(n);
        const float cutoff = static_cast<float>(mean + z * std::sqrt(var));
        float* dst = out.row<float>(r);
        for (int64_t j = 0; j < n; ++j) {
            const float d = src[j] - cutoff;
            dst[j] = d > 0.0f ? d : 0.0f;
        }
    });
}

}  // namespace unicorn::cpu
