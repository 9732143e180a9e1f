// Validation of the Gemma 3n ops (mul, scale, gaussian_topk, match_magnitude, altup_predict,
// altup_correct): well-formed arguments (including strided views and broadcast rows) pass,
// and each kind of bad argument gives invalid_argument, never a crash.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "ops/op_kind.h"
#include "ops/params.h"

namespace unicorn::ops {
namespace {

Tensor f32(std::initializer_list<int64_t> dims) { return Tensor::zeros(DType::kF32, Shape(dims)); }

// Columns [0, cols) of a [rows, cols + 3] tensor: a strided view.
Tensor strided(int64_t rows, int64_t cols) {
    return Tensor::zeros(DType::kF32, Shape{rows, cols + 3}).slice_cols(0, cols);
}

constexpr float kNan = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

void expect_invalid(const Status& s, const char* what) {
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << what << ": " << s.message();
    EXPECT_FALSE(s.message().empty()) << what;
}

TEST(Gemma3nValidationTest, OpNamesAreDistinct) {
    EXPECT_STREQ(op_name(OpKind::kMul), "mul");
    EXPECT_STREQ(op_name(OpKind::kScale), "scale");
    EXPECT_STREQ(op_name(OpKind::kGaussianTopk), "gaussian_topk");
    EXPECT_STREQ(op_name(OpKind::kMatchMagnitude), "match_magnitude");
    EXPECT_STREQ(op_name(OpKind::kAltupPredict), "altup_predict");
    EXPECT_STREQ(op_name(OpKind::kAltupCorrect), "altup_correct");
    EXPECT_STREQ(op_name(OpKind::kAltupCoefs), "altup_coefs");
}

TEST(Gemma3nValidationTest, AltupCoefs) {
    // T = 3, D = 33, A = 4 router rows, J = 16 coefficients.
    const Tensor x = strided(3, 33), nw = f32({33}), rw = f32({4, 33}), cw = f32({16, 4});
    const Tensor out = f32({3, 16});
    EXPECT_TRUE(validate_altup_coefs(x, nw, rw, cw, out).ok());
    EXPECT_TRUE(validate_altup_coefs(x, nw, Tensor::zeros(DType::kBF16, Shape{4, 33}),
                                     Tensor::zeros(DType::kF16, Shape{16, 4}), out)
                    .ok());
    expect_invalid(validate_altup_coefs(x, f32({32}), rw, cw, out), "norm width");
    expect_invalid(validate_altup_coefs(x, nw, f32({4, 32}), cw, out), "router cols");
    expect_invalid(validate_altup_coefs(x, nw, rw, f32({16, 3}), out), "mixer cols");
    expect_invalid(validate_altup_coefs(x, nw, rw, cw, f32({3, 4})), "output cols");
    expect_invalid(validate_altup_coefs(x, nw, rw, cw, f32({2, 16})), "output rows");
    expect_invalid(validate_altup_coefs(x, nw, f32({4}), cw, out), "rank-1 router");
}

TEST(Gemma3nValidationTest, Mul) {
    const Tensor a = strided(7, 33), out = f32({7, 33});
    EXPECT_TRUE(validate_mul(a, strided(7, 33), out).ok());
    EXPECT_TRUE(validate_mul(a, f32({1, 33}), out).ok());
    EXPECT_TRUE(validate_mul(a, f32({33}), out).ok());
    EXPECT_TRUE(validate_mul(f32({0, 33}), f32({1, 33}), f32({0, 33})).ok());
    expect_invalid(validate_mul(a, f32({7, 32}), out), "cols differ");
    expect_invalid(validate_mul(a, f32({3, 33}), out), "rows neither T nor 1");
    expect_invalid(validate_mul(a, f32({32}), out), "rank-1 b of the wrong width");
    expect_invalid(validate_mul(a, f32({7, 1, 33}), out), "rank-3 b");
    expect_invalid(validate_mul(a, f32({7, 33}), f32({7, 32})), "output shape");
    expect_invalid(validate_mul(a, Tensor::zeros(DType::kF16, Shape{1, 33}), out), "F16 b");
    expect_invalid(validate_mul(a, Tensor::zeros(DType::kF16, Shape{33}), out), "F16 rank-1 b");
    expect_invalid(validate_mul(f32({33}), f32({33}), f32({1, 33})), "rank-1 a");
    expect_invalid(validate_mul(a, Tensor(), out), "undefined b");
}

// add takes b of a's shape or repeating every B rows (AltUp's A−1 streams get one update).
TEST(Gemma3nValidationTest, AddRepeatsRowsThatDivide) {
    const Tensor a = strided(6, 33), out = f32({6, 33});
    EXPECT_TRUE(validate_add(a, strided(6, 33), out).ok());
    EXPECT_TRUE(validate_add(a, f32({2, 33}), out).ok());
    EXPECT_TRUE(validate_add(a, f32({1, 33}), out).ok());
    EXPECT_TRUE(validate_add(f32({0, 33}), f32({0, 33}), f32({0, 33})).ok());
    expect_invalid(validate_add(a, f32({4, 33}), out), "4 rows do not divide 6");
    expect_invalid(validate_add(a, f32({0, 33}), out), "no rows to repeat");
    expect_invalid(validate_add(a, f32({6, 32}), out), "cols differ");
    expect_invalid(validate_add(a, f32({6, 33}), f32({6, 32})), "output shape");
    expect_invalid(validate_add(a, f32({33}), out), "rank-1 b");
}

TEST(Gemma3nValidationTest, RmsNormResidualIsShapedLikeX) {
    const Tensor x = strided(7, 33), w = f32({33}), out = f32({7, 33}), res = strided(7, 33);
    EXPECT_TRUE(validate_rms_norm(x, w, out, &res).ok());
    const Tensor short_res = f32({6, 33}), narrow = f32({7, 32});
    expect_invalid(validate_rms_norm(x, w, out, &short_res), "residual rows");
    expect_invalid(validate_rms_norm(x, w, out, &narrow), "residual cols");
}

TEST(Gemma3nValidationTest, Scale) {
    EXPECT_TRUE(validate_scale(strided(7, 33), 0.5f, f32({7, 33})).ok());
    EXPECT_TRUE(validate_scale(strided(7, 33), 0.0f, f32({7, 33})).ok());
    expect_invalid(validate_scale(f32({7, 33}), kNan, f32({7, 33})), "NaN factor");
    expect_invalid(validate_scale(f32({7, 33}), kInf, f32({7, 33})), "inf factor");
    expect_invalid(validate_scale(f32({7, 33}), 2.0f, f32({7, 34})), "output shape");
    expect_invalid(validate_scale(Tensor::zeros(DType::kBF16, Shape{7, 33}), 2.0f, f32({7, 33})),
                   "BF16 input");
}

TEST(Gemma3nValidationTest, GaussianTopk) {
    EXPECT_TRUE(validate_gaussian_topk(strided(7, 33), 1.6448536f, f32({7, 33})).ok());
    EXPECT_TRUE(validate_gaussian_topk(f32({0, 33}), 0.0f, f32({0, 33})).ok());
    expect_invalid(validate_gaussian_topk(f32({7, 33}), kNan, f32({7, 33})), "NaN z");
    expect_invalid(validate_gaussian_topk(f32({7, 33}), -kInf, f32({7, 33})), "-inf z");
    expect_invalid(validate_gaussian_topk(f32({7, 33}), 1.0f, f32({33, 7})), "output shape");
    expect_invalid(validate_gaussian_topk(f32({33}), 1.0f, f32({33})), "rank-1 input");
}

TEST(Gemma3nValidationTest, MatchMagnitude) {
    const Tensor x = strided(7, 33), out = f32({7, 33});
    EXPECT_TRUE(validate_match_magnitude(x, strided(7, 33), 1e-5f, out).ok());
    EXPECT_TRUE(validate_match_magnitude(x, f32({7, 33}), 0.0f, out).ok());
    expect_invalid(validate_match_magnitude(x, f32({1, 33}), 1e-5f, out), "target rows");
    expect_invalid(validate_match_magnitude(x, f32({7, 32}), 1e-5f, out), "target cols");
    expect_invalid(validate_match_magnitude(x, f32({7, 33}), 1e-5f, f32({7, 32})), "output");
    expect_invalid(validate_match_magnitude(x, f32({7, 33}), -1e-5f, out), "negative floor");
    expect_invalid(validate_match_magnitude(x, f32({7, 33}), kNan, out), "NaN floor");
    expect_invalid(validate_match_magnitude(x, f32({7, 33}), kInf, out), "inf floor");
}

TEST(Gemma3nValidationTest, AltupPredict) {
    // A = 4, T = 3, D = 33.
    const Tensor streams = strided(12, 33), out = f32({12, 33});
    EXPECT_TRUE(validate_altup_predict(streams, f32({3, 16}), 4, out).ok());
    EXPECT_TRUE(validate_altup_predict(streams, strided(3, 16), 4, out).ok());
    EXPECT_TRUE(validate_altup_predict(f32({3, 33}), f32({3, 1}), 1, f32({3, 33})).ok());
    EXPECT_TRUE(validate_altup_predict(f32({0, 33}), f32({0, 16}), 4, f32({0, 33})).ok());
    expect_invalid(validate_altup_predict(streams, f32({3, 16}), 0, out), "A = 0");
    expect_invalid(validate_altup_predict(streams, f32({3, 16}), -4, out), "A < 0");
    expect_invalid(validate_altup_predict(f32({10, 33}), f32({3, 16}), 4, f32({10, 33})),
                   "rows not divisible by A");
    expect_invalid(validate_altup_predict(streams, f32({3, 4}), 4, out), "coefs [T, A]");
    expect_invalid(validate_altup_predict(streams, f32({12, 16}), 4, out), "coefs rows A·T");
    expect_invalid(validate_altup_predict(streams, f32({3, 16}), 4, f32({3, 33})), "output rows");
    expect_invalid(validate_altup_predict(streams, f32({3, 16}), 4, f32({12, 32})), "output cols");
    expect_invalid(
        validate_altup_predict(streams, Tensor::zeros(DType::kF16, Shape{3, 16}), 4, out),
        "F16 coefs");
    expect_invalid(validate_altup_predict(f32({12, 1, 33}), f32({3, 16}), 4, out), "rank 3");
}

TEST(Gemma3nValidationTest, AltupCorrect) {
    // A = 4, T = 3, D = 33.
    const Tensor pred = strided(12, 33), out = f32({12, 33});
    EXPECT_TRUE(validate_altup_correct(pred, strided(3, 33), f32({3, 4}), 4, out).ok());
    EXPECT_TRUE(
        validate_altup_correct(f32({0, 33}), f32({0, 33}), f32({0, 4}), 4, f32({0, 33})).ok());
    expect_invalid(validate_altup_correct(pred, f32({3, 33}), f32({3, 4}), 0, out), "A = 0");
    expect_invalid(
        validate_altup_correct(f32({11, 33}), f32({3, 33}), f32({3, 4}), 4, f32({11, 33})),
        "rows not divisible by A");
    expect_invalid(validate_altup_correct(pred, f32({12, 33}), f32({3, 4}), 4, out),
                   "actual has A·T rows");
    expect_invalid(validate_altup_correct(pred, f32({3, 32}), f32({3, 4}), 4, out), "actual cols");
    expect_invalid(validate_altup_correct(pred, f32({3, 33}), f32({3, 16}), 4, out),
                   "coefs [T, A·A]");
    expect_invalid(validate_altup_correct(pred, f32({3, 33}), f32({4, 4}), 4, out), "coefs rows");
    expect_invalid(validate_altup_correct(pred, f32({3, 33}), f32({3, 4}), 4, f32({3, 33})),
                   "output rows");
    expect_invalid(validate_altup_correct(pred, f32({3, 33}), f32({4}), 4, out), "rank-1 coefs");
    expect_invalid(validate_altup_correct(pred, Tensor::zeros(DType::kQ8_0, Shape{3, 32}),
                                          f32({3, 4}), 4, out),
                   "quantized actual");
}

}  // namespace
}  // namespace unicorn::ops
