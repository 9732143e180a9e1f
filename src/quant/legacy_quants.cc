// The legacy 32-element block types Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1.
//
// Mirrors ggml's quantize_row_q*_ref / dequantize_row_q* (ggml/src/ggml-quants.c) bit for bit:
// the same scale choice (signed max-abs for the symmetric types, min/max for the offset
// types), the same float expressions in the same order, and the same rounding (truncation
// after adding 0.5 for Q4/Q5, roundf for Q8). The scale is rounded to fp16 only when stored;
// codes are computed with the unrounded float scale, exactly as ggml does, so files written
// here are byte-identical to llama-quantize's output without an importance matrix. (That
// needs x·id + 8.5 etc. rounded twice, as written: no FMA contraction, which the baseline
// x86-64 build of this layer guarantees.)
//
// Nibble order shared by all 4/5-bit types: byte j of qs holds element j in its low nibble
// and element j+16 in its high nibble. Q5 types keep the 5th bit of element e in bit e of the
// little-endian uint32 qh.

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>

#include "core/half.h"
#include "quant/quant_impl.h"

namespace unicorn::quant::detail {
namespace {

constexpr int kHalf = kQK / 2;

// The element of largest magnitude, with its sign; the first one wins a tie (ggml compares
// with a strict '<'). The symmetric types map this element exactly to the most negative code.
float signed_abs_max(const float* x) {
    float amax = 0.0f;
    float max = 0.0f;
    for (int j = 0; j < kQK; ++j) {
        if (amax < std::fabs(x[j])) {
            amax = std::fabs(x[j]);
            max = x[j];
        }
    }
    return max;
}

struct MinMax {
    float min;
    float max;
};
MinMax min_max(const float* x) {
    MinMax r{FLT_MAX, -FLT_MAX};
    for (int j = 0; j < kQK; ++j) {
        r.min = std::min(r.min, x[j]);
        r.max = std::max(r.max, x[j]);
    }
    return r;
}

// ggml converts with a C cast, i.e. truncation toward zero; every value reaching here is
// >= 0 after the +0.5 / +8.5 / +16.5 offset, so truncation is floor. NaN input maps to 0
// instead of undefined behaviour.
int truncate_code(float v, int max_code) {
    if (!(v >= 0.0f)) return 0;
    return std::min(max_code, static_cast<int>(std::min(v, 255.0f)));
}

uint32_t load_qh(const uint8_t* qh) {
    uint32_t v;
    std::memcpy(&v, qh, sizeof(v));  // little-endian, like the file
    return v;
}

// The signed int8 code for Q8: roundf (ties away from zero), as ggml's Q8_0/Q8_1 reference.
int8_t round_q8(float v) { return static_cast<int8_t>(std::round(v)); }

}  // namespace

void quantize_q4_0(const float* x, BlockQ4_0* y, int64_t n) {
    for (int64_t b = 0; b < n / kQK; ++b, x += kQK) {
        // d = max / -8 maps the largest-magnitude element to code 0 (value -8·d = max); the
        // opposite extreme reaches +8 and is clamped to 15.
        const float d = signed_abs_max(x) / -8.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = f32_to_fp16(d);
        for (int j = 0; j < kHalf; ++j) {
            const int lo = truncate_code(x[j] * id + 8.5f, 15);
            const int hi = truncate_code(x[j + kHalf] * id + 8.5f, 15);
            y[b].qs[j] = static_cast<uint8_t>(lo | (hi << 4));
        }
    }
}

void quantize_q4_1(const float* x, BlockQ4_1* y, int64_t n) {
    for (int64_t b = 0; b < n / kQK; ++b, x += kQK) {
        const MinMax mm = min_max(x);
        const float d = (mm.max - mm.min) / 15.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = f32_to_fp16(d);
        y[b].m = f32_to_fp16(mm.min);
        for (int j = 0; j < kHalf; ++j) {
            const int lo = truncate_code((x[j] - mm.min) * id + 0.5f, 15);
            const int hi = truncate_code((x[j + kHalf] - mm.min) * id + 0.5f, 15);
            y[b].qs[j] = static_cast<uint8_t>(lo | (hi << 4));
        }
    }
}

void quantize_q5_0(const float* x, BlockQ5_0* y, int64_t n) {
    for (int64_t b = 0; b < n / kQK; ++b, x += kQK) {
        const float d = signed_abs_max(x) / -16.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = f32_to_fp16(d);
        uint32_t qh = 0;
        for (int j = 0; j < kHalf; ++j) {
            const int lo = truncate_code(x[j] * id + 16.5f, 31);
            const int hi = truncate_code(x[j + kHalf] * id + 16.5f, 31);
            y[b].qs[j] = static_cast<uint8_t>((lo & 0x0f) | ((hi & 0x0f) << 4));
            qh |= static_cast<uint32_t>(lo >> 4) << j;
            qh |= static_cast<uint32_t>(hi >> 4) << (j + kHalf);
        }
        std::memcpy(y[b].qh, &qh, sizeof(qh));
    }
}

void quantize_q5_1(const float* x, BlockQ5_1* y, int64_t n) {
    for (int64_t b = 0; b < n / kQK; ++b, x += kQK) {
        const MinMax mm = min_max(x);
        const float d = (mm.max - mm.min) / 31.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = f32_to_fp16(d);
        y[b].m = f32_to_fp16(mm.min);
        uint32_t qh = 0;
        for (int j = 0; j < kHalf; ++j) {
            // ggml does not clamp here; (max - min)·id cannot exceed 31.5, so the clamp only
            // guards against garbage input and never changes a code.
            const int lo = truncate_code((x[j] - mm.min) * id + 0.5f, 31);
            const int hi = truncate_code((x[j + kHalf] - mm.min) * id + 0.5f, 31);
            y[b].qs[j] = static_cast<uint8_t>((lo & 0x0f) | ((hi & 0x0f) << 4));
            qh |= static_cast<uint32_t>(lo >> 4) << j;
            qh |= static_cast<uint32_t>(hi >> 4) << (j + kHalf);
        }
        std::memcpy(y[b].qh, &qh, sizeof(qh));
    }
}

void quantize_q8_0(const float* x, BlockQ8_0* y, int64_t n) {
    for (int64_t b = 0; b < n / kQK; ++b, x += kQK) {
        float amax = 0.0f;
        for (int j = 0; j < kQK; ++j) amax = std::max(amax, std::fabs(x[j]));
        // Symmetric: ±amax maps to ±127 (-128 is never produced).
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = f32_to_fp16(d);
        for (int j = 0; j < kQK; ++j) y[b].qs[j] = round_q8(x[j] * id);
    }
}

void quantize_q8_1(const float* x, BlockQ8_1* y, int64_t n) {
    for (int64_t b = 0; b < n / kQK; ++b, x += kQK) {
        float amax = 0.0f;
        for (int j = 0; j < kQK; ++j) amax = std::max(amax, std::fabs(x[j]));
        const float d = amax / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        y[b].d = f32_to_fp16(d);
        int sum = 0;
        for (int j = 0; j < kQK; ++j) {
            y[b].qs[j] = round_q8(x[j] * id);
            sum += y[b].qs[j];
        }
        // s = d·Σq with the unrounded d: what the Q4_1/Q5_1 dot products need for the min
        // term, precomputed once per activation block.
        y[b].s = f32_to_fp16(static_cast<float>(sum) * d);
    }
}

// Dequantization: value = code·d (+ m), as ggml. code·d is exact in float (≤ 8 + 11
// significant bits), so each value sees one rounding at most and any kernel that computes
// the same expression, FMA or not, reproduces it bit for bit.

void dequantize_q4_0(const BlockQ4_0* x, float* y, int64_t n) {
    for (int64_t b = 0; b < n / kQK; ++b, y += kQK) {
        const float d = fp16_to_f32(x[b].d);
        for (int j = 0; j < kHalf; ++j) {
            y[j] = static_cast<float>((x[b].qs[j] & 0x0f) - 8) * d;
            y[j + kHalf] = static_cast<float>((x[b].qs[j] >> 4) - 8) * d;
        }
    }
}

void dequantize_q4_1(const BlockQ4_1* x, float* y, int64_t n) {
    for (int64_t b = 0; b < n / kQK; ++b, y += kQK) {
        const float d = fp16_to_f32(x[b].d);
        const float m = fp16_to_f32(x[b].m);
        for (int j = 0; j < kHalf; ++j) {
            y[j] = static_cast<float>(x[b].qs[j] & 0x0f) * d + m;
            y[j + kHalf] = static_cast<float>(x[b].qs[j] >> 4) * d + m;
        }
    }
}

void dequantize_q5_0(const BlockQ5_0* x, float* y, int64_t n) {
    for (int64_t b = 0; b < n / kQK; ++b, y += kQK) {
        const float d = fp16_to_f32(x[b].d);
        const uint32_t qh = load_qh(x[b].qh);
        for (int j = 0; j < kHalf; ++j) {
            const int lo = (x[b].qs[j] & 0x0f) | static_cast<int>(((qh >> j) & 1u) << 4);
            const int hi = (x[b].qs[j] >> 4) | static_cast<int>(((qh >> (j + kHalf)) & 1u) << 4);
            y[j] = static_cast<float>(lo - 16) * d;
            y[j + kHalf] = static_cast<float>(hi - 16) * d;
        }
    }
}

void dequantize_q5_1(const BlockQ5_1* x, float* y, int64_t n) {
    for (int64_t b = 0; b < n / kQK; ++b, y += kQK) {
        const float d = fp16_to_f32(x[b].d);
        const float m = fp16_to_f32(x[b].m);
        const uint32_t qh = load_qh(x[b].qh);
        for (int j = 0; j < kHalf; ++j) {
            const int lo = (x[b].qs[j] & 0x0f) | static_cast<int>(((qh >> j) & 1u) << 4);
            const int hi = (x[b].qs[j] >> 4) | static_cast<int>(((qh >> (j + kHalf)) & 1u) << 4);
            y[j] = static_cast<float>(lo) * d + m;
            y[j + kHalf] = static_cast<float>(hi) * d + m;
        }
    }
}

void dequantize_q8_0(const BlockQ8_0* x, float* y, int64_t n) {
    for (int64_t b = 0; b < n / kQK; ++b, y += kQK) {
        const float d = fp16_to_f32(x[b].d);
        for (int j = 0; j < kQK; ++j) y[j] = static_cast<float>(x[b].qs[j]) * d;
    }
}

// ggml has no dequantize_row_q8_1 (Q8_1 only ever feeds dot products); the natural reading,
// code·d, is what its dot products use, and s is redundant for the values.
void dequantize_q8_1(const BlockQ8_1* x, float* y, int64_t n) {
    for (int64_t b = 0; b < n / kQK; ++b, y += kQK) {
        const float d = fp16_to_f32(x[b].d);
        for (int j = 0; j < kQK; ++j) y[j] = static_cast<float>(x[b].qs[j]) * d;
    }
}

}  // namespace unicorn::quant::detail
