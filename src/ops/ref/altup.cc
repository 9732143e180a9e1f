// Scalar reference: match_magnitude, altup_predict, altup_correct (see reference.h). Mirror
// transformers Gemma3nTextModel (stream rescale) and Gemma3nTextAltUp.predict / .correct, with
// the coefficient layout of exec/graph_ops.h.
#include <algorithm>
#include <cmath>

#include "ops/ref/reference.h"

namespace unicorn::ops::ref {

namespace {

double mean_sq(const float* x, int64_t n) {
    double ss = 0;
    for (int64_t j = 0; j < n; ++j) ss += static_cast<double>(x[j]) * x[j];
    return ss / static_cast<double>(n);
}

}  // namespace

void match_magnitude(const Tensor& x, const Tensor& target, float floor, const Tensor& out) {
    const int64_t d = x.cols();
    for (int64_t r = 0; r < x.rows(); ++r) {
        const float* src = x.row<float>(r);
        const double factor = std::sqrt(mean_sq(target.row<float>(r), d)) /
                              std::sqrt(std::max(mean_sq(src, d), static_cast<double>(floor)));
        float* dst = out.row<float>(r);
        for (int64_t j = 0; j < d; ++j) dst[j] = static_cast<float>(src[j] * factor);
    }
}

void altup_predict(const Tensor& streams, const Tensor& coefs, int n_streams, const Tensor& out) {
    const int64_t a = n_streams, t_len = streams.rows() / a, d = streams.cols();
    for (int64_t t = 0; t < t_len; ++t) {
        const float* c = coefs.row<float>(t);  // [A·A], row i mixes the streams into stream i
        for (int64_t i = 0; i < a; ++i) {
            float* dst = out.row<float>(i * t_len + t);
            for (int64_t k = 0; k < d; ++k) {
                double acc = streams.row<float>(i * t_len + t)[k];
                for (int64_t j = 0; j < a; ++j)
                    acc += static_cast<double>(c[i * a + j]) * streams.row<float>(j * t_len + t)[k];
                dst[k] = static_cast<float>(acc);
            }
        }
    }
}

void altup_correct(const Tensor& pred, const Tensor& actual, const Tensor& coefs, int n_streams,
                   const Tensor& out) {
    const int64_t a = n_streams, t_len = pred.rows() / a, d = pred.cols();
    for (int64_t t = 0; t < t_len; ++t) {
        const float* act = actual.row<float>(t);
        const float* p0 = pred.row<float>(t);  // the active stream (index 0)
        for (int64_t i = 0; i < a; ++i) {
            const double gain = static_cast<double>(coefs.row<float>(t)[i]) + 1.0;
            const float* pi = pred.row<float>(i * t_len + t);
            float* dst = out.row<float>(i * t_len + t);
            for (int64_t k = 0; k < d; ++k)
                dst[k] = static_cast<float>(pi[k] + gain * (static_cast<double>(act[k]) - p0[k]));
        }
    }
}

void altup_coefs(const Tensor& x, const Tensor& norm_w, const Tensor& router_w,
                 const Tensor& coef_w, float eps, const Tensor& out) {
    Tensor h = Tensor::empty(DType::kF32, Shape{x.rows(), x.cols()});
    Tensor r = Tensor::empty(DType::kF32, Shape{x.rows(), router_w.rows()});
    rms_norm(x, norm_w, RmsNormParams{eps}, h);
    linear(h, router_w, r);
    softcap(r, 1.0f, r);
    linear(r, coef_w, out);
}

}  // namespace unicorn::ops::ref
