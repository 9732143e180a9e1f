// Importance-weighted quantization (quantize_row_weighted): on the metric it optimises —
// Σ importance·(x − q)², the error a dot product with activations of those mean squares sees —
// it must do no worse than the unweighted quantizer, and much better when a few columns carry
// most of the importance. Byte equality with llama-quantize --imatrix is tested end to end in
// tests/models/quantize_test.cc (MatchesLlamaQuantizeImatrix).
#include <gtest/gtest.h>

#include <random>

#include "quant_test_util.h"

namespace unicorn::quant {
namespace {

using testing::dequantize;
using testing::heavy_tailed_data;
using testing::normal_data;

constexpr DType kWeighted[] = {DType::kQ4_0, DType::kQ4_1, DType::kQ5_0, DType::kQ5_1, DType::kQ2_K,
                               DType::kQ3_K, DType::kQ4_K, DType::kQ5_K, DType::kQ6_K};
constexpr int64_t kCols = 512;
constexpr int kRows = 48;

// Mean squared activations as real models have them: log-normal over ~4 decades, and a few
// columns ("massive activations") far above the rest.
std::vector<float> importance(uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> dist(0.0f, 1.5f);
    std::vector<float> w(kCols);
    for (float& v : w) v = std::exp(dist(rng));
    for (int k = 0; k < 4; ++k) w[(seed * 37 + 101 * k) % kCols] *= 500.0f;
    return w;
}

double weighted_error(const std::vector<float>& x, const std::vector<float>& y,
                      const std::vector<float>& w) {
    double e = 0.0;
    for (size_t i = 0; i < x.size(); ++i) {
        const double d = static_cast<double>(y[i]) - static_cast<double>(x[i]);
        e += static_cast<double>(w[i % w.size()]) * d * d;
    }
    return e;
}

struct Errors {
    double weighted = 0, unweighted = 0;
};

// Σ over rows of the weighted error, with and without the importance.
Errors errors(DType t, bool heavy, uint64_t seed) {
    const std::vector<float> w = importance(seed);
    Errors e;
    for (int r = 0; r < kRows; ++r) {
        const std::vector<float> x =
            heavy ? heavy_tailed_data(kCols, seed * 1000 + r) : normal_data(kCols, seed * 1000 + r);
        std::vector<uint8_t> qw(dtype_row_bytes(t, kCols)), qu(qw.size());
        quantize_row_weighted(t, x.data(), qw.data(), kCols, w.data());
        quantize_row(t, x.data(), qu.data(), kCols);
        e.weighted += weighted_error(x, dequantize(t, qw, kCols), w);
        e.unweighted += weighted_error(x, dequantize(t, qu, kCols), w);
    }
    return e;
}

class WeightedQuant : public ::testing::TestWithParam<DType> {};

TEST_P(WeightedQuant, NoWorseThanUnweightedOnTheWeightedError) {
    const DType t = GetParam();
    for (bool heavy : {false, true}) {
        for (uint64_t seed : {1, 2}) {
            const Errors e = errors(t, heavy, seed);
            EXPECT_LE(e.weighted, e.unweighted)
                << dtype_name(t) << (heavy ? " heavy-tailed" : " normal") << " seed " << seed;
            // The point of the exercise: a real gain, not a tie (Q6_K's codes are fine
            // enough that the gain is smallest).
            EXPECT_LT(e.weighted, 0.97 * e.unweighted)
                << dtype_name(t) << (heavy ? " heavy-tailed" : " normal") << " seed " << seed;
        }
    }
}

TEST_P(WeightedQuant, StaysWithinTheTypesErrorBound) {
    // Weighting trades error between columns; the row as a whole must still be quantized
    // about as well as the type allows (relative RMSE no worse than 1.5× unweighted).
    const DType t = GetParam();
    const std::vector<float> w = importance(3);
    const std::vector<float> x = heavy_tailed_data(kCols, 77);
    std::vector<uint8_t> qw(dtype_row_bytes(t, kCols));
    quantize_row_weighted(t, x.data(), qw.data(), kCols, w.data());
    const double e_w = testing::rel_rmse(x, dequantize(t, qw, kCols));
    const double e_u = testing::rel_rmse(x, dequantize(t, testing::quantize(t, x), kCols));
    EXPECT_LE(e_w, 1.5 * e_u) << dtype_name(t);
}

INSTANTIATE_TEST_SUITE_P(Types, WeightedQuant, ::testing::ValuesIn(kWeighted),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

TEST(WeightedQuant, NullImportanceOrUnweightedTypeIsTheReferenceQuantizer) {
    const std::vector<float> x = heavy_tailed_data(kCols, 5);
    const std::vector<float> w = importance(5);
    for (DType t : testing::kAllTypes) {
        if (dtype_block_size(t) > kCols || kCols % dtype_block_size(t) != 0) continue;
        const std::vector<uint8_t> ref = testing::quantize(t, x);
        std::vector<uint8_t> q(ref.size());
        quantize_row_weighted(t, x.data(), q.data(), kCols, nullptr);
        EXPECT_EQ(q, ref) << dtype_name(t) << " without importance";
        if (!has_weighted_quantizer(t)) {
            quantize_row_weighted(t, x.data(), q.data(), kCols, w.data());
            EXPECT_EQ(q, ref) << dtype_name(t) << " ignores importance, as ggml does";
        }
    }
    EXPECT_FALSE(has_weighted_quantizer(DType::kQ8_0));
    EXPECT_TRUE(has_weighted_quantizer(DType::kQ4_K));
}

TEST(WeightedQuant, AllZeroRowAndZeroImportance) {
    // Degenerate blocks must still decode to finite values: zeros in, zeros out; an all-zero
    // importance (a column never activated) must not divide by zero.
    const std::vector<float> zeros(kCols, 0.0f), w0(kCols, 0.0f);
    const std::vector<float> x = normal_data(kCols, 9);
    for (DType t : kWeighted) {
        std::vector<uint8_t> q(dtype_row_bytes(t, kCols));
        quantize_row_weighted(t, zeros.data(), q.data(), kCols, importance(1).data());
        for (float v : dequantize(t, q, kCols)) ASSERT_EQ(v, 0.0f) << dtype_name(t);
        quantize_row_weighted(t, x.data(), q.data(), kCols, w0.data());
        for (float v : dequantize(t, q, kCols)) ASSERT_TRUE(std::isfinite(v)) << dtype_name(t);
    }
}

}  // namespace
}  // namespace unicorn::quant
