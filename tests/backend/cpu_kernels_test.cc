// Every non-matmul CPU kernel against its scalar reference (ops/ref), on each ISA level the
// CPU has, over odd sizes (0, 1, 7, 33, not multiples of the vector width), strided inputs and
// batches > 1. Outputs are poisoned with NaN first so an unwritten element fails.
#include <gtest/gtest.h>

#include <numeric>
#include <random>

#include "backend/cpu/kernels/kernels.h"
#include "backend/cpu/kernels/vec.h"
#include "backend/isa_test.h"
#include "core/cpu_features.h"
#include "ops/ref/reference.h"
#include "quant/quantize.h"
#include "test_util.h"

namespace unicorn {
namespace {

using testing::max_abs;
using testing::max_abs_diff;
using testing::poisoned_f32;
using testing::random_f32;

class CpuKernelTest : public testing::IsaTest {
  protected:
    CpuKernelTest() : IsaTest(1234) {}
};

TEST_P(CpuKernelTest, RmsNormMatchesReference) {
    for (int64_t rows : {0, 1, 7}) {
        for (int64_t cols : {1, 7, 33, 256}) {
            for (bool with_weight : {true, false}) {
                Tensor x = random_f32(rng_, rows, cols, 3.0f, /*pad_cols=*/5);
                Tensor w = with_weight ? random_f32(rng_, 1, cols).reshape(Shape{cols}) : Tensor();
                Tensor got = poisoned_f32(rows, cols), want = poisoned_f32(rows, cols);
                cpu::rms_norm(pool_, x, w, {1e-6f}, got);
                ops::ref::rms_norm(x, w, {1e-6f}, want);
                // fp32 sum of squares over `cols` terms: relative error ~ cols·2^-24.
                EXPECT_LE(max_abs_diff(got, want), 1e-6 * (1 + cols / 16.0) * (1 + max_abs(want)))
                    << rows << "x" << cols;
                // With a residual (the fused post-norm add): the same plus one rounded add.
                Tensor res = random_f32(rng_, rows, cols, 5.0f, /*pad_cols=*/3);
                Tensor got_r = poisoned_f32(rows, cols), want_r = poisoned_f32(rows, cols);
                cpu::rms_norm(pool_, x, w, {1e-6f, &res}, got_r);
                ops::ref::rms_norm(x, w, {1e-6f, &res}, want_r);
                EXPECT_LE(max_abs_diff(got_r, want_r),
                          1e-6 * (1 + cols / 16.0) * (1 + max_abs(want_r)))
                    << rows << "x" << cols << " with residual";
            }
        }
    }
}

TEST_P(CpuKernelTest, RopeMatchesReferenceBothModes) {
    for (auto mode : {ops::RopeMode::kNeox, ops::RopeMode::kNormal}) {
        for (int64_t rows : {0, 1, 7}) {
            for (int head_dim : {2, 16, 34}) {
                const int heads = 3, rot = head_dim == 34 ? 30 : head_dim;  // partial rotation too
                std::vector<float> freq(static_cast<size_t>(rot / 2));
                ops::ref::rope_inv_freq(10000.0, rot, freq.data());
                std::vector<int32_t> pos(static_cast<size_t>(rows));
                for (int64_t i = 0; i < rows; ++i) pos[i] = static_cast<int32_t>(i * 37 + 5);
                ops::RopeParams p{heads, head_dim, rot, mode, freq.data()};
                Tensor x = random_f32(rng_, rows, heads * head_dim);
                Tensor got = x.reshape(x.shape()), want = Tensor::empty(DType::kF32, x.shape());
                std::memcpy(want.data(), x.data(), x.nbytes());
                got = Tensor::empty(DType::kF32, x.shape());
                std::memcpy(got.data(), x.data(), x.nbytes());
                cpu::rope(pool_, got, pos, p);
                ops::ref::rope(want, pos, p);
                EXPECT_LE(max_abs_diff(got, want), 2e-6 * (1 + max_abs(want)));
            }
        }
    }
}

TEST_P(CpuKernelTest, AttentionMatchesReference) {
    struct Case {
        int64_t t, s;
        int heads, kv_heads, dim;
        int32_t window;
        float softcap;
    };
    for (const Case& c : {Case{1, 1, 1, 1, 7, 0, 0}, Case{7, 33, 4, 2, 16, 0, 0},
                          Case{7, 33, 4, 1, 33, 5, 0}, Case{3, 20, 6, 3, 8, 4, 20.0f},
                          Case{1, 64, 8, 2, 64, 0, 0}, Case{5, 12, 2, 2, 4, 1, 0}}) {
        Tensor q = random_f32(rng_, c.t, c.heads * c.dim, 1.0f, 3);
        Tensor k = random_f32(rng_, c.s, c.kv_heads * c.dim, 1.0f, 2);
        Tensor v = random_f32(rng_, c.s, c.kv_heads * c.dim, 1.0f, 1);
        // Keys in a ring-buffer order: positions rotated, queries at the end.
        std::vector<int32_t> kpos(static_cast<size_t>(c.s)), qpos(static_cast<size_t>(c.t));
        for (int64_t i = 0; i < c.s; ++i) kpos[i] = static_cast<int32_t>((i + 3) % c.s);
        for (int64_t i = 0; i < c.t; ++i) qpos[i] = static_cast<int32_t>(c.s - c.t + i);
        ops::AttentionParams p{c.heads,  c.kv_heads,
                               c.dim,    1.0f / std::sqrt(static_cast<float>(c.dim)),
                               c.window, c.softcap};
        Tensor got = poisoned_f32(c.t, c.heads * c.dim), want = poisoned_f32(c.t, c.heads * c.dim);
        cpu::attention(pool_, q, qpos, k, v, kpos, p, got);
        ops::ref::attention(q, qpos, k, v, kpos, p, want);
        // fp32 dot products over dim terms and a fp32 softmax; fast_exp < 2 ulp.
        EXPECT_LE(max_abs_diff(got, want), 2e-5) << c.t << " " << c.s << " window " << c.window;
    }
}

TEST_P(CpuKernelTest, ElementwiseMatchReference) {
    for (int64_t rows : {0, 1, 7}) {
        for (int64_t cols : {1, 7, 33, 100}) {
            Tensor a = random_f32(rng_, rows, cols, 4.0f, 3),
                   b = random_f32(rng_, rows, cols, 2.0f);
            struct Op {
                const char* name;
                void (*cpu)(ThreadPool&, const Tensor&, const Tensor&, const Tensor&);
                void (*ref)(const Tensor&, const Tensor&, const Tensor&);
            };
            for (const Op& op : {Op{"gelu_tanh_mul", cpu::gelu_tanh_mul, ops::ref::gelu_tanh_mul},
                                 Op{"silu_mul", cpu::silu_mul, ops::ref::silu_mul},
                                 Op{"add", cpu::add, ops::ref::add}}) {
                Tensor got = poisoned_f32(rows, cols), want = poisoned_f32(rows, cols);
                op.cpu(pool_, a, b, got);
                op.ref(a, b, want);
                // fast tanh/exp: absolute error ~1e-7 times |x·u| magnitudes up to ~50.
                EXPECT_LE(max_abs_diff(got, want), 1e-5 * (1 + max_abs(want))) << op.name;
            }
            if (rows > 0) {  // add with b repeating: 7 rows = 7 × 1 row
                Tensor b1 = random_f32(rng_, 1, cols, 2.0f), got = poisoned_f32(rows, cols),
                       want = poisoned_f32(rows, cols);
                cpu::add(pool_, a, b1, got);
                ops::ref::add(a, b1, want);
                EXPECT_LE(max_abs_diff(got, want), 1e-5 * (1 + max_abs(want))) << "add repeating";
            }
            Tensor got = poisoned_f32(rows, cols), want = poisoned_f32(rows, cols);
            cpu::softcap(pool_, a, 3.0f, got);
            ops::ref::softcap(a, 3.0f, want);
            EXPECT_LE(max_abs_diff(got, want), 3e-6);
        }
    }
}

TEST_P(CpuKernelTest, EmbeddingMatchesReferenceForEveryWeightType) {
    for (DType t : kWeightDTypes) {
        const int64_t cols = dtype_block_size(t) * 2, vocab = 9;
        Tensor f = random_f32(rng_, vocab, cols);
        Tensor table = Tensor::empty(t, Shape{vocab, cols});
        for (int64_t r = 0; r < vocab; ++r)
            quant::quantize_row(t, f.row<float>(r), table.row_bytes_ptr(r), cols);
        const std::vector<int32_t> ids = {3, 0, 8, 3};
        Tensor got = poisoned_f32(4, cols), want = poisoned_f32(4, cols);
        cpu::embedding(pool_, table, ids, {2.5f}, got);
        ops::ref::embedding(table, ids, {2.5f}, want);
        EXPECT_LE(max_abs_diff(got, want), 1e-6 * (1 + max_abs(want))) << dtype_name(t);
    }
}

TEST_P(CpuKernelTest, VecPrimitivesOnOddLengths) {
    const cpu::VecOps& v = cpu::vec_ops();
    for (int64_t n : {0, 1, 7, 15, 16, 17, 33, 1000}) {
        std::vector<float> a(static_cast<size_t>(n)), b(static_cast<size_t>(n));
        std::normal_distribution<float> d;
        for (auto& x : a) x = d(rng_);
        for (auto& x : b) x = d(rng_);
        double dot = 0;
        for (int64_t i = 0; i < n; ++i) dot += static_cast<double>(a[i]) * b[i];
        EXPECT_NEAR(v.dot(a.data(), b.data(), n), dot, 1e-5 * (1 + n));
        if (n > 0) {
            EXPECT_EQ(v.max(a.data(), n), *std::max_element(a.begin(), a.end()));
        }
        std::vector<float> e = a;
        const float m = n > 0 ? *std::max_element(a.begin(), a.end()) : 0.0f;
        const float s = v.exp_shift_sum(e.data(), m, n);
        double want_s = 0;
        for (int64_t i = 0; i < n; ++i) {
            const double w = std::exp(static_cast<double>(a[i]) - m);
            want_s += w;
            EXPECT_NEAR(e[i], w, 3e-7 * (1 + w));
        }
        EXPECT_NEAR(s, want_s, 1e-6 * (1 + want_s));
    }
}

INSTANTIATE_TEST_SUITE_P(Isa, CpuKernelTest,
                         ::testing::Values(IsaLevel::kScalar, IsaLevel::kAvx2, IsaLevel::kAvx512),
                         [](const auto& info) { return std::string(isa_name(info.param)); });

}  // namespace
}  // namespace unicorn
