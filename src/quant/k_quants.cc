// Dequantization of the K-quant super-blocks (256 elements): Q2_K, Q3_K, Q4_K, Q5_K, Q6_K and
// the activation-side Q8_K.
//
// Bit-identical with ggml's dequantize_row_q*_K (ggml/src/ggml-quants.c). Every value is
// (d · sub-block scale) · code − (dmin · sub-block min) in float, and the grouping hardly
// matters: d is an fp16 (11 significant bits) and scales/mins have at most 8 bits, so d·scale,
// d·scale·code (except Q6_K's last product) and dmin·min are exact in float's 24 bits; each
// value therefore sees a single rounding, whatever the order or an FMA. SIMD and GPU kernels
// can match this reference exactly.
//
// Each function is written per element e = 0..255 of a super-block, with the byte and bit
// that hold e spelled out, rather than following ggml's loop nest; the tests rebuild values
// from these descriptions independently.

#include "core/half.h"
#include "quant/quant_impl.h"

namespace unicorn::quant::detail {
namespace {

// Q2_K and Q3_K share the 2-bit layout: the super-block is two halves of 128; in half h,
// byte qs[32h + i] (i = 0..31) holds four 2-bit codes at shifts 0, 2, 4, 6 for elements
// 128h + i, 128h + 32 + i, 128h + 64 + i, 128h + 96 + i.
inline int low2_code(const uint8_t* qs, int e) {
    const int h = e / 128;
    const int lane = (e % 128) / 32;  // which 2-bit field
    const int i = e % 32;
    return (qs[32 * h + i] >> (2 * lane)) & 3;
}

}  // namespace

void dequantize_q2_k(const BlockQ2_K* x, float* y, int64_t n) {
    for (int64_t b = 0; b < n / kQKK; ++b, y += kQKK) {
        const BlockQ2_K& blk = x[b];
        const float d = fp16_to_f32(blk.d);
        const float dmin = fp16_to_f32(blk.dmin);
        // 16 sub-blocks of 16: scales[s] low nibble = scale, high nibble = min (both 4-bit).
        for (int s = 0; s < kQKK / 16; ++s) {
            const float dl = d * static_cast<float>(blk.scales[s] & 0x0f);
            const float ml = dmin * static_cast<float>(blk.scales[s] >> 4);
            for (int e = 16 * s; e < 16 * s + 16; ++e) {
                y[e] = dl * static_cast<float>(low2_code(blk.qs, e)) - ml;
            }
        }
    }
}

void dequantize_q3_k(const BlockQ3_K* x, float* y, int64_t n) {
    for (int64_t b = 0; b < n / kQKK; ++b, y += kQKK) {
        const BlockQ3_K& blk = x[b];
        const float d = fp16_to_f32(blk.d);
        for (int s = 0; s < kQKK / 16; ++s) {
            const float dl = d * static_cast<float>(unpack_scale_q3_k(blk.scales, s) - 32);
            for (int e = 16 * s; e < 16 * s + 16; ++e) {
                // The high bit of e lives in hmask[e % 32], bit e / 32. It is stored
                // inverted: a clear bit subtracts 4, so codes span -4..3.
                const bool high = (blk.hmask[e % 32] >> (e / 32)) & 1;
                const int q = low2_code(blk.qs, e) - (high ? 0 : 4);
                y[e] = dl * static_cast<float>(q);
            }
        }
    }
}

void dequantize_q4_k(const BlockQ4_K* x, float* y, int64_t n) {
    for (int64_t b = 0; b < n / kQKK; ++b, y += kQKK) {
        const BlockQ4_K& blk = x[b];
        const float d = fp16_to_f32(blk.d);
        const float dmin = fp16_to_f32(blk.dmin);
        // 8 sub-blocks of 32. Chunk c of 64 elements uses qs[32c .. 32c+31]: low nibbles are
        // elements 64c + i, high nibbles elements 64c + 32 + i.
        for (int s = 0; s < kQKK / 32; ++s) {
            const ScaleMin sm = unpack_scale_min_k4(blk.scales, s);
            const float dl = d * static_cast<float>(sm.scale);
            const float ml = dmin * static_cast<float>(sm.min);
            const uint8_t* q = blk.qs + 32 * (s / 2);
            const int shift = 4 * (s % 2);
            for (int i = 0; i < 32; ++i) {
                y[32 * s + i] = dl * static_cast<float>((q[i] >> shift) & 0x0f) - ml;
            }
        }
    }
}

void dequantize_q5_k(const BlockQ5_K* x, float* y, int64_t n) {
    for (int64_t b = 0; b < n / kQKK; ++b, y += kQKK) {
        const BlockQ5_K& blk = x[b];
        const float d = fp16_to_f32(blk.d);
        const float dmin = fp16_to_f32(blk.dmin);
        // As Q4_K for the low 4 bits; the 5th bit of element 32s + i is bit s of qh[i].
        for (int s = 0; s < kQKK / 32; ++s) {
            const ScaleMin sm = unpack_scale_min_k4(blk.scales, s);
            const float dl = d * static_cast<float>(sm.scale);
            const float ml = dmin * static_cast<float>(sm.min);
            const uint8_t* q = blk.qs + 32 * (s / 2);
            const int shift = 4 * (s % 2);
            for (int i = 0; i < 32; ++i) {
                const int code = ((q[i] >> shift) & 0x0f) | (((blk.qh[i] >> s) & 1) << 4);
                y[32 * s + i] = dl * static_cast<float>(code) - ml;
            }
        }
    }
}

void dequantize_q6_k(const BlockQ6_K* x, float* y, int64_t n) {
    for (int64_t b = 0; b < n / kQKK; ++b, y += kQKK) {
        const BlockQ6_K& blk = x[b];
        const float d = fp16_to_f32(blk.d);
        // Two halves of 128; in half h, with i = 0..31 and lane k = 0..3 (element
        // 128h + 32k + i):
        //   low 4 bits:  ql[64h + i + 32·(k % 2)], low nibble for k < 2, high nibble otherwise
        //   high 2 bits: qh[32h + i] bits 2k..2k+1
        // The 6-bit code carries a +32 bias. Sub-block scale (int8) index = e / 16.
        for (int e = 0; e < kQKK; ++e) {
            const int h = e / 128;
            const int k = (e % 128) / 32;
            const int i = e % 32;
            const int low = (blk.ql[64 * h + i + 32 * (k % 2)] >> (4 * (k / 2))) & 0x0f;
            const int high = (blk.qh[32 * h + i] >> (2 * k)) & 3;
            const int q = (low | (high << 4)) - 32;
            const int8_t scale = blk.scales[e / 16];
            y[e] = d * static_cast<float>(scale) * static_cast<float>(q);
        }
    }
}

void dequantize_q8_k(const BlockQ8_K* x, float* y, int64_t n) {
    // Q8_K's scale is a plain float; bsums are redundant for the values.
    for (int64_t b = 0; b < n / kQKK; ++b, y += kQKK) {
        for (int e = 0; e < kQKK; ++e) y[e] = x[b].d * static_cast<float>(x[b].qs[e]);
    }
}

}  // namespace unicorn::quant::detail
