#include "ops/ref/reference.h"

#include <cmath>
#include <vector>

#include "core/check.h"
#include "quant/quantize.h"

namespace unicorn::ops::ref {

void embedding(const Tensor& table, std::span<const int32_t> ids, const EmbeddingParams& p,
               const Tensor& out) {
    const int64_t d = table.cols();
    for (size_t i = 0; i < ids.size(); ++i) {
        float* dst = out.row<float>(static_cast<int64_t>(i));
        quant::dequantize_row(table.dtype(), table.row_bytes_ptr(ids[i]), dst, d);
        for (int64_t j = 0; j < d; ++j)
            dst[j] = static_cast<float>(static_cast<double>(dst[j]) * p.scale);
    }
}

void linear(const Tensor& x, const Tensor& w, const Tensor& y) {
    for (int64_t t = 0; t < x.rows(); ++t) {
        for (int64_t o = 0; o < w.rows(); ++o) {
            y.row<float>(t)[o] = static_cast<float>(
                quant::dot_row_ref(w.dtype(), w.row_bytes_ptr(o), x.row<float>(t), w.cols()));
        }
    }
}

void rms_norm(const Tensor& x, const Tensor& weight, const RmsNormParams& p, const Tensor& out) {
    const int64_t d = x.cols();
    const bool has_w = weight.defined() && weight.numel() > 0;
    for (int64_t r = 0; r < x.rows(); ++r) {
        const float* src = x.row<float>(r);
        double ss = 0;
        for (int64_t j = 0; j < d; ++j) ss += static_cast<double>(src[j]) * src[j];
        const double inv = 1.0 / std::sqrt(ss / static_cast<double>(d) + p.eps);
        float* dst = out.row<float>(r);
        for (int64_t j = 0; j < d; ++j) {
            const double w = has_w ? weight.data_as<float>()[j] : 1.0;
            dst[j] = static_cast<float>(src[j] * inv * w);
        }
    }
}

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
    binary(a, b, out, [](double x, double y) { return x + y; });
}

void softcap(const Tensor& x, float cap, const Tensor& out) {
    binary(x, x, out, [cap](double v, double) { return cap * std::tanh(v / cap); });
}

void rope_inv_freq(double base, int rot_dim, float* out) {
    for (int i = 0; i < rot_dim / 2; ++i) {
        out[i] = static_cast<float>(1.0 / std::pow(base, static_cast<double>(2 * i) / rot_dim));
    }
}

}  // namespace unicorn::ops::ref
