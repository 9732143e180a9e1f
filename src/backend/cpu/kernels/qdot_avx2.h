// AVX2 helpers shared by the *_avx2.cc matmul kernels (and reused by the *_avx512.cc ones,
// which are compiled with a superset of these flags). Include only from those files: the
// intrinsics need -mavx2 -mfma -mf16c.
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "core/half.h"

namespace unicorn::cpu::qdot::avx2 {
// Internal linkage on purpose: this header is compiled into TUs with different -m flags, and
// an inline function with external linkage could be merged with an AVX-512 build of itself
// and then run on an AVX2-only CPU.
namespace {

inline float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

inline int hsum_i32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_unpackhi_epi64(s, s));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 1));
    return _mm_cvtsi128_si32(s);
}

inline float fp16(const uint8_t* p) {
    uint16_t h;
    std::memcpy(&h, p, 2);
    return _cvtsh_ss(h);
}

inline uint32_t load_u32(const uint8_t* p) {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
}

// max |x[i]| over n floats (n a multiple of 8).
inline float abs_max(const float* x, int64_t n) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 m = _mm256_setzero_ps();
    for (int64_t i = 0; i < n; i += 8)
        m = _mm256_max_ps(m, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + i)));
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// Quantizes 32 floats to int8 with the inverse scale `id` (round to nearest even, as
// vcvtps2dq does under the default MXCSR); |q| <= 127 because id = 127/amax. Returns the sums
// of elements 0..15 and 16..31 (the bsums the integer kernels need for offsets and mins).
inline void quantize32(const float* x, __m256 id, int8_t* qs, int* sum_lo, int* sum_hi) {
    const __m256i q0 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x), id));
    const __m256i q1 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 8), id));
    const __m256i q2 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 16), id));
    const __m256i q3 = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + 24), id));
    *sum_lo = hsum_i32(_mm256_add_epi32(q0, q1));
    *sum_hi = hsum_i32(_mm256_add_epi32(q2, q3));
    // packs work per 128-bit lane: the result holds 32-bit groups in order 0 4 1 5 2 6 3 7.
    const __m256i p16a = _mm256_packs_epi32(q0, q1), p16b = _mm256_packs_epi32(q2, q3);
    const __m256i p8 = _mm256_packs_epi16(p16a, p16b);
    const __m256i fixed =
        _mm256_permutevar8x32_epi32(p8, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(qs), fixed);
}

inline __m256 inv_scale(float amax) { return _mm256_set1_ps(amax > 0.0f ? 127.0f / amax : 0.0f); }

// Scales of a 32-element activation block, as llama.cpp's Q8_0 / Q8_1 blocks store them: the
// codes come from 127/amax in f32, but the scale d = amax/127 and the Q8_1 sum term d·Σq are
// kept in fp16. The rounding costs nothing measurable (≤ 2^-12 relative per block, against the
// int8 codes' 2^-8) and puts our integer dots on llama.cpp's exact values: on Gemma 3 270M the
// first three layers' outputs then equal llama.cpp's to 4 digits, where before they differed in
// the third (its outlier-heavy activations amplify any scale difference).
struct BlockScales {
    float d, d_sum;
};
inline BlockScales legacy_block_scales(float amax, int sum) {
    const float d = amax / 127.0f;
    return {fp16_to_f32(f32_to_fp16(d)), fp16_to_f32(f32_to_fp16(d * static_cast<float>(sum)))};
}

// Q8_K-style activation row for the K-quant kernels (both ISAs):
//   qs[k] int8 | d[k/256] f32 | bsum16[k/16] i16 | bsum32[k/32] i16, sections 64-aligned.
// One scale per 256 elements (the K-quant super-block), as in llama.cpp's Q8_K.
struct KActLayout {
    size_t d, bsum16, bsum32, bytes;
    explicit KActLayout(int64_t k) {
        const auto a64 = [](size_t n) { return (n + 63) & ~size_t{63}; };
        d = a64(static_cast<size_t>(k));
        bsum16 = d + a64(static_cast<size_t>(k / 256) * 4);
        bsum32 = bsum16 + a64(static_cast<size_t>(k / 16) * 2);
        bytes = bsum32 + a64(static_cast<size_t>(k / 32) * 2);
    }
};

inline void quantize_k_row(const float* x, uint8_t* dst, int64_t k) {
    const KActLayout lay(k);
    auto* qs = reinterpret_cast<int8_t*>(dst);
    auto* d = reinterpret_cast<float*>(dst + lay.d);
    auto* b16 = reinterpret_cast<int16_t*>(dst + lay.bsum16);
    auto* b32 = reinterpret_cast<int16_t*>(dst + lay.bsum32);
    for (int64_t sb = 0; sb < k / 256; ++sb) {
        const float* xs = x + sb * 256;
        const float amax = abs_max(xs, 256);
        d[sb] = amax / 127.0f;
        const __m256 id = inv_scale(amax);
        for (int c = 0; c < 8; ++c) {
            int lo, hi;
            quantize32(xs + 32 * c, id, qs + sb * 256 + 32 * c, &lo, &hi);
            b16[sb * 16 + 2 * c] = static_cast<int16_t>(lo);
            b16[sb * 16 + 2 * c + 1] = static_cast<int16_t>(hi);
            b32[sb * 8 + c] = static_cast<int16_t>(lo + hi);
        }
    }
}

inline size_t k_act_row_bytes(int64_t k) { return KActLayout(k).bytes; }

// Q4_K/Q5_K: 8 six-bit scales and mins (formats §4.3 get_scale_min_k4), as 8 bytes each.
inline void k4_scales(const uint8_t* s, uint64_t* sc, uint64_t* mn) {
    const uint32_t u0 = load_u32(s), u1 = load_u32(s + 4), u2 = load_u32(s + 8);
    const uint64_t sc_hi = (u2 & 0x0f0f0f0fu) | (((u0 >> 6) & 0x03030303u) << 4);
    const uint64_t mn_hi = ((u2 >> 4) & 0x0f0f0f0fu) | (((u1 >> 6) & 0x03030303u) << 4);
    *sc = (u0 & 0x3f3f3f3fu) | (sc_hi << 32);
    *mn = (u1 & 0x3f3f3f3fu) | (mn_hi << 32);
}

// Q3_K: sixteen 6-bit scales with a +32 bias -> 16 int8 (bias removed), built in a register
// (assembling them in memory and reloading stalls on store forwarding).
inline __m128i k3_scales(const uint8_t* s) {
    const uint32_t a0 = load_u32(s), a1 = load_u32(s + 4), t = load_u32(s + 8);
    const uint32_t m4 = 0x0f0f0f0fu, m2 = 0x03030303u;
    const __m128i v = _mm_setr_epi32(static_cast<int>((a0 & m4) | ((t & m2) << 4)),
                                     static_cast<int>((a1 & m4) | (((t >> 2) & m2) << 4)),
                                     static_cast<int>(((a0 >> 4) & m4) | (((t >> 4) & m2) << 4)),
                                     static_cast<int>(((a1 >> 4) & m4) | (((t >> 6) & m2) << 4)));
    return _mm_sub_epi8(v, _mm_set1_epi8(32));
}

}  // namespace
}  // namespace unicorn::cpu::qdot::avx2
