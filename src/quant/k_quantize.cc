// Reference quantizers for the K-quants (Q2_K .. Q6_K) and the activation-side Q8_K.
//
// These follow ggml's quantize_row_q*_K_ref (ggml/src/ggml-quants.c), i.e. what llama-quantize
// does without an importance matrix: a super-block of 256 is cut into sub-blocks of 16 or 32;
// each sub-block gets its best float scale (and min) from a small search, then the sub-block
// scales are themselves quantized to 4, 6 or 8 bits against one fp16 super-scale, and finally
// every element is re-coded against the scale it will actually be decoded with. The float
// expressions keep ggml's order, so the output is byte-identical in practice (the tests check
// this against bytes produced by ggml itself); this is not required for correctness, only
// convenient for comparing files. It does rely on no FMA contraction (baseline x86-64 build,
// no -ffast-math): a fused multiply-add in the sums below can tip a near-tie between two
// candidate scales and change a byte, though never the validity of a block.
//
// Three searches:
//  - fit_symmetric (ggml make_qx_quants): codes in [-nmax, nmax-1] around 0, scale from a
//    weighted least-squares fit, trying 19 slightly perturbed inverse scales.
//  - fit_symmetric_q3 (make_q3_quants): same start, then coordinate descent on single codes.
//  - fit_offset (make_qkx2_quants): codes in [0, nmax] with scale and min, least squares for
//    (scale, min) jointly on nstep+1 candidate inverse scales.

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/half.h"
#include "quant/quant_impl.h"

namespace unicorn::quant::detail {
namespace {

// Below this a group is treated as all zeros (ggml GROUP_MAX_EPS).
constexpr float kGroupMaxEps = 1e-15f;

int clamp_int(int v, int lo, int hi) { return std::max(lo, std::min(hi, v)); }

// The element of largest magnitude, with its sign (first one on ties).
float signed_abs_max(const float* x, int n) {
    float amax = 0.0f;
    float max = 0.0f;
    for (int i = 0; i < n; ++i) {
        if (std::fabs(x[i]) > amax) {
            amax = std::fabs(x[i]);
            max = x[i];
        }
    }
    return max;
}

}  // namespace

// Symmetric fit (ggml make_qx_quants, rmse_type 1) with weights `qw`, or w = x² when qw is
// null: returns the scale; codes (biased by +nmax) go to `codes`. The starting inverse scale
// maps the largest-magnitude element to -nmax; neighbours -(nmax ± 0.1·k)/max are tried and
// the one with the largest (Σw·x·l)² / Σw·l² (the least-squares error reduction) is kept.
float fit_symmetric(int n, int nmax, const float* x, const float* qw, uint8_t* codes) {
    const float max = signed_abs_max(x, n);
    if (std::fabs(max) < kGroupMaxEps) {
        std::memset(codes, 0, static_cast<size_t>(n));
        return 0.0f;
    }
    auto sums = [&](float iscale, float* sumlx, float* suml2) {
        *sumlx = 0.0f;
        *suml2 = 0.0f;
        for (int i = 0; i < n; ++i) {
            const int l = clamp_int(round_nearest_even(iscale * x[i]), -nmax, nmax - 1);
            const float w = qw != nullptr ? qw[i] : x[i] * x[i];
            *sumlx += w * x[i] * static_cast<float>(l);
            *suml2 += w * static_cast<float>(l) * static_cast<float>(l);
        }
    };
    auto store_codes = [&](float iscale) {
        for (int i = 0; i < n; ++i) {
            const int l = clamp_int(round_nearest_even(iscale * x[i]), -nmax, nmax - 1);
            codes[i] = static_cast<uint8_t>(l + nmax);
        }
    };
    float iscale = static_cast<float>(-nmax) / max;
    float sumlx = 0.0f;
    float suml2 = 0.0f;
    sums(iscale, &sumlx, &suml2);
    store_codes(iscale);
    float scale = suml2 != 0.0f ? sumlx / suml2 : 0.0f;
    float best = scale * sumlx;
    for (int step = -9; step <= 9; ++step) {
        if (step == 0) continue;
        iscale = -(static_cast<float>(nmax) + 0.1f * static_cast<float>(step)) / max;
        sums(iscale, &sumlx, &suml2);
        if (suml2 > 0.0f && sumlx * sumlx > best * suml2) {
            store_codes(iscale);
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    return scale;
}

namespace {

// Q3_K's fit: codes in [-nmax, nmax-1] with weights x²; after the max-abs start, each code is
// moved to the value the current least-squares scale prefers whenever that raises
// (Σw·x·l)²/Σw·l², for up to 5 sweeps. Returns the scale; codes are biased by +nmax.
// n <= 32.
float fit_symmetric_q3(int n, int nmax, const float* x, uint8_t* codes) {
    const float max = signed_abs_max(x, n);
    if (std::fabs(max) < kGroupMaxEps) {
        std::memset(codes, 0, static_cast<size_t>(n));
        return 0.0f;
    }
    int l[32];  // signed codes during the search
    const float iscale = static_cast<float>(-nmax) / max;
    float sumlx = 0.0f;
    float suml2 = 0.0f;
    for (int i = 0; i < n; ++i) {
        l[i] = clamp_int(round_nearest_even(iscale * x[i]), -nmax, nmax - 1);
        const float w = x[i] * x[i];
        sumlx += w * x[i] * static_cast<float>(l[i]);
        suml2 += w * static_cast<float>(l[i]) * static_cast<float>(l[i]);
    }
    for (int sweep = 0; sweep < 5; ++sweep) {
        int changed = 0;
        for (int i = 0; i < n; ++i) {
            const float w = x[i] * x[i];
            const float li = static_cast<float>(l[i]);
            float slx = sumlx - w * x[i] * li;  // sums without element i
            if (!(slx > 0.0f)) continue;
            float sl2 = suml2 - w * li * li;
            const int new_l = clamp_int(round_nearest_even(x[i] * sl2 / slx), -nmax, nmax - 1);
            if (new_l == l[i]) continue;
            const float nl = static_cast<float>(new_l);
            slx += w * x[i] * nl;
            sl2 += w * nl * nl;
            if (sl2 > 0.0f && slx * slx * suml2 > sumlx * sumlx * sl2) {
                l[i] = new_l;
                sumlx = slx;
                suml2 = sl2;
                ++changed;
            }
        }
        if (changed == 0) break;
    }
    for (int i = 0; i < n; ++i) codes[i] = static_cast<uint8_t>(l[i] + nmax);
    return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
}

}  // namespace

// Fit x ≈ scale·l - min_out with l in [0, nmax], min_out >= 0 (the min is only ever
// subtracted). Starts from the min/max grid, then for each candidate inverse scale solves the
// weighted 2×2 least-squares problem for (scale, min) given the rounded codes, keeping the
// candidate with the lowest weighted error. Returns the scale; *min_out = -min.
float fit_offset(int n, const float* x, const float* w, const OffsetFitParams& p, uint8_t* codes,
                 float* min_out) {
    uint8_t trial[32];
    float min = x[0];
    float max = x[0];
    float sum_w = w[0];
    float sum_x = sum_w * x[0];
    for (int i = 1; i < n; ++i) {
        min = std::min(min, x[i]);
        max = std::max(max, x[i]);
        sum_w += w[i];
        sum_x += w[i] * x[i];
    }
    if (min > 0.0f) min = 0.0f;  // the grid always contains 0
    if (max == min) {
        std::memset(codes, 0, static_cast<size_t>(n));
        *min_out = -min;
        return 0.0f;
    }
    auto error_of = [&](float scale, float mn, const uint8_t* l) {
        float err = 0.0f;
        for (int i = 0; i < n; ++i) {
            float diff = scale * static_cast<float>(l[i]) + mn - x[i];
            diff = p.use_mad ? std::fabs(diff) : diff * diff;
            err += w[i] * diff;
        }
        return err;
    };
    float iscale = static_cast<float>(p.nmax) / (max - min);
    float scale = 1.0f / iscale;
    for (int i = 0; i < n; ++i) {
        codes[i] =
            static_cast<uint8_t>(clamp_int(round_nearest_even(iscale * (x[i] - min)), 0, p.nmax));
    }
    float best_error = error_of(scale, min, codes);
    for (int step = 0; step <= p.nstep; ++step) {
        iscale = (p.rmin + p.rdelta * static_cast<float>(step) + static_cast<float>(p.nmax)) /
                 (max - min);
        float sum_l = 0.0f;
        float sum_l2 = 0.0f;
        float sum_xl = 0.0f;
        for (int i = 0; i < n; ++i) {
            const int l = clamp_int(round_nearest_even(iscale * (x[i] - min)), 0, p.nmax);
            trial[i] = static_cast<uint8_t>(l);
            const float wl = w[i] * static_cast<float>(l);
            sum_l += wl;
            sum_l2 += wl * static_cast<float>(l);
            sum_xl += wl * x[i];
        }
        const float det = sum_w * sum_l2 - sum_l * sum_l;
        if (!(det > 0.0f)) continue;
        float this_scale = (sum_w * sum_xl - sum_x * sum_l) / det;
        float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / det;
        if (this_min > 0.0f) {
            // A positive offset cannot be stored; refit the scale through the origin.
            this_min = 0.0f;
            this_scale = sum_xl / sum_l2;
        }
        const float err = error_of(this_scale, this_min, trial);
        if (err < best_error) {
            std::memcpy(codes, trial, static_cast<size_t>(n));
            best_error = err;
            scale = this_scale;
            min = this_min;
        }
    }
    *min_out = -min;
    return scale;
}

// Pack 2-bit codes (one per byte in `l`, 256 of them) into the Q2_K/Q3_K qs layout: byte
// 32h + i holds elements 128h + i + 32k at bit 2k.
void pack_2bit(const uint8_t* l, uint8_t* qs) {
    for (int h = 0; h < 2; ++h) {
        for (int i = 0; i < 32; ++i) {
            const uint8_t* e = l + 128 * h + i;
            qs[32 * h + i] =
                static_cast<uint8_t>(e[0] | (e[32] << 2) | (e[64] << 4) | (e[96] << 6));
        }
    }
}

void pack_q3_k_codes(const uint8_t* codes, BlockQ3_K& blk) {
    // Codes 4..7 set the (non-inverted) high bit in hmask[e % 32], bit e / 32; the low two
    // bits go to qs.
    uint8_t low[kQKK];
    std::memset(blk.hmask, 0, sizeof(blk.hmask));
    for (int e = 0; e < kQKK; ++e) {
        int q = codes[e];
        if (q > 3) {
            blk.hmask[e % 32] = static_cast<uint8_t>(blk.hmask[e % 32] | (1 << (e / 32)));
            q -= 4;
        }
        low[e] = static_cast<uint8_t>(q);
    }
    pack_2bit(low, blk.qs);
}

void pack_q4_k_codes(const uint8_t* l, BlockQ4_K& blk) {
    // Chunk c of 64: low nibble element 64c + i, high nibble element 64c + 32 + i.
    for (int c = 0; c < 4; ++c) {
        for (int i = 0; i < 32; ++i) {
            blk.qs[32 * c + i] = static_cast<uint8_t>(l[64 * c + i] | (l[64 * c + 32 + i] << 4));
        }
    }
}

void pack_q5_k_codes(const uint8_t* l, BlockQ5_K& blk) {
    // As Q4_K for the low nibbles; bit 4 of element 32s + i goes to qh[i] bit s.
    std::memset(blk.qh, 0, sizeof(blk.qh));
    for (int e = 0; e < kQKK; ++e) {
        if (l[e] > 15) blk.qh[e % 32] = static_cast<uint8_t>(blk.qh[e % 32] | (1 << (e / 32)));
    }
    for (int c = 0; c < 4; ++c) {
        for (int i = 0; i < 32; ++i) {
            const int lo = l[64 * c + i] & 0x0f;
            const int hi = l[64 * c + 32 + i] & 0x0f;
            blk.qs[32 * c + i] = static_cast<uint8_t>(lo | (hi << 4));
        }
    }
}

namespace {

// Shared by Q4_K and Q5_K: fit 8 sub-blocks of 32 with scale and min, quantize those to 6
// bits against d = max_scale/63 and dmin = max_min/63, pack them, then recode every element
// with the stored (rounded) scales. Returns the codes in l[256].
void fit_k4_style(const float* x, int nmax, float rmin, int nstep, uint16_t* d_out,
                  uint16_t* dmin_out, uint8_t* scales12, uint8_t* l) {
    float scales[8];
    float mins[8];
    float weights[32];
    float max_scale = 0.0f;
    float max_min = 0.0f;
    for (int s = 0; s < 8; ++s) {
        const float* xs = x + 32 * s;
        // Weight elements by magnitude plus the sub-block RMS: large values matter more, but
        // small ones are not ignored.
        float sum_x2 = 0.0f;
        for (int i = 0; i < 32; ++i) sum_x2 += xs[i] * xs[i];
        const float av_x = std::sqrt(sum_x2 / 32.0f);
        for (int i = 0; i < 32; ++i) weights[i] = av_x + std::fabs(xs[i]);
        scales[s] =
            fit_offset(32, xs, weights, {nmax, rmin, 0.1f, nstep, false}, l + 32 * s, &mins[s]);
        max_scale = std::max(max_scale, scales[s]);
        max_min = std::max(max_min, mins[s]);
    }
    const float inv_scale = max_scale > 0.0f ? 63.0f / max_scale : 0.0f;
    const float inv_min = max_min > 0.0f ? 63.0f / max_min : 0.0f;
    std::memset(scales12, 0, kKScaleBytes);
    for (int s = 0; s < 8; ++s) {
        // ggml stores nearest_int() into a uint8_t before clamping to 63; keep that wrap so a
        // (never observed) negative fit gives the same byte.
        const uint8_t ls =
            std::min<uint8_t>(63, static_cast<uint8_t>(round_nearest_even(inv_scale * scales[s])));
        const uint8_t lm =
            std::min<uint8_t>(63, static_cast<uint8_t>(round_nearest_even(inv_min * mins[s])));
        if (s < 4) {
            scales12[s] = ls;
            scales12[s + 4] = lm;
        } else {
            scales12[s + 4] = static_cast<uint8_t>((ls & 0x0f) | ((lm & 0x0f) << 4));
            scales12[s - 4] |= static_cast<uint8_t>((ls >> 4) << 6);
            scales12[s] |= static_cast<uint8_t>((lm >> 4) << 6);
        }
    }
    *d_out = f32_to_fp16(max_scale / 63.0f);
    *dmin_out = f32_to_fp16(max_min / 63.0f);
    const float d = fp16_to_f32(*d_out);
    const float dmin = fp16_to_f32(*dmin_out);
    for (int s = 0; s < 8; ++s) {
        const ScaleMin sm = unpack_scale_min_k4(scales12, s);
        const float ds = d * static_cast<float>(sm.scale);
        if (ds == 0.0f) continue;  // keep the search's codes; they decode to -min anyway
        const float dm = dmin * static_cast<float>(sm.min);
        for (int i = 0; i < 32; ++i) {
            const int q = round_nearest_even((x[32 * s + i] + dm) / ds);
            l[32 * s + i] = static_cast<uint8_t>(clamp_int(q, 0, nmax));
        }
    }
}

}  // namespace

void quantize_q2_k(const float* x, BlockQ2_K* y, int64_t n) {
    constexpr float kQ4Scale = 15.0f;  // sub-block scales and mins are 4-bit
    for (int64_t b = 0; b < n / kQKK; ++b, x += kQKK) {
        BlockQ2_K& blk = y[b];
        uint8_t l[kQKK];
        float scales[16];
        float mins[16];
        float weights[16];
        float max_scale = 0.0f;
        float max_min = 0.0f;
        for (int s = 0; s < 16; ++s) {
            // 2-bit codes are coarse, so the fit minimises |x|-weighted absolute error.
            for (int i = 0; i < 16; ++i) weights[i] = std::fabs(x[16 * s + i]);
            scales[s] = fit_offset(16, x + 16 * s, weights, {3, -0.5f, 0.1f, 15, true}, l + 16 * s,
                                   &mins[s]);
            max_scale = std::max(max_scale, scales[s]);
            max_min = std::max(max_min, mins[s]);
        }
        std::memset(blk.scales, 0, sizeof(blk.scales));
        blk.d = f32_to_fp16(0.0f);
        blk.dmin = f32_to_fp16(0.0f);
        if (max_scale > 0.0f) {
            const float iscale = kQ4Scale / max_scale;
            for (int s = 0; s < 16; ++s) {
                blk.scales[s] = static_cast<uint8_t>(round_nearest_even(iscale * scales[s]));
            }
            blk.d = f32_to_fp16(max_scale / kQ4Scale);
        }
        if (max_min > 0.0f) {
            const float iscale = kQ4Scale / max_min;
            for (int s = 0; s < 16; ++s) {
                const int lm = round_nearest_even(iscale * mins[s]);
                blk.scales[s] = static_cast<uint8_t>(blk.scales[s] | (lm << 4));
            }
            blk.dmin = f32_to_fp16(max_min / kQ4Scale);
        }
        const float d = fp16_to_f32(blk.d);
        const float dmin = fp16_to_f32(blk.dmin);
        for (int s = 0; s < 16; ++s) {
            const float ds = d * static_cast<float>(blk.scales[s] & 0x0f);
            if (ds == 0.0f) continue;
            const float dm = dmin * static_cast<float>(blk.scales[s] >> 4);
            for (int i = 0; i < 16; ++i) {
                const int q = round_nearest_even((x[16 * s + i] + dm) / ds);
                l[16 * s + i] = static_cast<uint8_t>(clamp_int(q, 0, 3));
            }
        }
        pack_2bit(l, blk.qs);
    }
}

void quantize_q3_k(const float* x, BlockQ3_K* y, int64_t n) {
    for (int64_t b = 0; b < n / kQKK; ++b, x += kQKK) {
        BlockQ3_K& blk = y[b];
        uint8_t codes[kQKK];  // biased by +4: 0..7
        float scales[16];
        float max_scale = 0.0f;  // signed scale of largest magnitude
        float amax = 0.0f;
        for (int s = 0; s < 16; ++s) {
            scales[s] = fit_symmetric_q3(16, 4, x + 16 * s, codes + 16 * s);
            if (std::fabs(scales[s]) > amax) {
                amax = std::fabs(scales[s]);
                max_scale = scales[s];
            }
        }
        std::memset(blk.scales, 0, sizeof(blk.scales));
        blk.d = f32_to_fp16(0.0f);
        if (max_scale != 0.0f) {
            // 6-bit signed sub-scales in [-32, 31], stored +32; the largest maps to -32.
            const float iscale = -32.0f / max_scale;
            for (int s = 0; s < 16; ++s) {
                // ggml narrows to int8 before clamping; |iscale·scale| <= 32 so no wrap.
                const int8_t raw = static_cast<int8_t>(round_nearest_even(iscale * scales[s]));
                const int ls = clamp_int(raw, -32, 31) + 32;
                if (s < 8) {
                    blk.scales[s] = static_cast<uint8_t>(ls & 0x0f);
                } else {
                    blk.scales[s - 8] =
                        static_cast<uint8_t>(blk.scales[s - 8] | ((ls & 0x0f) << 4));
                }
                blk.scales[8 + s % 4] =
                    static_cast<uint8_t>(blk.scales[8 + s % 4] | ((ls >> 4) << (2 * (s / 4))));
            }
            blk.d = f32_to_fp16(1.0f / iscale);
        }
        const float d = fp16_to_f32(blk.d);
        for (int s = 0; s < 16; ++s) {
            const float ds = d * static_cast<float>(unpack_scale_q3_k(blk.scales, s) - 32);
            if (ds == 0.0f) continue;
            for (int i = 0; i < 16; ++i) {
                const int q = round_nearest_even(x[16 * s + i] / ds);
                codes[16 * s + i] = static_cast<uint8_t>(clamp_int(q, -4, 3) + 4);
            }
        }
        pack_q3_k_codes(codes, blk);
    }
}

void quantize_q4_k(const float* x, BlockQ4_K* y, int64_t n) {
    for (int64_t b = 0; b < n / kQKK; ++b, x += kQKK) {
        BlockQ4_K& blk = y[b];
        uint8_t l[kQKK];
        fit_k4_style(x, 15, -1.0f, 20, &blk.d, &blk.dmin, blk.scales, l);
        pack_q4_k_codes(l, blk);
    }
}

void quantize_q5_k(const float* x, BlockQ5_K* y, int64_t n) {
    for (int64_t b = 0; b < n / kQKK; ++b, x += kQKK) {
        BlockQ5_K& blk = y[b];
        uint8_t l[kQKK];
        fit_k4_style(x, 31, -0.5f, 15, &blk.d, &blk.dmin, blk.scales, l);
        pack_q5_k_codes(l, blk);
    }
}

void quantize_q6_k(const float* x, BlockQ6_K* y, int64_t n) {
    quantize_q6_k_weighted(x, y, n, nullptr);
}

// Q6_K is the one K-quant whose weighted and unweighted searches differ only in the weights of
// the sub-block fit (importance as given, or x²); ggml's weighted path passes the importance
// through without mixing in the magnitudes.
void quantize_q6_k_weighted(const float* x, BlockQ6_K* y, int64_t n, const float* qw) {
    for (int64_t b = 0; b < n / kQKK; ++b, x += kQKK) {
        BlockQ6_K& blk = y[b];
        uint8_t codes[kQKK];  // biased by +32: 0..63
        float scales[16];
        float max_scale = 0.0f;
        float max_abs_scale = 0.0f;
        for (int s = 0; s < 16; ++s) {
            const float* w = qw != nullptr ? qw + b * kQKK + 16 * s : nullptr;
            scales[s] = fit_symmetric(16, 32, x + 16 * s, w, codes + 16 * s);
            if (std::fabs(scales[s]) > max_abs_scale) {
                max_abs_scale = std::fabs(scales[s]);
                max_scale = scales[s];
            }
        }
        if (max_abs_scale < kGroupMaxEps) {
            std::memset(&blk, 0, sizeof(blk));
            continue;
        }
        // 8-bit signed sub-scales; the largest maps to -128.
        const float iscale = -128.0f / max_scale;
        blk.d = f32_to_fp16(1.0f / iscale);
        for (int s = 0; s < 16; ++s) {
            blk.scales[s] =
                static_cast<int8_t>(std::min(127, round_nearest_even(iscale * scales[s])));
        }
        const float d = fp16_to_f32(blk.d);
        for (int s = 0; s < 16; ++s) {
            const float ds = d * static_cast<float>(blk.scales[s]);
            if (ds == 0.0f) continue;
            for (int i = 0; i < 16; ++i) {
                const int q = round_nearest_even(x[16 * s + i] / ds);
                codes[16 * s + i] = static_cast<uint8_t>(clamp_int(q, -32, 31) + 32);
            }
        }
        // Element 128h + 32k + i: low nibble in ql[64h + i + 32·(k % 2)] (low half of the byte
        // for k < 2), high 2 bits in qh[32h + i] at bit 2k.
        std::memset(blk.ql, 0, sizeof(blk.ql));
        std::memset(blk.qh, 0, sizeof(blk.qh));
        for (int e = 0; e < kQKK; ++e) {
            const int h = e / 128;
            const int k = (e % 128) / 32;
            const int i = e % 32;
            const int q = codes[e];
            uint8_t& lo = blk.ql[64 * h + i + 32 * (k % 2)];
            lo = static_cast<uint8_t>(lo | ((q & 0x0f) << (4 * (k / 2))));
            uint8_t& hi = blk.qh[32 * h + i];
            hi = static_cast<uint8_t>(hi | ((q >> 4) << (2 * k)));
        }
    }
}

void quantize_q8_k(const float* x, BlockQ8_K* y, int64_t n) {
    for (int64_t b = 0; b < n / kQKK; ++b, x += kQKK) {
        BlockQ8_K& blk = y[b];
        const float max = signed_abs_max(x, kQKK);
        if (max == 0.0f) {
            // ggml leaves bsums untouched here; zero them so the block is fully defined.
            std::memset(&blk, 0, sizeof(blk));
            continue;
        }
        // -127 (not -128) so that negating any code stays in int8 (the SIMD dot products
        // rely on it); d stays a float, activations need the precision.
        const float iscale = -127.0f / max;
        for (int e = 0; e < kQKK; ++e) {
            blk.qs[e] = static_cast<int8_t>(std::min(127, round_nearest_even(iscale * x[e])));
        }
        for (int g = 0; g < kQKK / 16; ++g) {
            int sum = 0;
            for (int i = 0; i < 16; ++i) sum += blk.qs[16 * g + i];
            blk.bsums[g] = static_cast<int16_t>(sum);
        }
        blk.d = 1.0f / iscale;
    }
}

}  // namespace unicorn::quant::detail
