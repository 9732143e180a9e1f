#include <cmath>
#include <vector>

#include "backend/cpu/kernels/kernels.h"

namespace unicorn::cpu {

// cos/sin are computed once per (token, frequency) and applied to every head. The angle is
// the fp32 product position × inv_freq, as in HF, then cos/sin in double and rounded.
void rope(ThreadPool& pool, const Tensor& x, std::span<const int32_t> positions,
          const ops::RopeParams& p) {
    const int half = p.rot_dim / 2;
    pool.parallel_for(x.rows(), 4, [&](int64_t b, int64_t e) {
        std::vector<float> cs(static_cast<size_t>(half)), sn(static_cast<size_t>(half));
        for (int64_t t = b; t < e; ++t) {
            for (int i = 0; i < half; ++i) {
                const double theta = static_cast<float>(positions[t]) * p.inv_freq[i];
                cs[i] = static_cast<float>(std::cos(theta));
                sn[i] = static_cast<float>(std::sin(theta));
            }
            float* row = x.row<float>(t);
            for (int h = 0; h < p.n_heads; ++h) {
                float* v = row + static_cast<int64_t>(h) * p.head_dim;
                if (p.mode == ops::RopeMode::kNeox) {
                    float* v1 = v + half;
                    for (int i = 0; i < half; ++i) {
                        const float x0 = v[i], x1 = v1[i];
                        v[i] = x0 * cs[i] - x1 * sn[i];
                        v1[i] = x1 * cs[i] + x0 * sn[i];
                    }
                } else {
                    for (int i = 0; i < half; ++i) {
                        const float x0 = v[2 * i], x1 = v[2 * i + 1];
                        v[2 * i] = x0 * cs[i] - x1 * sn[i];
                        v[2 * i + 1] = x1 * cs[i] + x0 * sn[i];
                    }
                }
            }
        }
    });
}

}  // namespace unicorn::cpu
