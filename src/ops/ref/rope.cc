// Scalar reference: rope (see reference.h).
#include <cmath>

#include "ops/ref/reference.h"

namespace unicorn::ops::ref {

void rope(const Tensor& x, std::span<const int32_t> positions, const RopeParams& p) {
    const int half = p.rot_dim / 2;
    for (int64_t t = 0; t < x.rows(); ++t) {
        float* row = x.row<float>(t);
        for (int h = 0; h < p.n_heads; ++h) {
            float* v = row + static_cast<int64_t>(h) * p.head_dim;
            for (int i = 0; i < half; ++i) {
                // HF forms the angle as an fp32 product (position × fp32 frequency) and takes
                // cos/sin of that; rounding the angle to fp32 first keeps us on the same value.
                const double theta = static_cast<float>(positions[t]) * p.inv_freq[i];
                const double c = std::cos(theta), s = std::sin(theta);
                const int a = p.mode == RopeMode::kNeox ? i : 2 * i;
                const int b = p.mode == RopeMode::kNeox ? i + half : 2 * i + 1;
                const double x0 = v[a], x1 = v[b];
                v[a] = static_cast<float>(x0 * c - x1 * s);
                v[b] = static_cast<float>(x1 * c + x0 * s);
            }
        }
    }
}

void rope_inv_freq(double base, int rot_dim, float* out) {
    for (int i = 0; i < rot_dim / 2; ++i) {
        out[i] = static_cast<float>(1.0 / std::pow(base, static_cast<double>(2 * i) / rot_dim));
    }
}

}  // namespace unicorn::ops::ref
