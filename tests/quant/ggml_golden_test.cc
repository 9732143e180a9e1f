// Bit-identity with ggml itself, against bytes written by ggml's own reference functions
// (tests/data/quant/README.md says how they were produced):
//  - QUANT: quantize_row_*_ref on golden_input(4096) for every quantized type;
//  - DQBLK/DQOUT: random-but-valid blocks and ggml's dequantize_row_* of them;
//  - F16/BF16: fp32 → fp16/bf16 of 4096 spread bit patterns (NaN, inf, subnormals included);
//  - F16HASH: FNV-1a of fp16 → fp32 over all 65536 patterns.

#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "core/half.h"
#include "quant_test_util.h"

namespace unicorn::quant {
namespace {

using testing::GoldenRecord;

const std::vector<GoldenRecord>& golden() {
    static const std::vector<GoldenRecord> kRecords =
        testing::read_golden(std::string(UNICORN_TEST_DATA) + "/quant/ggml_golden.bin");
    return kRecords;
}

const GoldenRecord* find(const std::string& tag, DType t) {
    for (const GoldenRecord& r : golden()) {
        if (r.tag == tag && r.type == static_cast<uint32_t>(t)) return &r;
    }
    return nullptr;
}

TEST(GgmlGolden, FileIsPresent) { ASSERT_FALSE(golden().empty()) << "tests/data/quant missing"; }

// First differing block, for a readable failure.
std::string first_diff(DType t, const std::vector<uint8_t>& got, const std::vector<uint8_t>& want) {
    const size_t bb = dtype_block_bytes(t);
    for (size_t i = 0; i < want.size(); ++i) {
        if (got[i] != want[i]) {
            return "block " + std::to_string(i / bb) + " byte " + std::to_string(i % bb) +
                   ": got " + std::to_string(got[i]) + " want " + std::to_string(want[i]);
        }
    }
    return "";
}

class GgmlQuantize : public ::testing::TestWithParam<DType> {};

TEST_P(GgmlQuantize, BytesMatchReferenceQuantizer) {
    const DType t = GetParam();
    const GoldenRecord* r = find("QUANT", t);
    ASSERT_NE(r, nullptr) << dtype_name(t);
    const int64_t n = static_cast<int64_t>(r->n);
    const auto x = testing::golden_input(n, 0x5eed);
    std::vector<uint8_t> q(dtype_row_bytes(t, n));
    quantize_row(t, x.data(), q.data(), n);
    ASSERT_EQ(q.size(), r->data.size());
    EXPECT_TRUE(q == r->data) << dtype_name(t) << ": " << first_diff(t, q, r->data);
}

INSTANTIATE_TEST_SUITE_P(QuantTypes, GgmlQuantize, ::testing::ValuesIn(testing::kQuantTypes),
                         [](const ::testing::TestParamInfo<DType>& info) {
                             return std::string(dtype_name(info.param));
                         });

class GgmlDequantize : public ::testing::TestWithParam<DType> {};

TEST_P(GgmlDequantize, FloatsMatchBitForBit) {
    const DType t = GetParam();
    const GoldenRecord* blocks = find("DQBLK", t);
    const GoldenRecord* want = find("DQOUT", t);
    ASSERT_NE(blocks, nullptr) << dtype_name(t);
    ASSERT_NE(want, nullptr) << dtype_name(t);
    const int64_t n = static_cast<int64_t>(blocks->n);
    ASSERT_EQ(want->data.size(), static_cast<size_t>(n) * sizeof(float));
    std::vector<float> y(static_cast<size_t>(n));
    dequantize_row(t, blocks->data.data(), y.data(), n);
    int mismatches = 0;
    for (int64_t i = 0; i < n; ++i) {
        uint32_t w;
        std::memcpy(&w, want->data.data() + 4 * i, 4);
        if (bits_from_f32(y[static_cast<size_t>(i)]) != w && ++mismatches <= 5) {
            ADD_FAILURE() << dtype_name(t) << " element " << i << ": got "
                          << y[static_cast<size_t>(i)] << " want " << f32_from_bits(w);
        }
    }
    EXPECT_EQ(mismatches, 0);
}

// ggml has no Q8_1 dequantizer; every other quantized type is covered.
INSTANTIATE_TEST_SUITE_P(QuantTypes, GgmlDequantize,
                         ::testing::Values(DType::kQ4_0, DType::kQ4_1, DType::kQ5_0, DType::kQ5_1,
                                           DType::kQ8_0, DType::kQ2_K, DType::kQ3_K, DType::kQ4_K,
                                           DType::kQ5_K, DType::kQ6_K, DType::kQ8_K),
                         [](const ::testing::TestParamInfo<DType>& info) {
                             return std::string(dtype_name(info.param));
                         });

TEST(GgmlGolden, HalfConversionsMatch) {
    for (DType t : {DType::kF16, DType::kBF16}) {
        const GoldenRecord* r = find(t == DType::kF16 ? "F16" : "BF16", t);
        ASSERT_NE(r, nullptr);
        std::vector<float> x(r->n);
        for (uint32_t i = 0; i < r->n; ++i) x[i] = f32_from_bits(i * 2654435761u);
        std::vector<uint8_t> got(r->n * 2);
        quantize_row(t, x.data(), got.data(), static_cast<int64_t>(r->n));
        EXPECT_TRUE(got == r->data) << dtype_name(t) << ": " << first_diff(t, got, r->data);
    }
    const GoldenRecord* h = find("F16HASH", DType::kF16);
    ASSERT_NE(h, nullptr);
    uint64_t want;
    std::memcpy(&want, h->data.data(), 8);
    uint64_t hash = 1469598103934665603ULL;
    for (uint32_t i = 0; i < 65536; ++i) {
        const float f = fp16_to_f32(static_cast<uint16_t>(i));
        const uint32_t bits = std::isnan(f) ? 0x7fc00000u : bits_from_f32(f);
        for (int k = 0; k < 4; ++k) {
            hash ^= (bits >> (8 * k)) & 0xffu;
            hash *= 1099511628211ULL;
        }
    }
    EXPECT_EQ(hash, want);
}

}  // namespace
}  // namespace unicorn::quant
