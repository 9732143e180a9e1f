// Scalar reference: gaussian_topk (see reference.h). Mirrors transformers
// Gemma3nTextMLP._gaussian_topk: relu(x − (mean + z·std)), torch.std(unbiased=False).
#include <algorithm>
#include <cmath>

#include "ops/ref/reference.h"

namespace unicorn::ops::ref {

void gaussian_topk(const Tensor& x, float z, const Tensor& out) {
    const int64_t n = x.cols();
    for (int64_t r = 0; r < x.rows(); ++r) {
        const float* src = x.row<float>(r);
        double sum = 0;
        for (int64_t j = 0; j < n; ++j) sum += src[j];
        const double mean = sum / static_cast<double>(n);
        double ss = 0;
        for (int64_t j = 0; j < n; ++j) ss += (src[j] - mean) * (src[j] - mean);
        const double cutoff = mean + z * std::sqrt(ss / static_cast<double>(n));
        float* dst = out.row<float>(r);
        for (int64_t j = 0; j < n; ++j) dst[j] = static_cast<float>(std::max(0.0, src[j] - cutoff));
    }
}

}  // namespace unicorn::ops::ref
