// The Gemma 3n graph ops (exec/graph_ops.h) through an ExecContext on the CPU backend: results
// equal the scalar references, each call is counted under its OpKind, and bad arguments set
// the context's sticky error instead of running.
#include <gtest/gtest.h>

#include <random>

#include "backend/cpu/cpu_backend.h"
#include "exec/exec_context.h"
#include "exec/graph_ops.h"
#include "ops/ref/reference.h"
#include "test_util.h"

namespace unicorn {
namespace {

using testing::max_abs;
using testing::max_abs_diff;
using testing::random_f32;

class Gemma3nGraphOpsTest : public ::testing::Test {
  protected:
    Tensor ref_out(int64_t rows, int64_t cols) {
        return Tensor::empty(DType::kF32, Shape{rows, cols});
    }
    int64_t calls(OpKind op) const { return ctx_.op_stats()[static_cast<size_t>(op)].calls; }

    ThreadPool pool_{2};
    CpuBackend cpu_{pool_};
    ExecContext ctx_{cpu_, cpu_};
    std::mt19937 rng_{99};
};

// Tolerances as in tests/backend/cpu_gemma3n_ops_test.cc, where each is derived.
TEST_F(Gemma3nGraphOpsTest, AltupStepMatchesReferences) {
    constexpr int kA = 4;
    const int64_t t = 3, d = 40;
    Tensor streams = random_f32(rng_, kA * t, d, 1.0f, /*pad_cols=*/2);  // [A·T, D]
    Tensor pc = random_f32(rng_, t, kA * kA, 0.3f);                      // [T, A·A]
    Tensor cc = random_f32(rng_, t, kA, 0.3f);                           // [T, A]
    Tensor w = random_f32(rng_, 1, d).reshape(Shape{d});                 // [D]

    Tensor pred = ops::altup_predict(ctx_, streams, pc, kA);                           // [A·T, D]
    Tensor active = pred.slice_rows(0, t);                                             // [T, D]
    Tensor act = ops::mul(ctx_, ops::scale(ctx_, active, 0.5f), w);                    // [T, D]
    Tensor sparse = ops::gaussian_topk(ctx_, act, 1.6448536f);                         // [T, D]
    Tensor corr = ops::altup_correct(ctx_, pred, sparse, cc, kA);                      // [A·T, D]
    Tensor mm = ops::match_magnitude(ctx_, corr.slice_rows(t, 2 * t), active, 1e-5f);  // [T, D]
    ASSERT_TRUE(ctx_.status().ok()) << ctx_.status().message();

    Tensor want_pred = ref_out(kA * t, d);
    ops::ref::altup_predict(streams, pc, kA, want_pred);
    EXPECT_LE(max_abs_diff(pred, want_pred), 2e-6 * (1 + max_abs(streams)));
    // The later ops are checked on the kernel's own inputs, one op at a time.
    Tensor want_scaled = ref_out(t, d), want_act = ref_out(t, d);
    ops::ref::scale(active, 0.5f, want_scaled);
    ops::ref::mul(want_scaled, w, want_act);
    EXPECT_EQ(max_abs_diff(act, want_act), 0.0);
    Tensor want_sparse = ref_out(t, d);
    ops::ref::gaussian_topk(act, 1.6448536f, want_sparse);
    EXPECT_LE(max_abs_diff(sparse, want_sparse), 1e-6 * (1 + max_abs(act)));
    Tensor want_corr = ref_out(kA * t, d);
    ops::ref::altup_correct(pred, sparse, cc, kA, want_corr);
    EXPECT_LE(max_abs_diff(corr, want_corr), 1e-6 * (1 + max_abs(pred)));
    Tensor want_mm = ref_out(t, d);
    ops::ref::match_magnitude(corr.slice_rows(t, 2 * t), active, 1e-5f, want_mm);
    EXPECT_LE(max_abs_diff(mm, want_mm), 2.5e-7 * (1e-6 + max_abs(want_mm)));

    for (OpKind op : {OpKind::kAltupPredict, OpKind::kScale, OpKind::kMul, OpKind::kGaussianTopk,
                      OpKind::kAltupCorrect, OpKind::kMatchMagnitude})
        EXPECT_EQ(calls(op), 1) << op_name(op);
}

// The CPU has no fused altup_coefs: exec/ runs the four ops it stands for, each counted, and
// the result is the reference composition exactly.
TEST_F(Gemma3nGraphOpsTest, AltupCoefsRunsItsOpsWhereNotFused) {
    const int64_t t = 3, d = 40, a = 4;
    Tensor x = random_f32(rng_, t, d, 1.0f, /*pad_cols=*/2);
    Tensor nw = random_f32(rng_, 1, d, 0.1f).reshape(Shape{d});
    Tensor rw = random_f32(rng_, a, d, 0.2f), cw = random_f32(rng_, a * a, a);
    Tensor got = ops::altup_coefs(ctx_, x, nw, rw, cw, 1e-6f);
    ASSERT_TRUE(ctx_.status().ok()) << ctx_.status().message();
    Tensor want = ref_out(t, a * a);
    ops::ref::altup_coefs(x, nw, rw, cw, 1e-6f, want);
    EXPECT_LE(max_abs_diff(got, want), 1e-5 * (1 + max_abs(want)));
    EXPECT_EQ(calls(OpKind::kAltupCoefs), 0);
    EXPECT_EQ(calls(OpKind::kRmsNorm), 1);
    EXPECT_EQ(calls(OpKind::kLinear), 2);
    EXPECT_EQ(calls(OpKind::kSoftcap), 1);
}

TEST_F(Gemma3nGraphOpsTest, BadArgumentsFailTheContextAndSkipLaterOps) {
    Tensor streams = random_f32(rng_, 10, 8);  // 10 rows: not a multiple of A = 4
    Tensor out = ops::altup_predict(ctx_, streams, random_f32(rng_, 2, 16), 4);
    ASSERT_TRUE(ctx_.failed());
    EXPECT_EQ(ctx_.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(ctx_.status().message().find("altup_predict"), std::string::npos)
        << ctx_.status().message();
    EXPECT_EQ(out.rows(), 10);  // a well-formed (unwritten) placeholder, not a crash
    EXPECT_EQ(calls(OpKind::kAltupPredict), 0);

    ops::scale(ctx_, random_f32(rng_, 2, 8), 2.0f);  // valid, but the context has failed
    EXPECT_EQ(calls(OpKind::kScale), 0);

    ctx_.clear_error();
    ops::match_magnitude(ctx_, random_f32(rng_, 2, 8), random_f32(rng_, 2, 8), -1.0f);
    EXPECT_EQ(ctx_.status().code(), StatusCode::kInvalidArgument);
    ctx_.clear_error();
    ops::mul(ctx_, random_f32(rng_, 2, 8), random_f32(rng_, 3, 8));
    EXPECT_EQ(ctx_.status().code(), StatusCode::kInvalidArgument);
    ctx_.clear_error();
    ops::gaussian_topk(ctx_, random_f32(rng_, 2, 8), std::nanf(""));
    EXPECT_EQ(ctx_.status().code(), StatusCode::kInvalidArgument);
    ctx_.clear_error();
    ops::altup_correct(ctx_, random_f32(rng_, 8, 8), random_f32(rng_, 2, 8),
                       random_f32(rng_, 2, 16), 4);
    EXPECT_EQ(ctx_.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace unicorn
