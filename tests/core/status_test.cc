#include "core/status.h"

#include <gtest/gtest.h>

#include "core/dtype.h"
#include "core/half.h"

namespace unicorn {
namespace {

Result<int> parse_positive(int v) {
    if (v <= 0) return invalid_argument("must be positive");
    return v;
}

Status use_assign(int v, int* out) {
    UNI_ASSIGN_OR_RETURN(*out, parse_positive(v));
    return ok_status();
}

TEST(Status, CarriesCodeAndMessage) {
    Status s = corrupt("tensor 'x' ends past the file");
    EXPECT_FALSE(s.ok());
    EXPECT_EQ(s.code(), StatusCode::kCorrupt);
    EXPECT_EQ(s.to_string(), "corrupt: tensor 'x' ends past the file");
    EXPECT_EQ(s.with_context("model.gguf").message(), "model.gguf: tensor 'x' ends past the file");
}

TEST(Status, AssignOrReturnPropagates) {
    int out = 0;
    EXPECT_TRUE(use_assign(3, &out).ok());
    EXPECT_EQ(out, 3);
    Status s = use_assign(-1, &out);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
}

TEST(DType, GgmlIdsAndSizes) {
    EXPECT_EQ(dtype_from_ggml_id(12), DType::kQ4_K);
    EXPECT_FALSE(dtype_from_ggml_id(4).has_value());  // removed Q4_2
    EXPECT_FALSE(dtype_from_ggml_id(1000).has_value());
    EXPECT_EQ(dtype_row_bytes(DType::kQ6_K, 512), 420u);
    EXPECT_EQ(dtype_from_name("q8_0"), DType::kQ8_0);
}

TEST(Half, RoundTripsEveryFp16) {
    for (uint32_t h = 0; h < 65536; ++h) {
        const float f = fp16_to_f32(static_cast<uint16_t>(h));
        if (f != f) continue;  // NaN payloads are not preserved bit-for-bit
        EXPECT_EQ(f32_to_fp16(f), h) << h;
    }
}

TEST(Half, RoundsToNearestEven) {
    EXPECT_EQ(f32_to_fp16(65520.0f), 0x7c00);  // halfway to inf rounds up
    EXPECT_EQ(f32_to_fp16(65519.0f), 0x7bff);
    EXPECT_EQ(f32_to_fp16(1.0f + 1.0f / 2048), 0x3c00);  // tie → even
    EXPECT_EQ(f32_to_fp16(1.0f + 3.0f / 2048), 0x3c02);  // tie → even (up)
    EXPECT_EQ(f32_to_fp16(2.9802322e-8f), 0x0000);       // 2^-25 ties to zero
    EXPECT_EQ(f32_to_fp16(3.0e-8f), 0x0001);
    EXPECT_EQ(f32_to_bf16(1.0f), 0x3f80);
    EXPECT_EQ(bf16_to_f32(0x3f80), 1.0f);
}

}  // namespace
}  // namespace unicorn
