#include <cmath>

#include "backend/cpu/kernels/kernels.h"
#include "backend/cpu/kernels/vec.h"

namespace unicorn::cpu {

// Sum of squares in fp32 (HF computes the Gemma/Llama norms in fp32 too); rows run in
// parallel — per-head norms arrive as [T·H, Dh] so decode still has H rows.
void rms_norm(ThreadPool& pool, const Tensor& x, const Tensor& weight, const ops::RmsNormParams& p,
              const Tensor& out) {
    const VecOps& v = vec_ops();
    const int64_t d = x.cols();
    const float* w = weight.defined() && weight.numel() > 0 ? weight.data_as<float>() : nullptr;
    const int64_t grain = std::max<int64_t>(1, 16384 / std::max<int64_t>(d, 1));
    pool.parallel_for(x.rows(), grain, [&](int64_t b, int64_t e) {
        for (int64_t r = b; r < e; ++r) {
            const float* src = x.row<float>(r);
            const float ms = v.sum_sq(src, d) / static_cast<float>(d);
            const float inv = 1.0f / std::sqrt(ms + p.eps);
            v.scale_mul(src, inv, w, out.row<float>(r), d);
            if (p.residual != nullptr)
                v.add(p.residual->row<float>(r), out.row<float>(r), out.row<float>(r), d);
        }
    });
}

}  // namespace unicorn::cpu
