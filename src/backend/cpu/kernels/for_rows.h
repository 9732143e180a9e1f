// Row-parallel loop and double-accumulated row sums shared by the small per-row CPU kernels
// (elementwise, gaussian_topk, AltUp).
#pragma once

#include <algorithm>
#include <cstdint>

#include "core/tensor.h"
#include "core/thread_pool.h"

namespace unicorn::cpu {

// f(r, cols) for every row r of out, rows in parallel once there is enough work to pay for
// waking the pool.
template <typename F>
void for_rows(ThreadPool& pool, const Tensor& out, F f) {
    const int64_t cols = out.cols();
    const int64_t grain = std::max<int64_t>(1, 32768 / std::max<int64_t>(cols, 1));
    pool.parallel_for(out.rows(), grain, [&](int64_t b, int64_t e) {
        for (int64_t r = b; r < e; ++r) f(r, cols);
    });
}

// Σ (x[i] − shift)^p for p = 1 or 2, accumulated in double: row statistics feed a threshold
// or a gain applied to every element, so they get more precision than the fp32 data. Four
// independent accumulators keep the add chain short (and vectorizable) without -ffast-math.
template <int kPower>
double sum_pow_f64(const float* x, int64_t n, double shift = 0.0) {
    static_assert(kPower == 1 || kPower == 2);
    constexpr int kAcc = 4;
    double acc[kAcc] = {};
    int64_t i = 0;
    for (; i + kAcc <= n; i += kAcc)
        for (int l = 0; l < kAcc; ++l) {
            const double d = static_cast<double>(x[i + l]) - shift;
            acc[l] += kPower == 1 ? d : d * d;
        }
    double s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for (; i < n; ++i) {
        const double d = static_cast<double>(x[i]) - shift;
        s += kPower == 1 ? d : d * d;
    }
    return s;
}

}  // namespace unicorn::cpu
