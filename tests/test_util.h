// Shared helpers for tests: deterministic random data, poisoned outputs, error metrics.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "core/tensor.h"

namespace unicorn::testing {

inline Tensor random_f32(std::mt19937& rng, int64_t rows, int64_t cols, float scale = 1.0f,
                         int64_t pad_cols = 0) {
    // pad_cols > 0 gives a strided view: rows are cols + pad_cols floats apart.
    Tensor base = Tensor::empty(DType::kF32, Shape{rows, cols + pad_cols});
    std::normal_distribution<float> n(0.0f, scale);
    for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < cols + pad_cols; ++c) base.row<float>(r)[c] = n(rng);
    return pad_cols > 0 ? base.slice_cols(0, cols) : base;
}

inline Tensor poisoned_f32(int64_t rows, int64_t cols) {
    Tensor t = Tensor::empty(DType::kF32, Shape{rows, cols});
    for (int64_t i = 0; i < rows * cols; ++i)
        t.data_as<float>()[i] = std::numeric_limits<float>::quiet_NaN();
    return t;
}

// max |a - b| over all elements; NaN anywhere (an unwritten output) gives +inf.
inline double max_abs_diff(const Tensor& a, const Tensor& b) {
    double m = 0;
    for (int64_t r = 0; r < a.rows(); ++r)
        for (int64_t c = 0; c < a.cols(); ++c) {
            const double d =
                std::fabs(static_cast<double>(a.row<float>(r)[c]) - b.row<float>(r)[c]);
            if (std::isnan(d)) return INFINITY;
            m = std::max(m, d);
        }
    return m;
}

inline double max_abs(const Tensor& a) {
    double m = 0;
    for (int64_t r = 0; r < a.rows(); ++r)
        for (int64_t c = 0; c < a.cols(); ++c)
            m = std::max(m, std::fabs(static_cast<double>(a.row<float>(r)[c])));
    return m;
}

}  // namespace unicorn::testing
