// dot_row_ref against a plain double loop over dequantized values; fp16/bf16 rounding.

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "core/half.h"
#include "quant_test_util.h"

namespace unicorn::quant {
namespace {

using testing::dequantize;
using testing::heavy_tailed_data;
using testing::normal_data;
using testing::quantize;

class DotRowRef : public ::testing::TestWithParam<DType> {};

TEST_P(DotRowRef, EqualsDoubleLoopOverDequantized) {
    const DType t = GetParam();
    const int64_t bs = dtype_block_size(t);
    // Lengths: one block, and enough blocks to cross dot_row_ref's internal 256-element chunk
    // with a remainder (odd count of legacy blocks).
    for (int64_t n : {bs == 1 ? int64_t{1} : bs, bs == 1 ? int64_t{777} : 13 * bs}) {
        const auto w = heavy_tailed_data(static_cast<size_t>(n), 11 + static_cast<uint64_t>(n));
        const auto x = normal_data(static_cast<size_t>(n), 12 + static_cast<uint64_t>(n));
        const auto q = quantize(t, w);
        const auto wd = dequantize(t, q, n);
        double want = 0.0;
        for (int64_t i = 0; i < n; ++i) {
            want += static_cast<double>(wd[static_cast<size_t>(i)]) *
                    static_cast<double>(x[static_cast<size_t>(i)]);
        }
        // Same products in the same order, both in double: identical.
        EXPECT_EQ(dot_row_ref(t, q.data(), x.data(), n), want) << dtype_name(t) << " n=" << n;
    }
}

INSTANTIATE_TEST_SUITE_P(AllTypes, DotRowRef, ::testing::ValuesIn(testing::kAllTypes),
                         [](const ::testing::TestParamInfo<DType>& info) {
                             return std::string(dtype_name(info.param));
                         });

TEST(HasReference, CoversWeightAndActivationTypes) {
    for (DType t : kWeightDTypes) EXPECT_TRUE(has_reference(t)) << dtype_name(t);
    EXPECT_TRUE(has_reference(DType::kQ8_1));
    EXPECT_TRUE(has_reference(DType::kQ8_K));
    EXPECT_FALSE(has_reference(DType::kI32));
    EXPECT_FALSE(has_reference(DType::kF64));
}

uint16_t to_f16_bits(float f) {
    uint16_t h;
    quantize_row(DType::kF16, &f, &h, 1);
    return h;
}
uint16_t to_bf16_bits(float f) {
    uint16_t h;
    quantize_row(DType::kBF16, &f, &h, 1);
    return h;
}

TEST(F16, RoundsToNearestEven) {
    // fp16 spacing in [1, 2) is 2^-10. 1 + 2^-11 is a tie between 1 (even mantissa) and
    // 1 + 2^-10 (odd): goes down. 1 + 3·2^-11 is a tie between odd 1 + 2^-10 and even
    // 1 + 2^-9: goes up.
    EXPECT_EQ(to_f16_bits(1.0f + 0x1p-11f), 0x3c00);
    EXPECT_EQ(to_f16_bits(1.0f + 3 * 0x1p-11f), 0x3c02);
    // Just above a tie rounds up, just below rounds down.
    EXPECT_EQ(to_f16_bits(1.0f + 0x1p-11f + 0x1p-23f), 0x3c01);
    EXPECT_EQ(to_f16_bits(1.0f + 0x1p-11f - 0x1p-23f), 0x3c00);
    // Largest finite 65504; 65520 is the tie with the next (65536, not representable) → inf.
    EXPECT_EQ(to_f16_bits(65504.0f), 0x7bff);
    EXPECT_EQ(to_f16_bits(65519.0f), 0x7bff);
    EXPECT_EQ(to_f16_bits(65520.0f), 0x7c00);
    EXPECT_EQ(to_f16_bits(-1e9f), 0xfc00);
    // Subnormals: smallest 2^-24; 2^-25 is a tie with 0 (even) → 0; 3·2^-25 → 2·2^-24.
    EXPECT_EQ(to_f16_bits(0x1p-24f), 0x0001);
    EXPECT_EQ(to_f16_bits(0x1p-25f), 0x0000);
    EXPECT_EQ(to_f16_bits(3 * 0x1p-25f), 0x0002);
    EXPECT_EQ(to_f16_bits(-0.0f), 0x8000);
    const uint16_t nan = to_f16_bits(std::numeric_limits<float>::quiet_NaN());
    EXPECT_EQ(nan & 0x7c00, 0x7c00);
    EXPECT_NE(nan & 0x03ff, 0);

    // Decoding: every non-NaN fp16 value survives fp16 → f32 → fp16.
    for (uint32_t h = 0; h < 65536; ++h) {
        if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff) != 0) continue;
        float f;
        dequantize_row(DType::kF16, &h, &f, 1);  // little-endian: low 2 bytes of h
        EXPECT_EQ(to_f16_bits(f), h);
    }
}

TEST(BF16, RoundsToNearestEven) {
    // bf16 keeps the top 16 bits of the f32. 1 + 2^-8 is a tie between 1 (even) and 1 + 2^-7.
    EXPECT_EQ(to_bf16_bits(1.0f + 0x1p-8f), 0x3f80);
    EXPECT_EQ(to_bf16_bits(1.0f + 3 * 0x1p-8f), 0x3f82);  // tie between odd and even: up
    EXPECT_EQ(to_bf16_bits(1.0f + 0x1p-8f + 0x1p-23f), 0x3f81);
    EXPECT_EQ(to_bf16_bits(-2.0f), 0xc000);
    // Rounds up into infinity from the largest finite floats.
    EXPECT_EQ(to_bf16_bits(std::numeric_limits<float>::max()), 0x7f80);
    const uint16_t nan = to_bf16_bits(std::numeric_limits<float>::quiet_NaN());
    EXPECT_EQ(nan & 0x7f80, 0x7f80);
    EXPECT_NE(nan & 0x007f, 0);
    // A signalling NaN whose payload sits only in the dropped bits must stay NaN (quieted).
    const uint16_t snan = to_bf16_bits(f32_from_bits(0x7f800001u));
    EXPECT_EQ(snan & 0x7f80, 0x7f80);
    EXPECT_NE(snan & 0x007f, 0);

    float f;
    const uint16_t b = 0x4049;  // 3.140625
    dequantize_row(DType::kBF16, &b, &f, 1);
    EXPECT_EQ(f, 3.140625f);
}

}  // namespace
}  // namespace unicorn::quant
