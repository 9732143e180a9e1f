// Scalar reference: attention (see reference.h).
#include <algorithm>
#include <cmath>
#include <vector>

#include "ops/ref/reference.h"

namespace unicorn::ops::ref {

void attention(const Tensor& q, std::span<const int32_t> q_pos, const Tensor& k, const Tensor& v,
               std::span<const int32_t> k_pos, const AttentionParams& p, const Tensor& out) {
    const int group = p.n_heads / p.n_kv_heads;
    const int64_t s_len = k.rows();
    std::vector<double> score(static_cast<size_t>(s_len));
    for (int64_t t = 0; t < q.rows(); ++t) {
        for (int h = 0; h < p.n_heads; ++h) {
            const float* qh = q.row<float>(t) + static_cast<int64_t>(h) * p.head_dim;
            const int64_t kv_off = static_cast<int64_t>(h / group) * p.head_dim;
            double max_s = -INFINITY;
            for (int64_t s = 0; s < s_len; ++s) {
                const bool visible =
                    k_pos[s] <= q_pos[t] && (p.window == 0 || q_pos[t] - k_pos[s] < p.window);
                if (!visible) {
                    score[s] = -INFINITY;
                    continue;
                }
                const float* kh = k.row<float>(s) + kv_off;
                double dot = 0;
                for (int d = 0; d < p.head_dim; ++d) dot += static_cast<double>(qh[d]) * kh[d];
                dot *= p.scale;
                if (p.softcap > 0) dot = p.softcap * std::tanh(dot / p.softcap);
                score[s] = dot;
                max_s = std::max(max_s, dot);
            }
            float* o = out.row<float>(t) + static_cast<int64_t>(h) * p.head_dim;
            if (max_s == -INFINITY) {
                for (int d = 0; d < p.head_dim; ++d) o[d] = 0.0f;
                continue;
            }
            double denom = 0;
            for (int64_t s = 0; s < s_len; ++s) {
                score[s] = score[s] == -INFINITY ? 0.0 : std::exp(score[s] - max_s);
                denom += score[s];
            }
            for (int d = 0; d < p.head_dim; ++d) {
                double acc = 0;
                for (int64_t s = 0; s < s_len; ++s) {
                    if (score[s] != 0.0) acc += score[s] * v.row<float>(s)[kv_off + d];
                }
                o[d] = static_cast<float>(acc / denom);
            }
        }
    }
}

}  // namespace unicorn::ops::ref
