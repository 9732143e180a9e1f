// IEEE binary16 and bfloat16 conversions, bit-exact with the hardware/ggml conversions
// (round to nearest even; NaN stays NaN). Scalar: the oracle for SIMD paths.
#pragma once

#include <cstdint>
#include <cstring>

namespace unicorn {

inline float f32_from_bits(uint32_t u) {
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}
inline uint32_t bits_from_f32(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    return u;
}

inline float fp16_to_f32(uint16_t h) {
    const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t mant = h & 0x3ffu;
    if (exp == 0x1f) return f32_from_bits(sign | 0x7f800000u | (mant << 13));  // inf / NaN
    if (exp == 0) {
        if (mant == 0) return f32_from_bits(sign);
        // Subnormal: value = mant * 2^-24.
        float v = static_cast<float>(mant) * 5.9604644775390625e-8f;
        return sign ? -v : v;
    }
    return f32_from_bits(sign | ((exp + 112u) << 23) | (mant << 13));
}

inline uint16_t f32_to_fp16(float f) {
    const uint32_t x = bits_from_f32(f);
    const uint32_t sign = (x >> 16) & 0x8000u;
    const uint32_t abs = x & 0x7fffffffu;
    if (abs > 0x7f800000u) return static_cast<uint16_t>(sign | 0x7e00u);  // NaN
    if (abs >= 0x47800000u) {
        // >= 65536 rounds to inf; values in [65520, 65536) also round to inf below.
        return static_cast<uint16_t>(sign | 0x7c00u);
    }
    if (abs < 0x38800000u) {
        // Result is subnormal or zero: scale into the subnormal grid with one rounding.
        if (abs < 0x33000000u) return static_cast<uint16_t>(sign);  // < 2^-25 rounds to 0
        const uint32_t e = abs >> 23;
        const uint32_t m = (abs & 0x7fffffu) | 0x800000u;
        const uint32_t shift = 126u - e;  // m·2^(e-150) in units of 2^-24 is m >> (126-e)
        const uint32_t shifted = m >> shift;
        const uint32_t rem = m & ((1u << shift) - 1u);
        const uint32_t halfway = 1u << (shift - 1u);
        uint32_t r = shifted;
        if (rem > halfway || (rem == halfway && (shifted & 1u))) r += 1;
        return static_cast<uint16_t>(sign | r);
    }
    // Normal: rebias exponent, round mantissa from 23 to 10 bits (nearest even).
    uint32_t r = abs - 0x38000000u;  // exponent - 112
    const uint32_t rem = r & 0x1fffu;
    r >>= 13;
    if (rem > 0x1000u || (rem == 0x1000u && (r & 1u))) r += 1;  // may carry into inf: correct
    return static_cast<uint16_t>(sign | r);
}

inline float bf16_to_f32(uint16_t b) { return f32_from_bits(static_cast<uint32_t>(b) << 16); }

inline uint16_t f32_to_bf16(float f) {
    uint32_t x = bits_from_f32(f);
    if ((x & 0x7fffffffu) > 0x7f800000u)
        return static_cast<uint16_t>((x >> 16) | 0x40u);  // quiet NaN
    x += 0x7fffu + ((x >> 16) & 1u);                      // round to nearest even
    return static_cast<uint16_t>(x >> 16);
}

}  // namespace unicorn
