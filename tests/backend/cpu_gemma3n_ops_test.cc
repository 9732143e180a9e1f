// The Gemma 3n CPU kernels (mul, scale, gaussian_topk, match_magnitude, altup_predict,
// altup_correct) against their scalar references (ops/ref), on each ISA level the CPU has,
// over odd sizes (rows 0, 1, 7; cols 1, 7, 33, 256), strided inputs and A ∈ {1, 2, 4}
// streams. Outputs are poisoned with NaN first so an unwritten element fails.
#include <gtest/gtest.h>

#include <random>

#include "backend/cpu/kernels/kernels.h"
#include "backend/isa_test.h"
#include "core/cpu_features.h"
#include "ops/ref/reference.h"
#include "test_util.h"

namespace unicorn {
namespace {

using testing::max_abs;
using testing::max_abs_diff;
using testing::poisoned_f32;
using testing::random_f32;

constexpr int64_t kRows[] = {0, 1, 7};
constexpr int64_t kCols[] = {1, 7, 33, 256};

class CpuGemma3nKernelTest : public testing::IsaTest {
  protected:
    CpuGemma3nKernelTest() : IsaTest(4321) {}
};

TEST_P(CpuGemma3nKernelTest, MulMatchesReferenceFullAndBroadcast) {
    for (int64_t rows : kRows) {
        for (int64_t cols : kCols) {
            Tensor a = random_f32(rng_, rows, cols, 3.0f, /*pad_cols=*/5);
            Tensor full = random_f32(rng_, rows, cols, 2.0f, /*pad_cols=*/3);
            Tensor one_row = random_f32(rng_, 1, cols, 2.0f, /*pad_cols=*/2);
            Tensor rank1 = random_f32(rng_, 1, cols).reshape(Shape{cols});
            for (const Tensor& b : {full, one_row, rank1}) {
                Tensor got = poisoned_f32(rows, cols), want = poisoned_f32(rows, cols);
                cpu::mul(pool_, a, b, got);
                ops::ref::mul(a, b, want);
                // One fp32 product, correctly rounded on both sides: exact agreement.
                EXPECT_EQ(max_abs_diff(got, want), 0.0)
                    << rows << "x" << cols << " b " << b.describe();
            }
        }
    }
}

TEST_P(CpuGemma3nKernelTest, ScaleMatchesReference) {
    for (int64_t rows : kRows) {
        for (int64_t cols : kCols) {
            Tensor x = random_f32(rng_, rows, cols, 3.0f, /*pad_cols=*/4);
            for (float s : {0.0f, -1.5f, 0.0883883f}) {
                Tensor got = poisoned_f32(rows, cols), want = poisoned_f32(rows, cols);
                cpu::scale(pool_, x, s, got);
                ops::ref::scale(x, s, want);
                // One fp32 product: exact agreement.
                EXPECT_EQ(max_abs_diff(got, want), 0.0) << rows << "x" << cols << " s " << s;
            }
        }
    }
}

TEST_P(CpuGemma3nKernelTest, GaussianTopkMatchesReference) {
    for (int64_t rows : kRows) {
        for (int64_t cols : kCols) {
            // A non-zero mean per row so the centring matters.
            Tensor x = random_f32(rng_, rows, cols, 2.0f, /*pad_cols=*/7);
            for (int64_t r = 0; r < rows; ++r)
                for (int64_t c = 0; c < cols; ++c) x.row<float>(r)[c] += 0.5f * (r - 3);
            for (float z : {1.6448536f, 0.0f, -0.5f}) {
                Tensor got = poisoned_f32(rows, cols), want = poisoned_f32(rows, cols);
                cpu::gaussian_topk(pool_, x, z, got);
                ops::ref::gaussian_topk(x, z, want);
                // Statistics in double on both sides; the kernel rounds the cutoff to fp32 and
                // subtracts in fp32: two roundings of magnitudes up to |x| + |cutoff| (< 3·max|x|
                // for |z| <= 1.65), i.e. < 2·3·2^-24·max|x| ≈ 4e-7·max|x|.
                EXPECT_LE(max_abs_diff(got, want), 1e-6 * (1 + max_abs(x)))
                    << rows << "x" << cols << " z " << z;
            }
        }
    }
}

TEST_P(CpuGemma3nKernelTest, GaussianTopkKeepsOnlyTheUpperTail) {
    // 1000 draws of N(5, 2²): about 5% (the z = 1.645 tail) survive, each shifted down.
    Tensor x = random_f32(rng_, 1, 1000, 2.0f);
    for (int64_t c = 0; c < 1000; ++c) x.row<float>(0)[c] += 5.0f;
    Tensor got = poisoned_f32(1, 1000);
    cpu::gaussian_topk(pool_, x, 1.6448536f, got);
    int kept = 0;
    for (int64_t c = 0; c < 1000; ++c) {
        const float v = got.row<float>(0)[c];
        ASSERT_GE(v, 0.0f);
        if (v > 0) ++kept;
    }
    EXPECT_GT(kept, 25);
    EXPECT_LT(kept, 80);
}

TEST_P(CpuGemma3nKernelTest, MatchMagnitudeMatchesReference) {
    for (int64_t rows : kRows) {
        for (int64_t cols : kCols) {
            Tensor x = random_f32(rng_, rows, cols, 3.0f, /*pad_cols=*/5);
            Tensor target = random_f32(rng_, rows, cols, 0.5f, /*pad_cols=*/2);
            // Row 1 all zero and row 2 tiny: both under the floor, so the floor sets the gain.
            for (int64_t c = 0; c < cols && rows > 2; ++c) {
                x.row<float>(1)[c] = 0.0f;
                x.row<float>(2)[c] *= 1e-4f;
            }
            for (float floor : {1e-5f, 0.0f}) {
                if (floor == 0.0f && rows > 2) continue;  // 0/0 on the zero row, by definition
                Tensor got = poisoned_f32(rows, cols), want = poisoned_f32(rows, cols);
                cpu::match_magnitude(pool_, x, target, floor, got);
                ops::ref::match_magnitude(x, target, floor, want);
                // Mean squares in double on both sides; the kernel rounds the gain to fp32 and
                // multiplies in fp32: two roundings, relative error <= 2^-23 ≈ 1.2e-7.
                EXPECT_LE(max_abs_diff(got, want), 2.5e-7 * (1e-6 + max_abs(want)))
                    << rows << "x" << cols << " floor " << floor;
            }
        }
    }
}

TEST_P(CpuGemma3nKernelTest, AltupPredictMatchesReference) {
    for (int a : {1, 2, 4}) {
        for (int64_t t : kRows) {
            for (int64_t d : kCols) {
                Tensor streams = random_f32(rng_, a * t, d, 2.0f, /*pad_cols=*/3);
                Tensor coefs = random_f32(rng_, t, int64_t{a} * a, 0.5f, /*pad_cols=*/1);
                Tensor got = poisoned_f32(a * t, d), want = poisoned_f32(a * t, d);
                cpu::altup_predict(pool_, streams, coefs, a, got);
                ops::ref::altup_predict(streams, coefs, a, want);
                // fp32 mix of A + 1 terms (A products, A adds, maybe fused), each partial sum
                // bounded by Σ|c|·|X| + |X| ≲ 3·max|X| for |c| ~ 0.5: error
                // < (2A + 1)·2^-24·3·max|X| ≈ 1.6e-6·max|X| at A = 4.
                EXPECT_LE(max_abs_diff(got, want), 2e-6 * (1 + max_abs(streams)))
                    << "A " << a << " T " << t << " D " << d;
            }
        }
    }
}

TEST_P(CpuGemma3nKernelTest, AltupCorrectMatchesReference) {
    for (int a : {1, 2, 4}) {
        for (int64_t t : kRows) {
            for (int64_t d : kCols) {
                Tensor pred = random_f32(rng_, a * t, d, 2.0f, /*pad_cols=*/3);
                Tensor actual = random_f32(rng_, t, d, 2.0f, /*pad_cols=*/6);
                Tensor coefs = random_f32(rng_, t, a, 0.5f, /*pad_cols=*/2);
                Tensor got = poisoned_f32(a * t, d), want = poisoned_f32(a * t, d);
                cpu::altup_correct(pool_, pred, actual, coefs, a, got);
                ops::ref::altup_correct(pred, actual, coefs, a, want);
                // fp32: c + 1, actual − pred0, the product and the sum — four roundings of
                // magnitudes ≲ 2·(|pred| + |actual|): < 8·2^-24·2·max ≈ 1e-6·max.
                EXPECT_LE(max_abs_diff(got, want),
                          1e-6 * (1 + std::max(max_abs(pred), max_abs(actual))))
                    << "A " << a << " T " << t << " D " << d;
            }
        }
    }
}

TEST_P(CpuGemma3nKernelTest, AltupWithOneStreamAndZeroCoefsIsIdentity) {
    // A = 1, c = 0: predict gives X + 0·X = X; correct gives pred + (actual − pred) = actual.
    Tensor x = random_f32(rng_, 5, 33, 1.0f, /*pad_cols=*/2);
    Tensor actual = random_f32(rng_, 5, 33);
    Tensor zero = Tensor::zeros(DType::kF32, Shape{5, 1});
    Tensor pred = poisoned_f32(5, 33), corr = poisoned_f32(5, 33);
    cpu::altup_predict(pool_, x, zero, 1, pred);
    EXPECT_EQ(max_abs_diff(pred, x), 0.0);
    Tensor minus_one = Tensor::empty(DType::kF32, Shape{5, 1});
    for (int64_t r = 0; r < 5; ++r) minus_one.row<float>(r)[0] = -1.0f;
    cpu::altup_correct(pool_, pred, actual, minus_one, 1, corr);
    EXPECT_EQ(max_abs_diff(corr, pred), 0.0);  // gain 0: the prediction stands
    cpu::altup_correct(pool_, pred, actual, zero, 1, corr);
    EXPECT_LE(max_abs_diff(corr, actual), 1e-6);  // gain 1: the actual output
}

TEST_P(CpuGemma3nKernelTest, ManyRowsSplitAcrossThreads) {
    // Enough rows × cols that for_rows hands out several chunks, so the (stream, token)
    // decomposition of a row index runs on more than one thread. Tolerances as above.
    constexpr int kA = 4;
    const int64_t t = 75, d = 1000;
    Tensor x = random_f32(rng_, kA * t, d, 2.0f, /*pad_cols=*/1);
    Tensor y = random_f32(rng_, kA * t, d, 1.0f);
    Tensor pc = random_f32(rng_, t, kA * kA, 0.5f), cc = random_f32(rng_, t, kA, 0.5f);
    Tensor got = poisoned_f32(kA * t, d), want = poisoned_f32(kA * t, d);
    cpu::mul(pool_, x, y, got);
    ops::ref::mul(x, y, want);
    EXPECT_EQ(max_abs_diff(got, want), 0.0);
    cpu::gaussian_topk(pool_, x, 1.6448536f, got);
    ops::ref::gaussian_topk(x, 1.6448536f, want);
    EXPECT_LE(max_abs_diff(got, want), 1e-6 * (1 + max_abs(x)));
    cpu::match_magnitude(pool_, x, y, 1e-5f, got);
    ops::ref::match_magnitude(x, y, 1e-5f, want);
    EXPECT_LE(max_abs_diff(got, want), 2.5e-7 * (1e-6 + max_abs(want)));
    cpu::altup_predict(pool_, x, pc, kA, got);
    ops::ref::altup_predict(x, pc, kA, want);
    EXPECT_LE(max_abs_diff(got, want), 2e-6 * (1 + max_abs(x)));
    Tensor actual = y.slice_rows(0, t);
    cpu::altup_correct(pool_, x, actual, cc, kA, got);
    ops::ref::altup_correct(x, actual, cc, kA, want);
    EXPECT_LE(max_abs_diff(got, want), 1e-6 * (1 + std::max(max_abs(x), max_abs(actual))));
}

INSTANTIATE_TEST_SUITE_P(Isa, CpuGemma3nKernelTest,
                         ::testing::Values(IsaLevel::kScalar, IsaLevel::kAvx2, IsaLevel::kAvx512),
                         [](const auto& info) { return std::string(isa_name(info.param)); });

}  // namespace
}  // namespace unicorn
