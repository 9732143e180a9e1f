// How each reference quantizer chooses its scale, as ggml does: the properties a reader of a
// ggml-written file (or a kernel reusing our blocks) relies on.

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "core/half.h"
#include "quant/blocks.h"
#include "quant_test_util.h"

namespace unicorn::quant {
namespace {

using testing::normal_data;

TEST(ScaleChoice, Q4_0MaxAbsElementMapsToMinusEight) {
    // d = max / -8 where max is the signed element of largest magnitude: that element gets
    // nibble 0 (value -8·d = max, up to fp16 rounding of d), whatever its sign.
    for (float sign : {1.0f, -1.0f}) {
        auto x = normal_data(32, sign > 0 ? 1 : 2);
        x[5] = 7.0f * sign;  // the max-abs element
        BlockQ4_0 b;
        quantize_row(DType::kQ4_0, x.data(), &b, 32);
        EXPECT_EQ(b.d, f32_to_fp16(7.0f * sign / -8.0f));
        EXPECT_EQ(b.qs[5] & 0x0f, 0);
        float y[32];
        dequantize_row(DType::kQ4_0, &b, y, 32);
        EXPECT_EQ(y[5], -8.0f * fp16_to_f32(b.d));
        // An element of the opposite sign at full magnitude would need +8: clamped to 15.
        x[6] = -x[5];
        quantize_row(DType::kQ4_0, x.data(), &b, 32);
        EXPECT_EQ(b.qs[6] & 0x0f, 15);
    }
}

TEST(ScaleChoice, Q4_0FirstOfEqualMagnitudesWins) {
    // ggml scans with a strict '<': the first element of largest magnitude sets the sign.
    std::vector<float> x(32, 0.25f);
    x[3] = -2.0f;
    x[9] = 2.0f;
    BlockQ4_0 b;
    quantize_row(DType::kQ4_0, x.data(), &b, 32);
    EXPECT_EQ(fp16_to_f32(b.d), 0.25f);  // -2 / -8
    EXPECT_EQ(b.qs[3] & 0x0f, 0);
    EXPECT_EQ(b.qs[9] & 0x0f, 15);
}

TEST(ScaleChoice, Q8_0MaxAbsMapsToPlusMinus127) {
    for (float sign : {1.0f, -1.0f}) {
        auto x = normal_data(32, sign > 0 ? 3 : 4);
        x[17] = 9.0f * sign;
        BlockQ8_0 b;
        quantize_row(DType::kQ8_0, x.data(), &b, 32);
        EXPECT_EQ(b.d, f32_to_fp16(9.0f / 127.0f));  // d = amax / 127, always positive
        EXPECT_EQ(b.qs[17], sign > 0 ? 127 : -127);
        for (int8_t q : b.qs) EXPECT_GE(q, -127);  // -128 is never produced
    }
}

TEST(ScaleChoice, Q8_0RoundsHalfAwayFromZero) {
    // amax = 127 gives d = 1 exactly: codes are roundf(x), ties away from zero (roundf), so
    // 2.5 → 3 and -2.5 → -3, unlike round-to-even.
    std::vector<float> x(32, 0.0f);
    x[0] = 127.0f;
    x[1] = 2.5f;
    x[2] = -2.5f;
    x[3] = 0.49f;
    BlockQ8_0 b;
    quantize_row(DType::kQ8_0, x.data(), &b, 32);
    EXPECT_EQ(b.qs[1], 3);
    EXPECT_EQ(b.qs[2], -3);
    EXPECT_EQ(b.qs[3], 0);
}

TEST(ScaleChoice, Q8_1CarriesScaledSum) {
    const auto x = normal_data(64, 5);
    BlockQ8_1 b[2];
    quantize_row(DType::kQ8_1, x.data(), b, 64);
    for (const BlockQ8_1& blk : b) {
        int sum = 0;
        for (int8_t q : blk.qs) sum += q;
        // s = fp16(Σq · d) with the unrounded d = amax/127, as ggml.
        float amax = 0.0f;
        const float* xb = x.data() + (&blk - b) * 32;
        for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(xb[j]));
        EXPECT_EQ(blk.s, f32_to_fp16(static_cast<float>(sum) * (amax / 127.0f)));
    }
}

TEST(ScaleChoice, Q4_1AndQ5_1SpanMinToMax) {
    // d = (max − min) / (2^b − 1), m = min: min decodes exactly to m, max to m + (2^b−1)·d.
    auto x = normal_data(32, 6);
    x[2] = -3.0f;
    x[30] = 5.0f;
    BlockQ4_1 b4;
    quantize_row(DType::kQ4_1, x.data(), &b4, 32);
    EXPECT_EQ(b4.m, f32_to_fp16(-3.0f));
    EXPECT_EQ(b4.d, f32_to_fp16(8.0f / 15.0f));
    EXPECT_EQ(b4.qs[2] & 0x0f, 0);
    EXPECT_EQ(b4.qs[14] >> 4, 15);  // element 30 is the high nibble of byte 14
    BlockQ5_1 b5;
    quantize_row(DType::kQ5_1, x.data(), &b5, 32);
    EXPECT_EQ(b5.d, f32_to_fp16(8.0f / 31.0f));
    uint32_t qh;
    std::memcpy(&qh, b5.qh, 4);
    EXPECT_EQ((b5.qs[14] >> 4) | (((qh >> 30) & 1) << 4), 31u);
}

TEST(ScaleChoice, Q5_0MaxAbsMapsToMinusSixteen) {
    auto x = normal_data(32, 7);
    x[20] = -6.0f;
    BlockQ5_0 b;
    quantize_row(DType::kQ5_0, x.data(), &b, 32);
    EXPECT_EQ(b.d, f32_to_fp16(-6.0f / -16.0f));
    uint32_t qh;
    std::memcpy(&qh, b.qh, 4);
    EXPECT_EQ((b.qs[4] >> 4) | (((qh >> 20) & 1) << 4), 0u);  // element 20: byte 4 high nibble
}

TEST(ScaleChoice, Q8_KFloatScaleAndBlockSums) {
    auto x = normal_data(512, 8);
    x[100] = -11.0f;
    BlockQ8_K b[2];
    quantize_row(DType::kQ8_K, x.data(), b, 512);
    // The signed max-abs element maps to -127 and d = max / -127 stays a float.
    EXPECT_EQ(b[0].qs[100], -127);
    EXPECT_EQ(b[0].d, 1.0f / (-127.0f / -11.0f));
    for (const BlockQ8_K& blk : b) {
        for (int g = 0; g < 16; ++g) {
            int sum = 0;
            for (int i = 0; i < 16; ++i) sum += blk.qs[16 * g + i];
            EXPECT_EQ(blk.bsums[g], sum);
        }
    }
}

TEST(ScaleChoice, KQuantSubScalesUseTheirRange) {
    // The sub-block scale of largest magnitude maps to the extreme stored code, so the
    // super-block scale is not wasted: Q6_K's int8 scales reach -128, Q3_K's biased 6-bit
    // scales reach 0 (i.e. −32), Q4_K's 6-bit scales reach 63.
    const auto x = normal_data(256, 9);
    BlockQ6_K b6;
    quantize_row(DType::kQ6_K, x.data(), &b6, 256);
    int8_t lo = 0;
    for (int8_t s : b6.scales) lo = std::min(lo, s);
    EXPECT_EQ(lo, -128);

    BlockQ4_K b4;
    quantize_row(DType::kQ4_K, x.data(), &b4, 256);
    int top = 0;
    for (int j = 0; j < 4; ++j) top = std::max(top, b4.scales[j] & 63);
    for (int j = 4; j < 8; ++j)
        top = std::max(top, (b4.scales[j + 4] & 15) | ((b4.scales[j - 4] >> 6) << 4));
    EXPECT_EQ(top, 63);
}

}  // namespace
}  // namespace unicorn::quant
