// GGUF/ggml block layouts, byte for byte (ggml-common.h; docs/reference formats §4.3).
// fp16 fields are stored as raw uint16_t bits; convert with core/half.h.
#pragma once

#include <cstdint>

namespace unicorn::quant {

inline constexpr int kQK = 32;    // elements per block of the legacy types
inline constexpr int kQKK = 256;  // elements per super-block of the K-quants
inline constexpr int kKScaleBytes = 12;

struct BlockQ4_0 {
    uint16_t d;
    uint8_t qs[kQK / 2];  // y[j] = low nibble of qs[j], y[j+16] = high nibble
};
struct BlockQ4_1 {
    uint16_t d, m;
    uint8_t qs[kQK / 2];
};
struct BlockQ5_0 {
    uint16_t d;
    uint8_t qh[4];  // bit j: 5th bit of y[j] (j < 32, little-endian uint32)
    uint8_t qs[kQK / 2];
};
struct BlockQ5_1 {
    uint16_t d, m;
    uint8_t qh[4];
    uint8_t qs[kQK / 2];
};
struct BlockQ8_0 {
    uint16_t d;
    int8_t qs[kQK];
};
struct BlockQ8_1 {
    uint16_t d, s;  // s = d * sum(qs)
    int8_t qs[kQK];
};
struct BlockQ2_K {
    uint8_t scales[kQKK / 16];  // low 4 bits scale, high 4 bits min, per 16 elements
    uint8_t qs[kQKK / 4];
    uint16_t d, dmin;
};
struct BlockQ3_K {
    uint8_t hmask[kQKK / 8];
    uint8_t qs[kQKK / 4];
    uint8_t scales[kKScaleBytes];  // 16 six-bit scales, packed
    uint16_t d;
};
struct BlockQ4_K {
    uint16_t d, dmin;
    uint8_t scales[kKScaleBytes];  // 8 six-bit scales + 8 six-bit mins, packed
    uint8_t qs[kQKK / 2];
};
struct BlockQ5_K {
    uint16_t d, dmin;
    uint8_t scales[kKScaleBytes];
    uint8_t qh[kQKK / 8];
    uint8_t qs[kQKK / 2];
};
struct BlockQ6_K {
    uint8_t ql[kQKK / 2];
    uint8_t qh[kQKK / 4];
    int8_t scales[kQKK / 16];
    uint16_t d;
};
struct BlockQ8_K {
    float d;
    int8_t qs[kQKK];
    int16_t bsums[kQKK / 16];  // sums of each group of 16 qs
};

static_assert(sizeof(BlockQ4_0) == 18);
static_assert(sizeof(BlockQ4_1) == 20);
static_assert(sizeof(BlockQ5_0) == 22);
static_assert(sizeof(BlockQ5_1) == 24);
static_assert(sizeof(BlockQ8_0) == 34);
static_assert(sizeof(BlockQ8_1) == 36);
static_assert(sizeof(BlockQ2_K) == 84);
static_assert(sizeof(BlockQ3_K) == 110);
static_assert(sizeof(BlockQ4_K) == 144);
static_assert(sizeof(BlockQ5_K) == 176);
static_assert(sizeof(BlockQ6_K) == 210);
static_assert(sizeof(BlockQ8_K) == 292);

}  // namespace unicorn::quant
