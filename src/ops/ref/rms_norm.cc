// Scalar reference: rms_norm (see reference.h).
#include <cmath>

#include "ops/ref/reference.h"

namespace unicorn::ops::ref {

void rms_norm(const Tensor& x, const Tensor& weight, const RmsNormParams& p, const Tensor& out) {
    const int64_t d = x.cols();
    const bool has_w = weight.defined() && weight.numel() > 0;
    for (int64_t r = 0; r < x.rows(); ++r) {
        const float* src = x.row<float>(r);
        double ss = 0;
        for (int64_t j = 0; j < d; ++j) ss += static_cast<double>(src[j]) * src[j];
        const double inv = 1.0 / std::sqrt(ss / static_cast<double>(d) + p.eps);
        float* dst = out.row<float>(r);
        for (int64_t j = 0; j < d; ++j) {
            const double w = has_w ? weight.data_as<float>()[j] : 1.0;
            dst[j] = static_cast<float>(src[j] * inv * w);
            if (p.residual != nullptr)
                dst[j] =
                    static_cast<float>(static_cast<double>(p.residual->row<float>(r)[j]) + dst[j]);
        }
    }
}

}  // namespace unicorn::ops::ref
