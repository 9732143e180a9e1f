// AltUp kernels (Gemma 3n): match_magnitude, altup_predict, altup_correct. Streams are stacked
// by rows, stream i being rows i·T … i·T+T−1 of [A·T, D]; each output row (i, t) is one
// parallel work item. Mirrors transformers Gemma3nTextModel / Gemma3nTextAltUp.
#include <algorithm>
#include <cmath>

#include "backend/cpu/kernels/for_rows.h"
#include "backend/cpu/kernels/kernels.h"
#include "backend/cpu/kernels/vec.h"

namespace unicorn::cpu {

// Both mean squares in double; the gain sqrt(mean(target²)) / sqrt(max(mean(x²), floor)) is
// rounded to fp32 once and applied in fp32.
void match_magnitude(ThreadPool& pool, const Tensor& x, const Tensor& target, float floor,
                     const Tensor& out) {
    const VecOps& v = vec_ops();
    for_rows(pool, out, [&](int64_t r, int64_t n) {
        const float* src = x.row<float>(r);
        const double dn = static_cast<double>(n);
        const double target_ms = sum_pow_f64<2>(target.row<float>(r), n) / dn;
        const double x_ms = std::max(sum_pow_f64<2>(src, n) / dn, static_cast<double>(floor));
        const auto gain = static_cast<float>(std::sqrt(target_ms) / std::sqrt(x_ms));
        v.scale_mul(src, gain, nullptr, out.row<float>(r), n);
    });
}

// out[i][t] = (Σ_j c[t][i·A+j]·X[j][t]) + X[i][t] in fp32, the mix first as HF's matmul does.
void altup_predict(ThreadPool& pool, const Tensor& streams, const Tensor& coefs, int n_streams,
                   const Tensor& out) {
    const VecOps& v = vec_ops();
    const int64_t a = n_streams, t_len = streams.rows() / a;
    for_rows(pool, out, [&](int64_t r, int64_t n) {
        const int64_t i = r / t_len, t = r % t_len;
        const float* c = coefs.row<float>(t) + i * a;
        float* dst = out.row<float>(r);
        v.scale_mul(streams.row<float>(t), c[0], nullptr, dst, n);
        for (int64_t j = 1; j < a; ++j) v.axpy(c[j], streams.row<float>(j * t_len + t), dst, n);
        v.axpy(1.0f, streams.row<float>(r), dst, n);  // y + 1·x is exactly y + x
    });
}

// out[i][t] = pred[i][t] + (c[t][i] + 1)·(actual[t] − pred[0][t]), in fp32 as HF computes it.
void altup_correct(ThreadPool& pool, const Tensor& pred, const Tensor& actual, const Tensor& coefs,
                   int n_streams, const Tensor& out) {
    const int64_t t_len = pred.rows() / n_streams;
    for_rows(pool, out, [&](int64_t r, int64_t n) {
        const int64_t i = r / t_len, t = r % t_len;
        const float gain = coefs.row<float>(t)[i] + 1.0f;
        const float* act = actual.row<float>(t);
        const float* p0 = pred.row<float>(t);  // the active stream (index 0)
        const float* pi = pred.row<float>(r);
        float* dst = out.row<float>(r);
        for (int64_t k = 0; k < n; ++k) dst[k] = pi[k] + gain * (act[k] - p0[k]);
    });
}

}  // namespace unicorn::cpu
