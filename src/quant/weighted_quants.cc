// Importance-weighted quantizers: what llama-quantize --imatrix writes.
//
// An importance matrix gives, per input column k of a weight, the mean squared activation
// E[x_k²] seen on calibration text. The error a weight's quantization adds to a dot product
// with those activations is Σ_k E[x_k²]·(w_k − q_k)², so the block searches minimise that
// weighted error instead of a heuristic one. These follow ggml's quantize_row_q*_impl
// (ggml/src/ggml-quants.c, the quant_weights paths) in their float expressions and order, so
// the bytes match llama-quantize's; the per-element weight is importance·sqrt(σ² + x²), σ² a
// mean square of the weights (over the row for the 32-blocks, over the super-block, doubled,
// for Q3_K..Q5_K), which keeps large weights from being sacrificed to small ones. Differences
// from the unweighted searches:
//  - Q4_0/Q5_0: a least-squares symmetric fit (19 candidate scales) instead of max-abs.
//  - Q4_1/Q5_1, and the sub-blocks of Q2_K/Q4_K/Q5_K: the (scale, min) fit over 37 candidate
//    scales, and the codes it found are kept (the 32-blocks are not re-coded).
//  - Q2_K/Q4_K/Q5_K: the sub-block scales and mins are themselves quantized by a weighted fit
//    (fit_positive) instead of max-based rounding.
//  - Q3_K: the sub-block fit is the least-squares one, and so is the super-block scale.
//  - Q6_K: only the sub-block weights change (k_quantize.cc).

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/half.h"
#include "quant/quant_impl.h"

namespace unicorn::quant::detail {
namespace {

constexpr float kGroupMaxEps = 1e-15f;  // ggml GROUP_MAX_EPS

int clamp_int(int v, int lo, int hi) { return v < lo ? lo : (v > hi ? hi : v); }

float sum_squares(const float* x, int64_t n) {
    float s = 0.0f;
    for (int64_t i = 0; i < n; ++i) s += x[i] * x[i];
    return s;
}

// ggml make_qp_quants: non-negative values x (sub-block scales or mins) → codes 0..nmax with
// one scale, under weights w. Start from max → nmax, try 8 neighbouring inverse scales by
// weighted squared error, then the least-squares scale with coordinate descent on single
// codes. Codes are kept in uint8_t as ggml does (a negative rounding would wrap the same way).
float fit_positive(int n, int nmax, const float* x, uint8_t* codes, const float* w) {
    float max = 0.0f;
    for (int i = 0; i < n; ++i) max = max > x[i] ? max : x[i];
    if (max < kGroupMaxEps) {
        std::memset(codes, 0, static_cast<size_t>(n));
        return 0.0f;
    }
    float iscale = static_cast<float>(nmax) / max;
    const float scale = 1.0f / iscale;
    float best_mse = 0.0f;
    for (int i = 0; i < n; ++i) {
        codes[i] = static_cast<uint8_t>(round_nearest_even(iscale * x[i]));
        const float diff = x[i] - scale * static_cast<float>(codes[i]);
        best_mse += w[i] * diff * diff;
    }
    for (int step = -4; step <= 4; ++step) {
        if (step == 0) continue;
        const float iscale_is = (0.1f * static_cast<float>(step) + static_cast<float>(nmax)) / max;
        const float scale_is = 1.0f / iscale_is;
        float mse = 0.0f;
        for (int i = 0; i < n; ++i) {
            const int l = std::min(nmax, round_nearest_even(iscale_is * x[i]));
            const float diff = x[i] - scale_is * static_cast<float>(l);
            mse += w[i] * diff * diff;
        }
        if (mse < best_mse) {
            best_mse = mse;
            iscale = iscale_is;
        }
    }
    float sumlx = 0.0f;
    float suml2 = 0.0f;
    for (int i = 0; i < n; ++i) {
        const int l = std::min(nmax, round_nearest_even(iscale * x[i]));
        codes[i] = static_cast<uint8_t>(l);
        sumlx += w[i] * x[i] * static_cast<float>(l);
        suml2 += w[i] * static_cast<float>(l) * static_cast<float>(l);
    }
    for (int sweep = 0; sweep < 5; ++sweep) {
        int changed = 0;
        for (int i = 0; i < n; ++i) {
            const float li = static_cast<float>(codes[i]);
            float slx = sumlx - w[i] * x[i] * li;
            float sl2 = suml2 - w[i] * li * li;
            if (!(slx > 0.0f && sl2 > 0.0f)) continue;
            const int new_l = std::min(nmax, round_nearest_even(x[i] * sl2 / slx));
            if (new_l == codes[i]) continue;
            const float nl = static_cast<float>(new_l);
            slx += w[i] * x[i] * nl;
            sl2 += w[i] * nl * nl;
            if (slx * slx * suml2 > sumlx * sumlx * sl2) {
                codes[i] = static_cast<uint8_t>(new_l);
                sumlx = slx;
                suml2 = sl2;
                ++changed;
            }
        }
        if (changed == 0) break;
    }
    return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
}

// importance·sqrt(σ² + x²) for one group.
void element_weights(const float* x, const float* qw, int n, float sigma2, float* out) {
    for (int i = 0; i < n; ++i) out[i] = qw[i] * std::sqrt(sigma2 + x[i] * x[i]);
}

float sum_of(const float* w, int n) {
    float s = 0.0f;
    for (int i = 0; i < n; ++i) s += w[i];
    return s;
}

// The 32-element offset types: fit (scale, min) and keep the search's codes.
template <typename Block>
void quantize_offset32(const float* x, Block* y, int64_t n, const float* qw, int nmax,
                       void (*store)(Block&, const uint8_t*)) {
    const float sigma2 = sum_squares(x, n) / static_cast<float>(n);
    float weight[kQK];
    uint8_t l[kQK];
    for (int64_t b = 0; b < n / kQK; ++b) {
        const float* xb = x + b * kQK;
        element_weights(xb, qw + b * kQK, kQK, sigma2, weight);
        float min = 0.0f;
        const float d = fit_offset(kQK, xb, weight, {nmax, -0.9f, 0.05f, 36, false}, l, &min);
        y[b].d = f32_to_fp16(d);
        y[b].m = f32_to_fp16(-min);
        store(y[b], l);
    }
}

// The 32-element symmetric types: least-squares fit around zero; codes biased by +nmax.
template <typename Block>
void quantize_symmetric32(const float* x, Block* y, int64_t n, const float* qw, int nmax,
                          void (*store)(Block&, const uint8_t*)) {
    const float sigma2 = sum_squares(x, n) / static_cast<float>(n);
    float weight[kQK];
    uint8_t l[kQK];
    for (int64_t b = 0; b < n / kQK; ++b) {
        const float* xb = x + b * kQK;
        element_weights(xb, qw + b * kQK, kQK, sigma2, weight);
        y[b].d = f32_to_fp16(fit_symmetric(kQK, nmax, xb, weight, l));
        store(y[b], l);
    }
}

// Byte j: element j in the low nibble, element j + 16 in the high one.
template <typename Block>
void store_nibbles(Block& blk, const uint8_t* l) {
    for (int j = 0; j < kQK / 2; ++j)
        blk.qs[j] = static_cast<uint8_t>((l[j] & 0x0f) | ((l[j + kQK / 2] & 0x0f) << 4));
}

// As store_nibbles, plus bit 4 of element e in bit e of qh.
template <typename Block>
void store_5bit(Block& blk, const uint8_t* l) {
    store_nibbles(blk, l);
    uint32_t qh = 0;
    for (int j = 0; j < kQK; ++j) qh |= static_cast<uint32_t>((l[j] >> 4) & 1u) << j;
    std::memcpy(blk.qh, &qh, sizeof(qh));
}

// Q4_K/Q5_K's 6-bit scales and mins, 8 sub-blocks (layout in quant_impl.h).
void pack_scales_k4(const uint8_t* ls, const uint8_t* lm, uint8_t* scales12) {
    std::memset(scales12, 0, kKScaleBytes);
    for (int j = 0; j < 8; ++j) {
        const uint8_t s = std::min<uint8_t>(63, ls[j]);
        const uint8_t m = std::min<uint8_t>(63, lm[j]);
        if (j < 4) {
            scales12[j] = s;
            scales12[j + 4] = m;
        } else {
            scales12[j + 4] = static_cast<uint8_t>((s & 0x0f) | ((m & 0x0f) << 4));
            scales12[j - 4] = static_cast<uint8_t>(scales12[j - 4] | ((s >> 4) << 6));
            scales12[j] = static_cast<uint8_t>(scales12[j] | ((m >> 4) << 6));
        }
    }
}

// Q4_K and Q5_K: weighted (scale, min) per sub-block of 32, weighted 6-bit quantization of
// those, then every element re-coded against the stored scales. Codes go to l[256].
void fit_k4_style_weighted(const float* x, const float* qw, int nmax, uint16_t* d_out,
                           uint16_t* dmin_out, uint8_t* scales12, uint8_t* l) {
    const float sigma2 = 2.0f * sum_squares(x, kQKK) / static_cast<float>(kQKK);
    float weights[32];
    float sw[8];
    float scales[8];
    float mins[8];
    for (int j = 0; j < 8; ++j) {
        element_weights(x + 32 * j, qw + 32 * j, 32, sigma2, weights);
        sw[j] = sum_of(weights, 32);
        scales[j] = fit_offset(32, x + 32 * j, weights, {nmax, -0.9f, 0.05f, 36, false}, l + 32 * j,
                               &mins[j]);
    }
    uint8_t ls[8];
    uint8_t lm[8];
    const float d_block = fit_positive(8, 63, scales, ls, sw);
    const float m_block = fit_positive(8, 63, mins, lm, sw);
    pack_scales_k4(ls, lm, scales12);
    *d_out = f32_to_fp16(d_block);
    *dmin_out = f32_to_fp16(m_block);
    const float d = fp16_to_f32(*d_out);
    const float dmin = fp16_to_f32(*dmin_out);
    for (int j = 0; j < 8; ++j) {
        const ScaleMin sm = unpack_scale_min_k4(scales12, j);
        const float ds = d * static_cast<float>(sm.scale);
        if (ds == 0.0f) continue;
        const float dm = dmin * static_cast<float>(sm.min);
        for (int i = 0; i < 32; ++i) {
            const int q = round_nearest_even((x[32 * j + i] + dm) / ds);
            l[32 * j + i] = static_cast<uint8_t>(clamp_int(q, 0, nmax));
        }
    }
}

}  // namespace

void quantize_q4_0_weighted(const float* x, BlockQ4_0* y, int64_t n, const float* qw) {
    quantize_symmetric32<BlockQ4_0>(x, y, n, qw, 8, store_nibbles<BlockQ4_0>);
}

void quantize_q5_0_weighted(const float* x, BlockQ5_0* y, int64_t n, const float* qw) {
    quantize_symmetric32<BlockQ5_0>(x, y, n, qw, 16, store_5bit<BlockQ5_0>);
}

void quantize_q4_1_weighted(const float* x, BlockQ4_1* y, int64_t n, const float* qw) {
    quantize_offset32<BlockQ4_1>(x, y, n, qw, 15, store_nibbles<BlockQ4_1>);
}

void quantize_q5_1_weighted(const float* x, BlockQ5_1* y, int64_t n, const float* qw) {
    quantize_offset32<BlockQ5_1>(x, y, n, qw, 31, store_5bit<BlockQ5_1>);
}

void quantize_q2_k_weighted(const float* x, BlockQ2_K* y, int64_t n, const float* qw) {
    for (int64_t b = 0; b < n / kQKK; ++b, x += kQKK, qw += kQKK) {
        BlockQ2_K& blk = y[b];
        const float sigma2 = sum_squares(x, kQKK) / static_cast<float>(kQKK);
        uint8_t l[kQKK];
        float weight[16];
        float sw[16];
        float scales[16];
        float mins[16];
        for (int j = 0; j < 16; ++j) {
            element_weights(x + 16 * j, qw + 16 * j, 16, sigma2, weight);
            sw[j] = sum_of(weight, 16);
            scales[j] = fit_offset(16, x + 16 * j, weight, {3, -0.9f, 0.05f, 36, false}, l + 16 * j,
                                   &mins[j]);
        }
        uint8_t ls[16];
        uint8_t lm[16];
        blk.d = f32_to_fp16(fit_positive(16, 15, scales, ls, sw));
        blk.dmin = f32_to_fp16(fit_positive(16, 15, mins, lm, sw));
        const float dm = fp16_to_f32(blk.d);
        const float mm = fp16_to_f32(blk.dmin);
        for (int j = 0; j < 16; ++j) blk.scales[j] = static_cast<uint8_t>(ls[j] | (lm[j] << 4));
        for (int j = 0; j < 16; ++j) {
            const float d = dm * static_cast<float>(blk.scales[j] & 0x0f);
            if (d == 0.0f) continue;
            const float m = mm * static_cast<float>(blk.scales[j] >> 4);
            for (int i = 0; i < 16; ++i) {
                const int q = round_nearest_even((x[16 * j + i] + m) / d);
                l[16 * j + i] = static_cast<uint8_t>(clamp_int(q, 0, 3));
            }
        }
        pack_2bit(l, blk.qs);
    }
}

void quantize_q3_k_weighted(const float* x, BlockQ3_K* y, int64_t n, const float* qw) {
    for (int64_t b = 0; b < n / kQKK; ++b, x += kQKK, qw += kQKK) {
        BlockQ3_K& blk = y[b];
        const float sigma2 = 2.0f * sum_squares(x, kQKK) / static_cast<float>(kQKK);
        uint8_t codes[kQKK];  // biased by +4: 0..7
        float weight[16];
        float sw[16];
        float scales[16];
        for (int j = 0; j < 16; ++j) {
            element_weights(x + 16 * j, qw + 16 * j, 16, sigma2, weight);
            sw[j] = sum_of(weight, 16);
            scales[j] = fit_symmetric(16, 4, x + 16 * j, weight, codes + 16 * j);
        }
        // The sixteen sub-block scales as 6-bit signed codes (biased by +32) of one scale,
        // fitted under the sub-blocks' total weights.
        uint8_t ls[16];
        const float d_block = fit_symmetric(16, 32, scales, sw, ls);
        std::memset(blk.scales, 0, sizeof(blk.scales));
        for (int j = 0; j < 16; ++j) {
            const int v = ls[j];
            if (j < 8) {
                blk.scales[j] = static_cast<uint8_t>(v & 0x0f);
            } else {
                blk.scales[j - 8] = static_cast<uint8_t>(blk.scales[j - 8] | ((v & 0x0f) << 4));
            }
            blk.scales[8 + j % 4] =
                static_cast<uint8_t>(blk.scales[8 + j % 4] | ((v >> 4) << (2 * (j / 4))));
        }
        blk.d = f32_to_fp16(d_block);
        const float d = fp16_to_f32(blk.d);
        for (int j = 0; j < 16; ++j) {
            const float ds = d * static_cast<float>(unpack_scale_q3_k(blk.scales, j) - 32);
            if (ds == 0.0f) continue;
            for (int i = 0; i < 16; ++i) {
                const int q = round_nearest_even(x[16 * j + i] / ds);
                codes[16 * j + i] = static_cast<uint8_t>(clamp_int(q, -4, 3) + 4);
            }
        }
        pack_q3_k_codes(codes, blk);
    }
}

void quantize_q4_k_weighted(const float* x, BlockQ4_K* y, int64_t n, const float* qw) {
    for (int64_t b = 0; b < n / kQKK; ++b, x += kQKK, qw += kQKK) {
        uint8_t l[kQKK];
        fit_k4_style_weighted(x, qw, 15, &y[b].d, &y[b].dmin, y[b].scales, l);
        pack_q4_k_codes(l, y[b]);
    }
}

void quantize_q5_k_weighted(const float* x, BlockQ5_K* y, int64_t n, const float* qw) {
    for (int64_t b = 0; b < n / kQKK; ++b, x += kQKK, qw += kQKK) {
        uint8_t l[kQKK];
        fit_k4_style_weighted(x, qw, 31, &y[b].d, &y[b].dmin, y[b].scales, l);
        pack_q5_k_codes(l, y[b]);
    }
}

}  // namespace unicorn::quant::detail
