// Scalar reference: elementwise (see reference.h).
#include <cmath>

#include "ops/ref/reference.h"

namespace unicorn::ops::ref {

namespace {

template <typename F>
void binary(const Tensor& a, const Tensor& b, const Tensor& out, F f) {
    for (int64_t r = 0; r < a.rows(); ++r) {
        const float* pa = a.row<float>(r);
        const float* pb = b.row<float>(r);
        float* po = out.row<float>(r);
        for (int64_t j = 0; j < a.cols(); ++j)
            po[j] = static_cast<float>(f(static_cast<double>(pa[j]), static_cast<double>(pb[j])));
    }
}

}  // namespace

void gelu_tanh_mul(const Tensor& g, const Tensor& u, const Tensor& out) {
    // gelu_pytorch_tanh: 0.5·x·(1 + tanh(sqrt(2/π)·(x + 0.044715·x³)))
    binary(g, u, out, [](double x, double y) {
        const double c = std::sqrt(2.0 / M_PI);
        return 0.5 * x * (1.0 + std::tanh(c * (x + 0.044715 * x * x * x))) * y;
    });
}

void silu_mul(const Tensor& g, const Tensor& u, const Tensor& out) {
    binary(g, u, out, [](double x, double y) { return x / (1.0 + std::exp(-x)) * y; });
}

void add(const Tensor& a, const Tensor& b, const Tensor& out) {
    // b repeats every b.rows() rows (validate_add).
    for (int64_t r = 0; r < a.rows(); ++r) {
        const float* pa = a.row<float>(r);
        const float* pb = b.row<float>(r % b.rows());
        float* po = out.row<float>(r);
        for (int64_t j = 0; j < a.cols(); ++j)
            po[j] = static_cast<float>(static_cast<double>(pa[j]) + pb[j]);
    }
}

void softcap(const Tensor& x, float cap, const Tensor& out) {
    binary(x, x, out, [cap](double v, double) { return cap * std::tanh(v / cap); });
}

void mul(const Tensor& a, const Tensor& b, const Tensor& out) {
    // b is a's shape or one row broadcast over a's rows (rank-1 [N] is one row too).
    const bool broadcast = b.rows() != a.rows() || b.shape().rank() == 1;
    for (int64_t r = 0; r < a.rows(); ++r) {
        const float* pa = a.row<float>(r);
        const float* pb = b.row<float>(broadcast ? 0 : r);
        float* po = out.row<float>(r);
        for (int64_t j = 0; j < a.cols(); ++j)
            po[j] = static_cast<float>(static_cast<double>(pa[j]) * pb[j]);
    }
}

void scale(const Tensor& x, float s, const Tensor& out) {
    binary(x, x, out, [s](double v, double) { return v * s; });
}

}  // namespace unicorn::ops::ref
