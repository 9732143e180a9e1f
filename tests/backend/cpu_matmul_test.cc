// cpu::matmul (y = x·Wᵀ) against the scalar oracle quant::dot_row_ref (dequantize, accumulate
// in double), for every weight type × every ISA path the CPU has (scalar, AVX2, AVX-512),
// over shapes that break naive code: T and N in {0, 1, 7, 33, ...} (not multiples of any
// register block), K of one block, a few blocks, and an odd number of 32-blocks (the
// AVX-512 pair loop's tail); strided x and y views; a 3-D batch; 1..3 threads. y is poisoned
// with NaN first: every output must be written, and the padding of a strided y must not be.
//
// Tolerance, per output y[t, o] (ŵ = dequantized weight, reference exact in double):
//  * float weights (F32/F16/BF16: conversion to f32 is exact, x used as is): an f32 dot of K
//    terms, summed in any order, is off by at most (K-1)·u·Σ|ŵ_k·x_k| + u·Σ|ŵ_k·x_k| with
//    u = 2^-24 (Higham, γ_K), so tol = (K + 8)·2^-24·Σ|ŵ_k·x_k|.
//  * quantized weights: the SIMD paths round x to int8 with one scale per block of at most
//    256 elements, scale = amax(block)/127, round to nearest: |x_k - x̂_k| <= amax/254 (plus
//    the rounding of x·127/amax itself, < 2^-10 of that here). With amax taken over the
//    aligned 256-window holding k (an upper bound for any smaller block), the activation term
//    is Σ|ŵ_k|·e_k, e_k = amax_256(k)/254·(1 + 2^-10). The rest is f32 rounding of per-block
//    products d_w·dx·Σq·qx and their sum: well under 2^-14 relative to Σ B_k·(|x_k| + e_k),
//    where B_k = max |ŵ| of k's weight block bounds every intermediate (codes times scale,
//    the min/offset terms) up to a small factor. The scalar path keeps x in float and sits
//    well inside the same bound.
//  * ExactActivations: x on the int8 grid of every block (each 32-block holds ±127·s, all
//    values n·s with s a power of two), so activation quantization is exact (e_k = 0) and
//    only the 2^-14 rounding term remains: a wrong scale, code order or offset anywhere shows.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "backend/cpu/kernels/matmul.h"
#include "core/cpu_features.h"
#include "core/dtype.h"
#include "core/half.h"
#include "core/tensor.h"
#include "core/thread_pool.h"
#include "quant/quantize.h"

namespace unicorn {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// Weights: N rows of K, stored in `type`, with their dequantized values (the oracle's view).
struct Weights {
    std::vector<uint8_t> bytes;
    std::vector<float> deq;  // [N, K]
    Tensor t;
};

// Heavy-tailed rows: normal values, per-row scales over two decades, 1 in 50 values ×10
// (outliers set the block scales, as in real checkpoints), and some all-small blocks.
Weights make_weights(std::mt19937& rng, DType type, int64_t n, int64_t k) {
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::uniform_real_distribution<float> uni(0.0f, 1.0f);
    Weights w;
    const size_t row_bytes = dtype_row_bytes(type, k);
    w.bytes.resize(std::max<size_t>(1, row_bytes * static_cast<size_t>(n)));
    w.deq.resize(static_cast<size_t>(n * k));
    std::vector<float> src(static_cast<size_t>(k));
    for (int64_t o = 0; o < n; ++o) {
        const float row_scale = std::pow(10.0f, 2.0f * uni(rng) - 1.0f);
        for (int64_t i = 0; i < k; ++i) {
            float v = normal(rng) * row_scale;
            if (uni(rng) < 0.02f) v *= 10.0f;
            if ((i / 32) % 7 == 3) v *= 0.01f;
            src[i] = v;
        }
        uint8_t* dst = w.bytes.data() + row_bytes * o;
        quant::quantize_row(type, src.data(), dst, k);
        quant::dequantize_row(type, dst, w.deq.data() + o * k, k);
    }
    w.t = Tensor::view(type, Shape{n, k}, w.bytes.data());
    return w;
}

// x [T, K] (a strided view when pad > 0). exact: on the int8 grid of every 32-block.
Tensor make_x(std::mt19937& rng, int64_t t_rows, int64_t k, int64_t pad, bool exact) {
    Tensor base = Tensor::empty(DType::kF32, Shape{t_rows, k + pad});
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::uniform_int_distribution<int> code(-127, 127), pos(0, 31);
    for (int64_t t = 0; t < t_rows; ++t) {
        float* row = base.row<float>(t);
        for (int64_t i = 0; i < k + pad; ++i) row[i] = pad > 0 && i >= k ? kNaN : normal(rng);
        if (exact) {
            const float s = 1.0f / 8.0f;
            for (int64_t i = 0; i < k; ++i) {
                int c = code(rng);
                if (c == 0) c = 1;  // never zeros
                row[i] = static_cast<float>(c) * s;
            }
            for (int64_t b = 0; b + 32 <= k; b += 32)
                row[b + pos(rng)] = (code(rng) < 0 ? -127.0f : 127.0f) * s;
        }
    }
    return pad > 0 ? base.slice_cols(0, k) : base;
}

struct Case {
    int64_t t, n, k;
    int64_t x_pad = 0, y_pad = 0;
    bool exact = false;
    int batch = 1;  // > 1: x and y as [batch, t / batch, ·]
};

std::string describe(const Case& c) {
    return "T=" + std::to_string(c.t) + " N=" + std::to_string(c.n) + " K=" + std::to_string(c.k) +
           " x_pad=" + std::to_string(c.x_pad) + " y_pad=" + std::to_string(c.y_pad) +
           (c.exact ? " exact-x" : "") + " batch=" + std::to_string(c.batch);
}

// Runs one case; returns the number of outputs outside tolerance (details via ADD_FAILURE).
int run_case(ThreadPool& pool, std::mt19937& rng, DType type, const Case& c) {
    const Weights w = make_weights(rng, type, c.n, c.k);
    Tensor x = make_x(rng, c.t, c.k, c.x_pad, c.exact);
    Tensor ybase = Tensor::empty(DType::kF32, Shape{c.t, c.n + c.y_pad});
    for (int64_t t = 0; t < c.t; ++t) std::fill_n(ybase.row<float>(t), c.n + c.y_pad, kNaN);
    Tensor y = c.y_pad > 0 ? ybase.slice_cols(0, c.n) : ybase;

    Tensor xin = x, yin = y;
    if (c.batch > 1) {  // contiguous only: a 3-D view of the same bytes
        xin = x.reshape(Shape{c.batch, c.t / c.batch, c.k});
        yin = y.reshape(Shape{c.batch, c.t / c.batch, c.n});
    }
    cpu::matmul(pool, xin, w.t, yin);

    const bool is_float = !dtype_is_quantized(type);
    const size_t row_bytes = dtype_row_bytes(type, c.k);
    const int64_t wblock = dtype_block_size(type);
    int bad = 0;
    for (int64_t t = 0; t < c.t; ++t) {
        const float* xr = x.row<float>(t);
        // e_k: activation rounding bound per element (0 for float weights / exact x).
        std::vector<double> e(static_cast<size_t>(c.k), 0.0);
        if (!is_float && !c.exact) {
            for (int64_t b = 0; b < c.k; b += 256) {
                double amax = 0;
                for (int64_t i = b; i < std::min(c.k, b + 256); ++i)
                    amax = std::max(amax, std::fabs(double{xr[i]}));
                for (int64_t i = b; i < std::min(c.k, b + 256); ++i)
                    e[i] = amax / 254.0 * (1.0 + 1.0 / 1024);
            }
        }
        for (int64_t o = 0; o < c.n; ++o) {
            const float* wd = w.deq.data() + o * c.k;
            const double want = quant::dot_row_ref(type, w.bytes.data() + row_bytes * o, xr, c.k);
            double tol = 0;
            if (is_float) {
                double mag = 0;
                for (int64_t i = 0; i < c.k; ++i) mag += std::fabs(double{wd[i]} * xr[i]);
                tol = (c.k + 8) * std::ldexp(1.0, -24) * mag;
            } else {
                double act = 0, mag = 0;
                for (int64_t b = 0; b < c.k; b += wblock) {
                    double bmax = 0;
                    for (int64_t i = b; i < b + wblock; ++i)
                        bmax = std::max(bmax, std::fabs(double{wd[i]}));
                    for (int64_t i = b; i < b + wblock; ++i) {
                        act += std::fabs(double{wd[i]}) * e[i];
                        mag += bmax * (std::fabs(double{xr[i]}) + e[i]);
                    }
                }
                tol = act + std::ldexp(1.0, -14) * mag;
            }
            tol += 1e-30;
            const float got = y.row<float>(t)[o];
            if (!(std::fabs(got - want) <= tol)) {
                if (++bad <= 5)
                    ADD_FAILURE() << describe(c) << ": y[" << t << ", " << o << "] = " << got
                                  << ", want " << want << " ± " << tol;
            }
        }
        for (int64_t o = c.n; o < c.n + c.y_pad; ++o) {
            if (!std::isnan(ybase.row<float>(t)[o])) {
                ++bad;
                ADD_FAILURE() << describe(c) << ": wrote y padding at [" << t << ", " << o << "]";
            }
        }
    }
    return bad;
}

using Param = std::tuple<DType, IsaLevel>;

class MatmulTest : public ::testing::TestWithParam<Param> {
  protected:
    void SetUp() override {
        const IsaLevel isa = std::get<1>(GetParam());
        if (static_cast<int>(isa) > static_cast<int>(detected_isa()))
            GTEST_SKIP() << "this CPU lacks " << isa_name(isa)
                         << " (detected: " << isa_name(detected_isa()) << ")";
        set_isa_override(isa);
        type_ = std::get<0>(GetParam());
        block_ = dtype_block_size(type_);
        rng_.seed(1000 + static_cast<unsigned>(type_) * 7 + static_cast<unsigned>(isa));
    }
    void TearDown() override { set_isa_override(IsaLevel::kAvx512); }

    // Reduction lengths: one block, three blocks, and for 32-blocks an odd count (7) too.
    std::vector<int64_t> ks() const {
        if (block_ == 1) return {1, 7, 33, 96, 224};
        if (block_ == 32) return {32, 96, 224};
        return {block_, 3 * block_};
    }

    DType type_ = DType::kF32;
    int64_t block_ = 1;
    std::mt19937 rng_;
    ThreadPool pool_{3};
};

TEST_P(MatmulTest, MatchesReferenceOverShapes) {
    for (int64_t k : ks())
        for (int64_t t : {0, 1, 2, 7, 33})
            for (int64_t n : {0, 1, 7, 33, 65}) {
                SCOPED_TRACE(describe({t, n, k}));
                ASSERT_EQ(run_case(pool_, rng_, type_, {t, n, k}), 0);
            }
}

TEST_P(MatmulTest, ExactActivations) {
    // Tight check of the integer paths: x exactly representable, so only f32 rounding remains.
    for (int64_t k : ks())
        for (int64_t t : {1, 5})
            for (int64_t n : {1, 9}) {
                Case c{t, n, k};
                c.exact = true;
                ASSERT_EQ(run_case(pool_, rng_, type_, c), 0);
            }
}

TEST_P(MatmulTest, StridedViewsAndBatch) {
    const int64_t k = block_ == 1 ? 37 : (block_ == 32 ? 160 : 512);
    Case strided{7, 33, k, /*x_pad=*/block_ == 1 ? 3 : 5, /*y_pad=*/3};
    EXPECT_EQ(run_case(pool_, rng_, type_, strided), 0);
    Case batch{6, 17, k};
    batch.batch = 2;  // x [2, 3, K] -> y [2, 3, 17]
    EXPECT_EQ(run_case(pool_, rng_, type_, batch), 0);
}

TEST_P(MatmulTest, LongRowsAndThreadCounts) {
    // Many blocks per row (accumulation over K = 4096) and several token/row blocks, on 1 and
    // 2 threads: the decomposition must not change which outputs are written.
    for (int threads : {1, 2}) {
        ThreadPool pool(threads);
        EXPECT_EQ(run_case(pool, rng_, type_, {1, 129, 4096}), 0) << threads << " threads";
        // K = 1280 / 1283: several 512-element k chunks of the float prefill path plus a tail.
        EXPECT_EQ(run_case(pool, rng_, type_, {67, 70, block_ == 1 ? 1283 : 1280}), 0)
            << threads << " threads";
    }
}

const DType kTypes[] = {DType::kF32,  DType::kF16,  DType::kBF16, DType::kQ4_0, DType::kQ4_1,
                        DType::kQ5_0, DType::kQ5_1, DType::kQ8_0, DType::kQ2_K, DType::kQ3_K,
                        DType::kQ4_K, DType::kQ5_K, DType::kQ6_K};

INSTANTIATE_TEST_SUITE_P(AllTypesAllIsas, MatmulTest,
                         ::testing::Combine(::testing::ValuesIn(kTypes),
                                            ::testing::Values(IsaLevel::kScalar, IsaLevel::kAvx2,
                                                              IsaLevel::kAvx512)),
                         [](const ::testing::TestParamInfo<Param>& info) {
                             return std::string(dtype_name(std::get<0>(info.param))) + "_" +
                                    isa_name(std::get<1>(info.param));
                         });

// The SIMD paths quantize activations exactly as llama.cpp's x86 build does, so both engines
// take their integer dots over the same codes (with Gemma's outlier-heavy activations a
// last-bit difference in a scale moved the 270M's logits by 0.1-0.2 against llama.cpp's):
//  * 32-element blocks (Q8_0/Q8_1, for Q4_0 .. Q8_0 weights): q = nearbyint(x·(127/amax)) in
//    f32, d = fp16(amax/127); the _1 types' min term uses s = fp16((amax/127)·Σq);
//  * 256-element blocks (Q8_K, for K-quant weights): the same codes, d = 1/(127/amax) in f32.
// The reference applies that rounding, so only f32 accumulation error is allowed: a scale kept
// in f32 instead of fp16 (2^-12 relative per block) fails this.
class LlamaCppActivationRoundingTest : public MatmulTest {};

TEST_P(LlamaCppActivationRoundingTest, MatchesLlamaCppQuantizedActivations) {
    if (std::get<1>(GetParam()) == IsaLevel::kScalar) GTEST_SKIP() << "scalar keeps x in f32";
    const int64_t t_rows = 3, n = 16, k = 1024;
    const Weights w = make_weights(rng_, type_, n, k);
    Tensor x = make_x(rng_, t_rows, k, 0, false);
    for (int64_t t = 0; t < t_rows; ++t)  // outliers, as in real activations
        for (int64_t i = 5; i < k; i += 97) x.row<float>(t)[i] *= 40.0f;
    Tensor y = Tensor::empty(DType::kF32, Shape{t_rows, n});
    cpu::matmul(pool_, x, w.t, y);

    const bool k_quant = block_ == 256;
    const bool has_min = type_ == DType::kQ4_1 || type_ == DType::kQ5_1;
    const size_t row_bytes = dtype_row_bytes(type_, k);
    const auto f16 = [](float v) { return fp16_to_f32(f32_to_fp16(v)); };
    for (int64_t t = 0; t < t_rows; ++t) {
        const float* xr = x.row<float>(t);
        std::vector<double> xq(static_cast<size_t>(k));  // x as llama.cpp's codes × scale
        std::vector<double> min_fix(static_cast<size_t>(k / 32), 0.0);  // s - d·Σq per block
        const int64_t ab = k_quant ? 256 : 32;
        for (int64_t b = 0; b < k; b += ab) {
            float amax = 0;
            for (int64_t i = b; i < b + ab; ++i) amax = std::max(amax, std::fabs(xr[i]));
            const float id = 127.0f / amax;
            const float d = k_quant ? 1.0f / id : f16(amax / 127.0f);
            int qsum = 0;
            for (int64_t i = b; i < b + ab; ++i) {
                const int q = static_cast<int>(std::nearbyint(xr[i] * id));
                qsum += q;
                xq[i] = double{d} * q;
            }
            if (has_min)
                min_fix[b / 32] =
                    double{f16(amax / 127.0f * static_cast<float>(qsum))} - double{d} * qsum;
        }
        for (int64_t o = 0; o < n; ++o) {
            const float* wd = w.deq.data() + o * k;
            const uint8_t* wrow = w.bytes.data() + row_bytes * o;
            double want = 0, mag = 0;
            for (int64_t i = 0; i < k; ++i) {
                want += double{wd[i]} * xq[i];
                mag += std::fabs(double{wd[i]} * xq[i]);
            }
            for (int64_t b = 0; has_min && b < k / 32; ++b) {  // m: the block's second fp16
                uint16_t m;
                std::memcpy(&m, wrow + dtype_row_bytes(type_, 32) * b + 2, 2);
                want += double{fp16_to_f32(m)} * min_fix[b];
            }
            const double got = y.row<float>(t)[o];
            EXPECT_NEAR(got, want, std::ldexp(1.0, -18) * mag + 1e-30)
                << dtype_name(type_) << " y[" << t << ", " << o << "]";
        }
    }
}

// Batching is exact only if an output does not depend on which other tokens share the call: a
// row computed alone (decode), as a register block's remainder, or inside a block must come out
// bit-identical. (The float weight types' kernels sum a lone pair in another order, so they are
// held to MatchesReferenceOverShapes' bound instead.)
TEST_P(LlamaCppActivationRoundingTest, EachTokensOutputIsIndependentOfTheBatch) {
    const int64_t n = 37, k = 1024, t_rows = 9;
    const Weights w = make_weights(rng_, type_, n, k);
    Tensor x = make_x(rng_, t_rows, k, 0, false);
    Tensor all = Tensor::empty(DType::kF32, Shape{t_rows, n});
    cpu::matmul(pool_, x, w.t, all);
    for (int64_t t = 0; t < t_rows; ++t) {
        Tensor one = Tensor::empty(DType::kF32, Shape{1, n});
        cpu::matmul(pool_, x.slice_rows(t, t + 1), w.t, one);
        for (int64_t o = 0; o < n; ++o)
            ASSERT_EQ(one.row<float>(0)[o], all.row<float>(t)[o])
                << dtype_name(type_) << " token " << t << " row " << o;
    }
}

const DType kIntegerPathTypes[] = {DType::kQ4_0, DType::kQ4_1, DType::kQ5_0, DType::kQ5_1,
                                   DType::kQ8_0, DType::kQ4_K, DType::kQ5_K, DType::kQ6_K};

INSTANTIATE_TEST_SUITE_P(IntegerPaths, LlamaCppActivationRoundingTest,
                         ::testing::Combine(::testing::ValuesIn(kIntegerPathTypes),
                                            ::testing::Values(IsaLevel::kAvx2, IsaLevel::kAvx512)),
                         [](const ::testing::TestParamInfo<Param>& info) {
                             return std::string(dtype_name(std::get<0>(info.param))) + "_" +
                                    isa_name(std::get<1>(info.param));
                         });

TEST(MatmulSupports, ListsExactlyTheWeightTypes) {
    for (DType t : kTypes) EXPECT_TRUE(cpu::matmul_supports(t)) << dtype_name(t);
    EXPECT_FALSE(cpu::matmul_supports(DType::kQ8_1));
    EXPECT_FALSE(cpu::matmul_supports(DType::kQ8_K));
    EXPECT_FALSE(cpu::matmul_supports(DType::kI32));
}

}  // namespace
}  // namespace unicorn
