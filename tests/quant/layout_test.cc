// Hand-built blocks: every expected value is derived here from the layout description
// (docs/reference/formats-and-apis.md §4.3 and the comments in quant/blocks.h), not from the
// implementation. Scales are powers of two and codes small integers, so the expected values
// are exact whatever the order of the float operations; the order itself is pinned by the
// ggml goldens (golden_test.cc).
//
// Each type gets (1) literal spot checks on a few bytes, worked out by hand, and (2) a full
// block whose codes are chosen first and then packed by an encoder written from the layout
// description, checked element by element.

#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <vector>

#include "core/half.h"
#include "quant/blocks.h"
#include "quant/quantize.h"

namespace unicorn::quant {
namespace {

template <typename Block>
std::vector<float> dequant(DType t, const Block& b) {
    std::vector<float> y(static_cast<size_t>(dtype_block_size(t)));
    dequantize_row(t, &b, y.data(), static_cast<int64_t>(y.size()));
    return y;
}

// A fixed pseudo-random code sequence in [lo, hi].
std::vector<int> codes(int n, int lo, int hi, uint32_t seed) {
    std::vector<int> c(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
        seed = seed * 1664525u + 1013904223u;
        c[static_cast<size_t>(i)] =
            lo + static_cast<int>((seed >> 16) % static_cast<uint32_t>(hi - lo + 1));
    }
    return c;
}

// ---- legacy types ----------------------------------------------------------------------------

TEST(Layout, Q4_0) {
    BlockQ4_0 b{};
    b.d = f32_to_fp16(0.5f);
    // Byte j: element j in the low nibble, element j+16 in the high nibble; value (q-8)·d.
    for (int j = 0; j < 16; ++j) b.qs[j] = static_cast<uint8_t>(j | ((15 - j) << 4));
    const auto y = dequant(DType::kQ4_0, b);
    EXPECT_EQ(y[0], -4.0f);  // nibble 0 → -8·0.5
    EXPECT_EQ(y[16], 3.5f);  // nibble 15 → 7·0.5
    EXPECT_EQ(y[8], 0.0f);   // nibble 8 → 0
    for (int j = 0; j < 16; ++j) {
        EXPECT_EQ(y[j], 0.5f * static_cast<float>(j - 8)) << j;
        EXPECT_EQ(y[j + 16], 0.5f * static_cast<float>(7 - j)) << j;
    }
}

TEST(Layout, Q4_1) {
    BlockQ4_1 b{};
    b.d = f32_to_fp16(0.25f);
    b.m = f32_to_fp16(-1.0f);
    const auto c = codes(32, 0, 15, 1);
    for (int j = 0; j < 16; ++j) b.qs[j] = static_cast<uint8_t>(c[j] | (c[j + 16] << 4));
    const auto y = dequant(DType::kQ4_1, b);
    for (int e = 0; e < 32; ++e) EXPECT_EQ(y[e], 0.25f * static_cast<float>(c[e]) - 1.0f) << e;
}

TEST(Layout, Q5_0) {
    BlockQ5_0 b{};
    b.d = f32_to_fp16(2.0f);
    b.qs[0] = 0xf3;  // element 0 low nibble 3, element 16 low nibble 15
    b.qh[0] = 0x01;  // bit 0: element 0 has its 5th bit → 19
    b.qh[2] = 0x01;  // bit 16: element 16 → 31
    auto y = dequant(DType::kQ5_0, b);
    EXPECT_EQ(y[0], 2.0f * (19 - 16));
    EXPECT_EQ(y[16], 2.0f * (31 - 16));
    EXPECT_EQ(y[1], 2.0f * (0 - 16));

    // Full block: 5th bit of element e is bit e of the little-endian uint32 qh.
    const auto c = codes(32, 0, 31, 2);
    uint32_t qh = 0;
    for (int j = 0; j < 16; ++j)
        b.qs[j] = static_cast<uint8_t>((c[j] & 15) | ((c[j + 16] & 15) << 4));
    for (int e = 0; e < 32; ++e) qh |= static_cast<uint32_t>(c[e] >> 4) << e;
    for (int k = 0; k < 4; ++k) b.qh[k] = static_cast<uint8_t>(qh >> (8 * k));
    y = dequant(DType::kQ5_0, b);
    for (int e = 0; e < 32; ++e) EXPECT_EQ(y[e], 2.0f * static_cast<float>(c[e] - 16)) << e;
}

TEST(Layout, Q5_1) {
    BlockQ5_1 b{};
    b.d = f32_to_fp16(0.125f);
    b.m = f32_to_fp16(3.0f);
    const auto c = codes(32, 0, 31, 3);
    uint32_t qh = 0;
    for (int j = 0; j < 16; ++j)
        b.qs[j] = static_cast<uint8_t>((c[j] & 15) | ((c[j + 16] & 15) << 4));
    for (int e = 0; e < 32; ++e) qh |= static_cast<uint32_t>(c[e] >> 4) << e;
    for (int k = 0; k < 4; ++k) b.qh[k] = static_cast<uint8_t>(qh >> (8 * k));
    const auto y = dequant(DType::kQ5_1, b);
    for (int e = 0; e < 32; ++e) EXPECT_EQ(y[e], 0.125f * static_cast<float>(c[e]) + 3.0f) << e;
}

TEST(Layout, Q8_0AndQ8_1) {
    BlockQ8_0 b{};
    b.d = f32_to_fp16(0.0625f);
    for (int j = 0; j < 32; ++j) b.qs[j] = static_cast<int8_t>(8 * j - 128);  // -128 decodes too
    auto y = dequant(DType::kQ8_0, b);
    for (int j = 0; j < 32; ++j) EXPECT_EQ(y[j], 0.0625f * static_cast<float>(8 * j - 128)) << j;

    BlockQ8_1 b1{};
    b1.d = b.d;
    b1.s = f32_to_fp16(1000.0f);  // s is a cached sum for dot products, not part of the values
    std::memcpy(b1.qs, b.qs, sizeof(b.qs));
    EXPECT_EQ(dequant(DType::kQ8_1, b1), y);
}

// ---- K-quants --------------------------------------------------------------------------------

// Q2_K/Q3_K low bits: byte 32h + i (h = 0,1; i = 0..31) holds elements 128h + i + 32k at bits
// 2k..2k+1, k = 0..3.
void pack_2bit(const std::vector<int>& low2, uint8_t* qs) {
    for (int e = 0; e < 256; ++e) {
        const int h = e / 128;
        const int k = (e % 128) / 32;
        qs[32 * h + e % 32] =
            static_cast<uint8_t>(qs[32 * h + e % 32] | ((low2[e] & 3) << (2 * k)));
    }
}

TEST(Layout, Q2_K) {
    BlockQ2_K b{};
    b.d = f32_to_fp16(0.5f);
    b.dmin = f32_to_fp16(0.25f);
    b.qs[0] = 0xe4;      // 0b11'10'01'00: elements 0, 32, 64, 96 get codes 0, 1, 2, 3
    b.scales[0] = 0x23;  // sub-block 0 (elements 0..15): scale 3, min 2
    b.scales[2] = 0x01;  // sub-block 2 (elements 32..47): scale 1, min 0
    b.scales[4] = 0xf4;  // sub-block 4 (64..79): scale 4, min 15
    b.scales[6] = 0x0f;  // sub-block 6 (96..111): scale 15, min 0
    auto y = dequant(DType::kQ2_K, b);
    EXPECT_EQ(y[0], 0.5f * 3 * 0 - 0.25f * 2);
    EXPECT_EQ(y[32], 0.5f * 1 * 1);
    EXPECT_EQ(y[64], 0.5f * 4 * 2 - 0.25f * 15);
    EXPECT_EQ(y[96], 0.5f * 15 * 3);
    EXPECT_EQ(y[1], -0.5f);  // code 0 in sub-block 0: just -dmin·min

    // Full block: y = d·(scales[e/16] & 15)·q − dmin·(scales[e/16] >> 4).
    b = BlockQ2_K{};
    b.d = f32_to_fp16(0.25f);
    b.dmin = f32_to_fp16(0.5f);
    const auto q = codes(256, 0, 3, 4);
    const auto sc = codes(16, 0, 255, 5);
    for (int s = 0; s < 16; ++s) b.scales[s] = static_cast<uint8_t>(sc[s]);
    pack_2bit(q, b.qs);
    y = dequant(DType::kQ2_K, b);
    for (int e = 0; e < 256; ++e) {
        const float want = 0.25f * static_cast<float>((sc[e / 16] & 15) * q[e]) -
                           0.5f * static_cast<float>(sc[e / 16] >> 4);
        EXPECT_EQ(y[e], want) << e;
    }
}

// Q3_K scale j (6 bits, +32 bias): low 4 bits in byte j (j < 8, low nibble) or byte j-8 (high
// nibble); high 2 bits in byte 8 + j%4 at bit 2·(j/4).
void pack_q3_scales(const std::vector<int>& biased, uint8_t* s12) {
    std::memset(s12, 0, 12);
    for (int j = 0; j < 16; ++j) {
        const int lo = biased[j] & 15;
        if (j < 8) {
            s12[j] = static_cast<uint8_t>(s12[j] | lo);
        } else {
            s12[j - 8] = static_cast<uint8_t>(s12[j - 8] | (lo << 4));
        }
        s12[8 + j % 4] = static_cast<uint8_t>(s12[8 + j % 4] | ((biased[j] >> 4) << (2 * (j / 4))));
    }
}

TEST(Layout, Q3_K) {
    BlockQ3_K b{};
    b.d = f32_to_fp16(0.5f);
    b.scales[0] = 0x21;  // scale 0 low bits 1, scale 8 low bits 2
    b.scales[8] = 0x03;  // scale 0 high bits 3 → 49 → 49-32 = 17; scale 8 high bits 0 → 2-32
    b.scales[4] = 0x0a;  // scale 4 low bits 10; high bits from byte 8 bits 2..3 = 0 → 10-32
    b.qs[0] = 0x1b;      // 0b00'01'10'11: elements 0, 32, 64, 96 low bits 3, 2, 1, 0
    b.hmask[0] = 0x01;   // element 0 (bit 0) has the high bit: code 3; element 32 (bit 1) not
    b.qs[32] = 0x02;     // element 128 low bits 2
    b.hmask[0] |= 0x10;  // bit 4 = element 128 high bit: code 2
    auto y = dequant(DType::kQ3_K, b);
    EXPECT_EQ(y[0], 0.5f * 17 * 3);
    EXPECT_EQ(y[32], 0.5f * (0 - 32) * (2 - 4));   // sub-block 2 scale: low 0, high 0
    EXPECT_EQ(y[64], 0.5f * (10 - 32) * (1 - 4));  // sub-block 4
    EXPECT_EQ(y[1], 0.5f * 17 * (0 - 4));          // no high bit, low 0 → -4
    EXPECT_EQ(y[128], 0.5f * (2 - 32) * 2);        // sub-block 8

    // Full block: y = d·(scale[e/16] − 32)·(low2 + 4·hbit − 4), hbit = hmask[e%32] bit e/32.
    b = BlockQ3_K{};
    b.d = f32_to_fp16(0.125f);
    const auto q = codes(256, -4, 3, 6);
    const auto sc = codes(16, 0, 63, 7);
    std::vector<int> low(256);
    for (int e = 0; e < 256; ++e) {
        const int u = q[e] + 4;  // 0..7: bit 2 is the hmask bit
        low[e] = u & 3;
        if (u & 4) b.hmask[e % 32] = static_cast<uint8_t>(b.hmask[e % 32] | (1 << (e / 32)));
    }
    pack_2bit(low, b.qs);
    pack_q3_scales(sc, b.scales);
    y = dequant(DType::kQ3_K, b);
    for (int e = 0; e < 256; ++e) {
        EXPECT_EQ(y[e], 0.125f * static_cast<float>((sc[e / 16] - 32) * q[e])) << e;
    }
}

// Q4_K/Q5_K: 8 six-bit scales and mins in 12 bytes. j < 4: scale in bytes[j] bits 0..5, min in
// bytes[j+4] bits 0..5. j >= 4: low 4 bits in bytes[j+4] (scale low nibble, min high nibble),
// high 2 bits in bits 6..7 of bytes[j-4] (scale) and bytes[j] (min).
void pack_k4_scales(const std::vector<int>& sc, const std::vector<int>& mn, uint8_t* s12) {
    std::memset(s12, 0, 12);
    for (int j = 0; j < 8; ++j) {
        if (j < 4) {
            s12[j] = static_cast<uint8_t>(s12[j] | sc[j]);
            s12[j + 4] = static_cast<uint8_t>(s12[j + 4] | mn[j]);
        } else {
            s12[j + 4] = static_cast<uint8_t>((sc[j] & 15) | ((mn[j] & 15) << 4));
            s12[j - 4] = static_cast<uint8_t>(s12[j - 4] | ((sc[j] >> 4) << 6));
            s12[j] = static_cast<uint8_t>(s12[j] | ((mn[j] >> 4) << 6));
        }
    }
}

TEST(Layout, Q4_K) {
    BlockQ4_K b{};
    b.d = f32_to_fp16(0.5f);
    b.dmin = f32_to_fp16(0.25f);
    b.scales[0] = 0xc5;  // scale 0 = 5; top bits 3 = high bits of scale 4
    b.scales[4] = 0x47;  // min 0 = 7; top bits 1 = high bits of min 4
    b.scales[8] = 0x72;  // scale 4 low 2 → 2 | 3<<4 = 50; min 4 low 7 → 7 | 1<<4 = 23
    b.qs[0] = 0x9a;      // element 0 code 10 (sub-block 0), element 32 code 9 (sub-block 1)
    b.qs[64] = 0x0c;     // element 128 (sub-block 4) code 12
    auto y = dequant(DType::kQ4_K, b);
    EXPECT_EQ(y[0], 0.5f * 5 * 10 - 0.25f * 7);
    EXPECT_EQ(y[32], 0.0f);  // sub-block 1: scale 0, min 0
    EXPECT_EQ(y[128], 0.5f * 50 * 12 - 0.25f * 23);

    // Full block: chunk c of 64 elements uses qs[32c..32c+31], low nibbles first.
    b = BlockQ4_K{};
    b.d = f32_to_fp16(0.0625f);
    b.dmin = f32_to_fp16(0.5f);
    const auto q = codes(256, 0, 15, 8);
    const auto sc = codes(8, 0, 63, 9);
    const auto mn = codes(8, 0, 63, 10);
    pack_k4_scales(sc, mn, b.scales);
    for (int e = 0; e < 256; ++e) {
        const int byte = 32 * (e / 64) + e % 32;
        b.qs[byte] = static_cast<uint8_t>(b.qs[byte] | (q[e] << (4 * ((e / 32) % 2))));
    }
    y = dequant(DType::kQ4_K, b);
    for (int e = 0; e < 256; ++e) {
        const float want =
            0.0625f * static_cast<float>(sc[e / 32] * q[e]) - 0.5f * static_cast<float>(mn[e / 32]);
        EXPECT_EQ(y[e], want) << e;
    }
}

TEST(Layout, Q5_K) {
    BlockQ5_K b{};
    b.d = f32_to_fp16(0.25f);
    b.dmin = f32_to_fp16(0.125f);
    const auto q = codes(256, 0, 31, 11);
    const auto sc = codes(8, 0, 63, 12);
    const auto mn = codes(8, 0, 63, 13);
    pack_k4_scales(sc, mn, b.scales);
    for (int e = 0; e < 256; ++e) {
        const int byte = 32 * (e / 64) + e % 32;
        b.qs[byte] = static_cast<uint8_t>(b.qs[byte] | ((q[e] & 15) << (4 * ((e / 32) % 2))));
        // The 5th bit of element e: qh[e % 32], bit e / 32.
        if (q[e] & 16) b.qh[e % 32] = static_cast<uint8_t>(b.qh[e % 32] | (1 << (e / 32)));
    }
    const auto y = dequant(DType::kQ5_K, b);
    for (int e = 0; e < 256; ++e) {
        const float want =
            0.25f * static_cast<float>(sc[e / 32] * q[e]) - 0.125f * static_cast<float>(mn[e / 32]);
        EXPECT_EQ(y[e], want) << e;
    }
    // Spot check: qh[3] bit 7 is the 5th bit of element 7·32 + 3 = 227.
    BlockQ5_K s{};
    s.d = f32_to_fp16(1.0f);
    s.scales[3] = 1;   // scale 3 = 1 (covers sub-block 3 only; scale 7's high bits stay 0)
    s.scales[11] = 1;  // scale 7 low bits = 1
    s.qh[3] = 0x80;
    const auto ys = dequant(DType::kQ5_K, s);
    EXPECT_EQ(ys[227], 16.0f);
    EXPECT_EQ(ys[3 * 32 + 3], 0.0f);
}

TEST(Layout, Q6_K) {
    BlockQ6_K b{};
    b.d = f32_to_fp16(0.5f);
    for (int s = 0; s < 16; ++s) b.scales[s] = static_cast<int8_t>(s - 8);
    b.ql[0] = 0x21;   // element 0 low 4 bits 1; element 64 low 4 bits 2
    b.ql[32] = 0x43;  // element 32 low 3; element 96 low 4
    b.qh[0] = 0xe4;   // high bits: element 0 → 0, 32 → 1, 64 → 2, 96 → 3
    auto y = dequant(DType::kQ6_K, b);
    EXPECT_EQ(y[0], 0.5f * (0 - 8) * (1 - 32));
    EXPECT_EQ(y[32], 0.5f * (2 - 8) * ((3 | 16) - 32));
    EXPECT_EQ(y[64], 0.5f * (4 - 8) * ((2 | 32) - 32));
    EXPECT_EQ(y[96], 0.5f * (6 - 8) * ((4 | 48) - 32));

    // Full block: element 128h + 32k + i: low nibble of ql[64h + i + 32(k%2)] (k < 2) or its
    // high nibble (k >= 2); high 2 bits at bits 2k of qh[32h + i]; y = d·scale[e/16]·(q − 32).
    b = BlockQ6_K{};
    b.d = f32_to_fp16(0.25f);
    const auto q = codes(256, 0, 63, 14);
    const auto sc = codes(16, -128, 127, 15);
    for (int s = 0; s < 16; ++s) b.scales[s] = static_cast<int8_t>(sc[s]);
    for (int e = 0; e < 256; ++e) {
        const int h = e / 128;
        const int k = (e % 128) / 32;
        const int i = e % 32;
        uint8_t& lo = b.ql[64 * h + i + 32 * (k % 2)];
        lo = static_cast<uint8_t>(lo | ((q[e] & 15) << (4 * (k / 2))));
        uint8_t& hi = b.qh[32 * h + i];
        hi = static_cast<uint8_t>(hi | ((q[e] >> 4) << (2 * k)));
    }
    y = dequant(DType::kQ6_K, b);
    for (int e = 0; e < 256; ++e) {
        EXPECT_EQ(y[e], 0.25f * static_cast<float>(sc[e / 16] * (q[e] - 32))) << e;
    }
}

TEST(Layout, Q8_K) {
    BlockQ8_K b{};
    b.d = 0.375f;  // a plain float, not fp16
    const auto q = codes(256, -128, 127, 16);
    for (int e = 0; e < 256; ++e) b.qs[e] = static_cast<int8_t>(q[e]);
    const auto y = dequant(DType::kQ8_K, b);
    for (int e = 0; e < 256; ++e) EXPECT_EQ(y[e], 0.375f * static_cast<float>(q[e])) << e;
}

TEST(Layout, SeveralBlocksAreIndependent) {
    // Two Q4_0 blocks with different scales: block b covers elements 32b..32b+31.
    std::array<BlockQ4_0, 2> b{};
    b[0].d = f32_to_fp16(1.0f);
    b[1].d = f32_to_fp16(-2.0f);
    for (int j = 0; j < 16; ++j) b[0].qs[j] = b[1].qs[j] = 0x9a;  // codes 10 / 9
    std::vector<float> y(64);
    dequantize_row(DType::kQ4_0, b.data(), y.data(), 64);
    EXPECT_EQ(y[0], 2.0f);
    EXPECT_EQ(y[16], 1.0f);
    EXPECT_EQ(y[32], -4.0f);
    EXPECT_EQ(y[48], -2.0f);
}

}  // namespace
}  // namespace unicorn::quant
