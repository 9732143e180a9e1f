#include <algorithm>
#include <cmath>
#include <vector>

#include "backend/cpu/kernels/kernels.h"
#include "backend/cpu/kernels/vec.h"

namespace unicorn::cpu {

// One task per (query, head): gather the visible keys, scores = q·k · scale (fp32 dot),
// optional soft-cap, softmax in fp32 (max-subtracted), then out = Σ p·v. Keys may sit in any
// order (ring buffers), so visibility is decided per key from its position.
void attention(ThreadPool& pool, const Tensor& q, std::span<const int32_t> q_pos, const Tensor& k,
               const Tensor& v, std::span<const int32_t> k_pos, const ops::AttentionParams& p,
               const Tensor& out) {
    const VecOps& vo = vec_ops();
    const int group = p.n_heads / p.n_kv_heads;
    const int64_t s_len = k.rows();
    const int64_t dh = p.head_dim;
    const int64_t tasks = q.rows() * p.n_heads;
    pool.parallel_for(tasks, 1, [&](int64_t b, int64_t e) {
        // Per-thread scratch kept across calls: a decode step runs attention once per layer.
        thread_local std::vector<float> score;
        thread_local std::vector<int32_t> idx;
        score.resize(static_cast<size_t>(s_len));
        idx.resize(static_cast<size_t>(s_len));
        for (int64_t task = b; task < e; ++task) {
            const int64_t t = task / p.n_heads;
            const int h = static_cast<int>(task % p.n_heads);
            const float* qh = q.row<float>(t) + h * dh;
            const int64_t kv_off = static_cast<int64_t>(h / group) * dh;
            float* o = out.row<float>(t) + h * dh;
            int64_t n = 0;
            for (int64_t s = 0; s < s_len; ++s) {
                const int32_t dist = q_pos[t] - k_pos[s];
                if (dist < 0 || (p.window != 0 && dist >= p.window)) continue;
                float sc = vo.dot(qh, k.row<float>(s) + kv_off, dh) * p.scale;
                if (p.softcap > 0) sc = p.softcap * std::tanh(sc / p.softcap);
                score[n] = sc;
                idx[n++] = static_cast<int32_t>(s);
            }
            std::fill(o, o + dh, 0.0f);
            if (n == 0) continue;
            const float m = vo.max(score.data(), n);
            const float denom = vo.exp_shift_sum(score.data(), m, n);
            const float inv = 1.0f / denom;
            for (int64_t j = 0; j < n; ++j)
                vo.axpy(score[j] * inv, v.row<float>(idx[j]) + kv_off, o, dh);
        }
    });
}

}  // namespace unicorn::cpu
