// Per-type scalar kernels behind quantize.h's dispatch. Internal to the quant layer: callers
// outside src/quant/ use quantize.h. Every function takes a row of n elements, n a multiple of
// the type's block size (checked by the dispatcher), and walks it block by block.
#pragma once

#include <cstdint>
#include <cstring>

#include "quant/blocks.h"

namespace unicorn::quant::detail {

// Round to nearest, ties to even, for |v| < 2^22: adding 1.5·2^23 puts v's integer part in
// the low mantissa bits, so the float addition itself does the rounding. This is the rounding
// every ggml K-quant (and Q8_K) uses; plain lroundf would round ties away from zero and flip
// some codes.
inline int round_nearest_even(float v) {
    const float biased = v + 12582912.0f;  // 1.5 * 2^23
    uint32_t bits;
    std::memcpy(&bits, &biased, sizeof(bits));
    return static_cast<int>(bits & 0x007fffffu) - 0x00400000;
}

// Legacy 32-element blocks (legacy_quants.cc).
void quantize_q4_0(const float* x, BlockQ4_0* y, int64_t n);
void quantize_q4_1(const float* x, BlockQ4_1* y, int64_t n);
void quantize_q5_0(const float* x, BlockQ5_0* y, int64_t n);
void quantize_q5_1(const float* x, BlockQ5_1* y, int64_t n);
void quantize_q8_0(const float* x, BlockQ8_0* y, int64_t n);
void quantize_q8_1(const float* x, BlockQ8_1* y, int64_t n);
void dequantize_q4_0(const BlockQ4_0* x, float* y, int64_t n);
void dequantize_q4_1(const BlockQ4_1* x, float* y, int64_t n);
void dequantize_q5_0(const BlockQ5_0* x, float* y, int64_t n);
void dequantize_q5_1(const BlockQ5_1* x, float* y, int64_t n);
void dequantize_q8_0(const BlockQ8_0* x, float* y, int64_t n);
void dequantize_q8_1(const BlockQ8_1* x, float* y, int64_t n);

// K-quant super-blocks of 256: dequantization (k_quants.cc).
void dequantize_q2_k(const BlockQ2_K* x, float* y, int64_t n);
void dequantize_q3_k(const BlockQ3_K* x, float* y, int64_t n);
void dequantize_q4_k(const BlockQ4_K* x, float* y, int64_t n);
void dequantize_q5_k(const BlockQ5_K* x, float* y, int64_t n);
void dequantize_q6_k(const BlockQ6_K* x, float* y, int64_t n);
void dequantize_q8_k(const BlockQ8_K* x, float* y, int64_t n);

// K-quant super-blocks of 256: quantization (k_quantize.cc).
void quantize_q2_k(const float* x, BlockQ2_K* y, int64_t n);
void quantize_q3_k(const float* x, BlockQ3_K* y, int64_t n);
void quantize_q4_k(const float* x, BlockQ4_K* y, int64_t n);
void quantize_q5_k(const float* x, BlockQ5_K* y, int64_t n);
void quantize_q6_k(const float* x, BlockQ6_K* y, int64_t n);
void quantize_q8_k(const float* x, BlockQ8_K* y, int64_t n);

// Importance-weighted quantizers (ggml's quantize_q*_impl with quant_weights), for a whole row
// of n elements: `qw` holds one importance per column (n values, all >= 0). The legacy types
// mix in the whole row's mean square, so they must see the row, not a block
// (weighted_quants.cc).
void quantize_q4_0_weighted(const float* x, BlockQ4_0* y, int64_t n, const float* qw);
void quantize_q4_1_weighted(const float* x, BlockQ4_1* y, int64_t n, const float* qw);
void quantize_q5_0_weighted(const float* x, BlockQ5_0* y, int64_t n, const float* qw);
void quantize_q5_1_weighted(const float* x, BlockQ5_1* y, int64_t n, const float* qw);
void quantize_q2_k_weighted(const float* x, BlockQ2_K* y, int64_t n, const float* qw);
void quantize_q3_k_weighted(const float* x, BlockQ3_K* y, int64_t n, const float* qw);
void quantize_q4_k_weighted(const float* x, BlockQ4_K* y, int64_t n, const float* qw);
void quantize_q5_k_weighted(const float* x, BlockQ5_K* y, int64_t n, const float* qw);
// In k_quantize.cc: Q6_K shares its search with the unweighted path (qw null there).
void quantize_q6_k_weighted(const float* x, BlockQ6_K* y, int64_t n, const float* qw);

// Searches shared by the weighted and unweighted quantizers (k_quantize.cc).
// ggml make_qx_quants (rmse_type 1): codes in [-nmax, nmax-1] (stored biased by +nmax) with a
// least-squares scale under weights qw (x² when null). Returns the scale.
float fit_symmetric(int n, int nmax, const float* x, const float* qw, uint8_t* codes);
struct OffsetFitParams {
    int nmax;      // codes 0..nmax
    float rmin;    // first candidate inverse scale is (nmax + rmin) / (max - min)
    float rdelta;  // candidate step
    int nstep;     // candidates rmin, rmin + rdelta, ..., rmin + nstep·rdelta
    bool use_mad;  // weighted absolute error instead of squared error
};
// ggml make_qkx2_quants / make_qkx3_quants (identical once the weights are given): x ≈
// scale·l − min with l in [0, nmax]. n <= 32. Returns the scale; *min_out = −min (>= 0).
float fit_offset(int n, const float* x, const float* w, const OffsetFitParams& p, uint8_t* codes,
                 float* min_out);
// Bit packing of per-element codes (one per byte) into the K-quant layouts.
void pack_2bit(const uint8_t* l, uint8_t* qs);               // Q2_K, and Q3_K's low bits
void pack_q3_k_codes(const uint8_t* codes, BlockQ3_K& blk);  // codes 0..7
void pack_q4_k_codes(const uint8_t* l, BlockQ4_K& blk);      // codes 0..15
void pack_q5_k_codes(const uint8_t* l, BlockQ5_K& blk);      // codes 0..31

// The 12-byte scale field of Q4_K/Q5_K holds eight 6-bit scales and eight 6-bit mins
// (sub-block j = elements 32j..32j+31):
//   bytes 0..3:  scale j (j<4) in bits 0..5; bits 6..7 = high 2 bits of scale j+4
//   bytes 4..7:  min j   (j<4) in bits 0..5; bits 6..7 = high 2 bits of min j+4
//   bytes 8..11: low nibble = low 4 bits of scale j+4, high nibble = low 4 bits of min j+4
struct ScaleMin {
    uint8_t scale;
    uint8_t min;
};
inline ScaleMin unpack_scale_min_k4(const uint8_t* s, int j) {
    if (j < 4) return {static_cast<uint8_t>(s[j] & 63), static_cast<uint8_t>(s[j + 4] & 63)};
    return {static_cast<uint8_t>((s[j + 4] & 0x0f) | ((s[j - 4] >> 6) << 4)),
            static_cast<uint8_t>((s[j + 4] >> 4) | ((s[j] >> 6) << 4))};
}

// Q3_K packs sixteen 6-bit scales (stored with a +32 bias) into 12 bytes:
//   bytes 0..7:  low nibble = low 4 bits of scale j, high nibble = low 4 bits of scale j+8
//   bytes 8..11: byte 8 + j%4, bits 2·(j/4)..+1 = high 2 bits of scale j
// Returns the biased value 0..63.
inline int unpack_scale_q3_k(const uint8_t* s, int j) {
    const int low = j < 8 ? (s[j] & 0x0f) : (s[j - 8] >> 4);
    const int high = (s[8 + j % 4] >> (2 * (j / 4))) & 3;
    return low | (high << 4);
}

}  // namespace unicorn::quant::detail
