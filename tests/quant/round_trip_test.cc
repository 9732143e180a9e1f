// Quantize → dequantize round trips on random data, per type, with a bound on the relative RMSE
// sqrt(Σ(y−x)²/Σx²).
//
// Where the bounds come from. A uniform quantizer with step Δ has RMS error Δ/√12. A b-bit
// block scaled to its max-abs element has Δ ≈ 2·amax/2^b, and for N(0,1) data amax ≈ 2.2σ
// over 32 elements, so relative RMSE ≈ 2·2.2/(2^b·√12) ≈ 1.3/2^b: 8% at 4 bits (Q4_0), 4% at
// 5 (Q5_0), 0.5% at 8 (Q8_0). The min/max types (Q4_1, Q5_1) spend their 2^b levels on
// [min, max] and do slightly better; the K-quants fit each 16/32-element sub-block's scale
// (and min) by least squares, which keeps them at or below the same 1.3/2^b for their code
// width: Q6_K ~2%, Q5_K ~4%, Q4_K ~7%, Q3_K ~16%, Q2_K ~30% (1.3/4 ≈ 33% before the fit).
// Heavy-tailed data (Student-t, 3 dof, plus ×20 outliers) costs more for the types whose scale
// is set by a block maximum, because one outlier stretches the step for its whole block;
// least-squares fits (K-quants) and per-block min/max (Q4_1, Q5_1) suffer less.
//
// The bounds are the values measured on these seeds (listed above kBounds) with ~25% margin:
// a regression that loses a fraction of a bit fails.

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "quant_test_util.h"

namespace unicorn::quant {
namespace {

using testing::dequantize;
using testing::heavy_tailed_data;
using testing::normal_data;
using testing::quantize;
using testing::rel_rmse;

struct Bound {
    double normal;
    double heavy;
};

// Bounds on relative RMSE, {N(0,1), heavy-tailed}, holding for every n tested. Measured on
// these seeds (ggml-identical quantizers), worst over n = one block / 17 blocks / 4096:
//   F16 2.2e-4/1.7e-4   BF16 1.7e-3/1.6e-3   Q8_0 = Q8_1 0.54%/1.19%
//   Q4_0 8.9%/17.8%     Q4_1 8.3%/12.8%      Q5_0 4.4%/8.7%     Q5_1 3.8%/5.6%
//   Q2_K 30.6%/31.2%    Q3_K 15.6%/14.3%     Q4_K 7.2%/10.7%    Q5_K 3.7%/5.6%
//   Q6_K 1.8%/3.4%      Q8_K 0.71%/3.0% (one scale per 256 elements: outliers cost most)
// Heavy-tailed samples are noisy (a few outliers decide the whole sum), hence their spread.
const std::map<DType, Bound>& bounds() {
    static const std::map<DType, Bound> kBounds = {
        {DType::kF32, {0.0, 0.0}},
        {DType::kF16, {4e-4, 4e-4}},   // 11-bit significand: relative step 2^-11..2^-10
        {DType::kBF16, {3e-3, 3e-3}},  // 8-bit significand: relative step 2^-8..2^-7
        {DType::kQ4_0, {0.11, 0.22}},
        {DType::kQ4_1, {0.105, 0.16}},
        {DType::kQ5_0, {0.055, 0.11}},
        {DType::kQ5_1, {0.048, 0.07}},
        {DType::kQ8_0, {0.007, 0.015}},
        {DType::kQ8_1, {0.007, 0.015}},
        {DType::kQ2_K, {0.38, 0.39}},
        {DType::kQ3_K, {0.195, 0.18}},
        {DType::kQ4_K, {0.09, 0.135}},
        {DType::kQ5_K, {0.046, 0.07}},
        {DType::kQ6_K, {0.0225, 0.043}},
        {DType::kQ8_K, {0.009, 0.038}},
    };
    return kBounds;
}

class RoundTrip : public ::testing::TestWithParam<DType> {};

TEST_P(RoundTrip, EmptyRow) {
    const DType t = GetParam();
    std::vector<float> x;
    std::vector<uint8_t> q;
    quantize_row(t, x.data(), q.data(), 0);
    dequantize_row(t, q.data(), x.data(), 0);
    EXPECT_EQ(dot_row_ref(t, q.data(), x.data(), 0), 0.0);
}

TEST_P(RoundTrip, RelativeRmseWithinBound) {
    const DType t = GetParam();
    const Bound b = bounds().at(t);
    const int64_t bs = dtype_block_size(t) == 1 ? 32 : dtype_block_size(t);
    for (int64_t n : {bs, 4096 / bs * bs, 16 * bs + bs}) {
        for (bool heavy : {false, true}) {
            const uint64_t seed = static_cast<uint64_t>(n) * 7919 + (heavy ? 1 : 0);
            const auto x = heavy ? heavy_tailed_data(static_cast<size_t>(n), seed)
                                 : normal_data(static_cast<size_t>(n), seed);
            const auto y = dequantize(t, quantize(t, x), n);
            EXPECT_LE(rel_rmse(x, y), heavy ? b.heavy : b.normal)
                << dtype_name(t) << " n=" << n << (heavy ? " heavy" : " normal");
        }
    }
}

TEST_P(RoundTrip, ZerosStayZero) {
    const DType t = GetParam();
    const int64_t n = 2 * (dtype_block_size(t) == 1 ? 32 : dtype_block_size(t));
    const std::vector<float> x(static_cast<size_t>(n), 0.0f);
    for (float v : dequantize(t, quantize(t, x), n)) EXPECT_EQ(v, 0.0f) << dtype_name(t);
}

TEST_P(RoundTrip, ConstantBlock) {
    // All-equal input: the symmetric types hit it exactly up to the fp16 scale (q = ±max);
    // the offset types store it in the min. Either way the error is fp16 rounding of a scale.
    // Magnitudes are kept where the K-quants' fp16 super-scale (value / (15·63) for Q4_K)
    // stays a normal fp16: below ~0.05 it turns subnormal and loses bits, in ggml too.
    const DType t = GetParam();
    const int64_t n = dtype_block_size(t) == 1 ? 32 : dtype_block_size(t);
    for (float c : {0.75f, -1.5f, 40.0f}) {
        const std::vector<float> x(static_cast<size_t>(n), c);
        const auto y = dequantize(t, quantize(t, x), n);
        EXPECT_LE(rel_rmse(x, y), 2e-3) << dtype_name(t) << " c=" << c;
    }
}

INSTANTIATE_TEST_SUITE_P(AllTypes, RoundTrip, ::testing::ValuesIn(testing::kAllTypes),
                         [](const ::testing::TestParamInfo<DType>& info) {
                             return std::string(dtype_name(info.param));
                         });

}  // namespace
}  // namespace unicorn::quant
