// The prefill GEMM (kernels/gemm.h) against a double-precision product over the reference-
// dequantized weights (quant::dequantize_row), for every weight type, on random data with a
// heavy tail. Prefill-sized token counts (9 … 513) and odd N; x, y and W row-strided with NaN
// (x, y) or 0xFF bytes (W: NaN for the float types) in the gaps, so a wrong leading dimension
// reads poison; y also written into a column range of a wider NaN matrix, which must keep NaN
// everywhere else. Skips, saying why, where no CUDA device is present.
//
// Tolerances, relative to max |want|: F32 weights run plain fp32 (1e-5: K-term fp32 sums of
// exact products). Every other type runs on TF32 tensor cores, whose inputs keep 10 mantissa
// bits: each product is off by up to ~2^-10 relative, and over K-term sums of random signs the
// result by a few 1e-4 of the output scale (H200: at most 5.5e-4 here; F32 at most 3e-7), so
// 5e-3. (cuBLAS may run N = 1 or tiny K without tensor cores: those come out fp32-exact.)
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <vector>

#include "backend/cuda/device.h"
#include "backend/cuda/kernels/gemm.h"
#include "quant/quantize.h"

namespace unicorn {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr double kTolF32 = 1e-5, kTolTf32 = 5e-3;

constexpr DType kTypes[] = {DType::kF32,  DType::kF16,  DType::kBF16, DType::kQ4_0, DType::kQ4_1,
                            DType::kQ5_0, DType::kQ8_0, DType::kQ4_K, DType::kQ5_K, DType::kQ6_K};

double tolerance(DType type) { return type == DType::kF32 ? kTolF32 : kTolTf32; }

// One GEMM's operand layout: gaps after each row of x, y and W, and y's first column inside a
// wider output matrix.
struct Layout {
    int64_t x_pad = 0, y_pad = 0, y_col0 = 0;
    size_t w_pad = 0;  // bytes
};

class CudaGemmTest : public ::testing::Test {
  protected:
    void SetUp() override {
        auto d = cuda::cuda_devices();
        if (!d.ok()) GTEST_SKIP() << d.status().message();
        auto c = cuda::GemmContext::create();
        ASSERT_TRUE(c.ok()) << c.status().to_string();
        ctx_ = std::move(*c);
    }

    std::vector<float> random(size_t n, float scale = 1.0f) {
        std::normal_distribution<float> g(0.0f, scale);
        std::vector<float> v(n);
        for (float& x : v) x = g(rng_);
        for (size_t i = 0; i < n; i += 97) v[i] *= 8.0f;  // heavy tail, as real weights have
        return v;
    }
    template <typename T>
    cuda::DeviceBuffer upload(const std::vector<T>& v) {
        auto b = cuda::DeviceBuffer::alloc(v.size() * sizeof(T));
        EXPECT_TRUE(b.ok());
        EXPECT_TRUE(b->upload(v.data(), v.size() * sizeof(T)).ok());
        return std::move(*b);
    }

    // Random weights [n, k] quantized to `type`, rows `stride` bytes apart (gap bytes 0xFF), and
    // their reference dequantization [n, k].
    std::vector<uint8_t> weights(DType type, int64_t n, int64_t k, size_t stride,
                                 std::vector<float>* deq) {
        const std::vector<float> wf = random(static_cast<size_t>(n * k));
        std::vector<uint8_t> wq(static_cast<size_t>(n) * stride, 0xFF);
        deq->resize(static_cast<size_t>(n * k));
        for (int64_t r = 0; r < n; ++r) {
            quant::quantize_row(type, wf.data() + r * k, wq.data() + r * stride, k);
            quant::dequantize_row(type, wq.data() + r * stride, deq->data() + r * k, k);
        }
        return wq;
    }

    // Runs y = x·Wᵀ on the device and returns max |got − want| / max |want| (NaN: infinite);
    // checks that y's matrix holds NaN outside the N written columns.
    double run(DType type, int64_t n, int64_t k, int64_t t, Layout l = {}, float x_scale = 1.0f) {
        const size_t w_stride = dtype_row_bytes(type, k) + l.w_pad;
        std::vector<float> wd;
        const std::vector<uint8_t> wq = weights(type, n, k, w_stride, &wd);
        const int64_t xs = k + l.x_pad, ys = l.y_col0 + n + l.y_pad;
        std::vector<float> x(static_cast<size_t>(t * xs), kNaN);
        const std::vector<float> xv = random(static_cast<size_t>(t * k), x_scale);
        for (int64_t r = 0; r < t; ++r) std::copy_n(xv.begin() + r * k, k, x.begin() + r * xs);

        cuda::DeviceBuffer dw = upload(wq), dx = upload(x);
        cuda::DeviceBuffer dy = upload(std::vector<float>(static_cast<size_t>(t * ys), kNaN));
        Status s = ctx_->gemm(type, dw.data(), n, k, w_stride, static_cast<const float*>(dx.data()),
                              t, static_cast<size_t>(xs), static_cast<float*>(dy.data()) + l.y_col0,
                              static_cast<size_t>(ys));
        EXPECT_TRUE(s.ok()) << s.to_string();
        EXPECT_TRUE(cuda::synchronize().ok());
        std::vector<float> y(static_cast<size_t>(t * ys));
        EXPECT_TRUE(dy.download(y.data(), y.size() * sizeof(float)).ok());

        double err = 0, scale = 0;
        for (int64_t r = 0; r < t; ++r) {
            for (int64_t c = 0; c < ys; ++c) {
                const float got = y[static_cast<size_t>(r * ys + c)];
                if (c < l.y_col0 || c >= l.y_col0 + n) {
                    EXPECT_TRUE(std::isnan(got)) << "written outside y at " << r << "," << c;
                    continue;
                }
                double want = 0;
                for (int64_t i = 0; i < k; ++i)
                    want += static_cast<double>(x[static_cast<size_t>(r * xs + i)]) *
                            wd[static_cast<size_t>((c - l.y_col0) * k + i)];
                const double d = std::fabs(got - want);
                err = std::isnan(d) ? INFINITY : std::max(err, d);
                scale = std::max(scale, std::fabs(want));
            }
        }
        return err / std::max(scale, 1e-30);
    }

    std::mt19937 rng_{1234};
    std::unique_ptr<cuda::GemmContext> ctx_;
};

TEST_F(CudaGemmTest, EveryTypeMatchesReference) {
    for (DType type : kTypes) {
        ASSERT_TRUE(cuda::gemm_supports(type));
        const int64_t kb = std::max<int64_t>(dtype_block_size(type), 32);
        // Strided layouts: W's gap is one element for the plain types (F16/BF16 rows then miss
        // the 8-byte alignment of the vector dequantizer and take the scalar one).
        const size_t w_pad = dtype_block_size(type) == 1 ? dtype_block_bytes(type) : 16;
        const Layout strided{3, 5, 2, w_pad};
        struct Shape {
            int64_t n, k, t;
            Layout l;
        };
        for (const Shape& sh : {Shape{1, kb, 9, {}}, Shape{37, 3 * kb, 17, strided},
                                Shape{301, 1024, 100, {}}, Shape{131, 3 * kb, 513, strided}}) {
            EXPECT_LE(run(type, sh.n, sh.k, sh.t, sh.l), tolerance(type))
                << dtype_name(type) << " n=" << sh.n << " k=" << sh.k << " t=" << sh.t
                << " strided=" << (sh.l.x_pad != 0);
        }
    }
}

// Plain types take any K: widths that are not a multiple of 4 (scalar dequantizer, odd lda).
TEST_F(CudaGemmTest, PlainTypesTakeAnyWidth) {
    for (DType type : {DType::kF32, DType::kF16, DType::kBF16}) {
        for (int64_t k : {1, 7, 45}) {
            EXPECT_LE(run(type, 13, k, 9, Layout{1, 2, 1, 0}), tolerance(type))
                << dtype_name(type) << " k=" << k;
        }
    }
}

// y as columns [5, 5 + N) of a wider matrix (as when the backend writes Q, K and V side by side).
TEST_F(CudaGemmTest, WritesOnlyItsColumnsOfAWiderOutput) {
    for (DType type : {DType::kF32, DType::kQ4_K, DType::kQ8_0}) {
        EXPECT_LE(run(type, 77, 512, 33, Layout{0, 40, 5, 0}), tolerance(type)) << dtype_name(type);
    }
}

// A small scratch budget forces several N tiles, the last one partial; a budget under one row
// still runs one row per tile; a budget of over 128 rows rounds tiles down to 128-row steps.
TEST_F(CudaGemmTest, TilesOverNWithinTheScratchBudget) {
    struct Case {
        DType type;
        int64_t n, k;
        size_t budget_rows;
        int64_t want_tile;
    };
    for (const Case& c : {Case{DType::kQ4_0, 37, 256, 5, 5}, Case{DType::kQ6_K, 23, 512, 3, 3},
                          Case{DType::kBF16, 7, 96, 0, 1}, Case{DType::kQ5_K, 601, 256, 300, 256},
                          Case{DType::kF16, 50, 64, 1, 1}}) {
        ctx_->set_scratch_budget(c.budget_rows * static_cast<size_t>(c.k) * sizeof(float) +
                                 (c.budget_rows == 0 ? 100 : 0));
        EXPECT_EQ(ctx_->tile_rows(c.n, c.k), c.want_tile) << dtype_name(c.type);
        EXPECT_LE(run(c.type, c.n, c.k, 17, Layout{2, 3, 1, 0}), kTolTf32)
            << dtype_name(c.type) << " n=" << c.n << " tile=" << c.want_tile;
    }
    ctx_->set_scratch_budget(cuda::GemmContext::kDefaultScratchBudget);
    EXPECT_EQ(ctx_->tile_rows(262144, 2048), 8192);  // the 64 MiB default on a large head
}

// Activations far beyond F16's range (65504): TF32 keeps F32's exponent, so no overflow.
TEST_F(CudaGemmTest, LargeActivationsDoNotOverflow) {
    for (DType type : {DType::kF16, DType::kQ4_K}) {
        EXPECT_LE(run(type, 64, 1024, 20, {}, 3e4f), kTolTf32) << dtype_name(type);
    }
}

TEST_F(CudaGemmTest, DequantizeRowsMatchesReference) {
    for (DType type : kTypes) {
        const int64_t n = 19, k = 512, out_stride = k + 3;
        const size_t w_stride = dtype_row_bytes(type, k);
        std::vector<float> want;
        const std::vector<uint8_t> wq = weights(type, n, k, w_stride, &want);
        cuda::DeviceBuffer dw = upload(wq);
        cuda::DeviceBuffer dout =
            upload(std::vector<float>(static_cast<size_t>(n * out_stride), kNaN));
        ASSERT_TRUE(cuda::dequantize_rows(type, dw.data(), n, k, w_stride,
                                          static_cast<float*>(dout.data()),
                                          static_cast<size_t>(out_stride))
                        .ok());
        std::vector<float> got(static_cast<size_t>(n * out_stride));
        ASSERT_TRUE(dout.download(got.data(), got.size() * sizeof(float)).ok());
        for (int64_t r = 0; r < n; ++r) {
            for (int64_t c = 0; c < out_stride; ++c) {
                const float g = got[static_cast<size_t>(r * out_stride + c)];
                if (c >= k) {
                    EXPECT_TRUE(std::isnan(g)) << "gap written at " << r << "," << c;
                    continue;
                }
                // dequant.cuh: a contracted fma can move a value by an ulp of the reference's.
                const float w = want[static_cast<size_t>(r * k + c)];
                EXPECT_LE(std::fabs(g - w), 2e-7f * std::max(std::fabs(w), 1.0f))
                    << dtype_name(type) << " at " << r << "," << c;
            }
        }
    }
}

TEST_F(CudaGemmTest, RejectsBadArguments) {
    auto buf = cuda::DeviceBuffer::alloc(1 << 20);
    ASSERT_TRUE(buf.ok());
    auto* f = static_cast<float*>(buf->data());
    EXPECT_FALSE(cuda::gemm_supports(DType::kQ5_1));
    EXPECT_EQ(ctx_->gemm(DType::kQ5_1, f, 4, 32, 24, f, 9, 32, f, 4).code(),
              StatusCode::kUnsupported);
    EXPECT_EQ(ctx_->gemm(DType::kQ4_K, f, 4, 32, 144, f, 9, 32, f, 4).code(),
              StatusCode::kInvalidArgument);  // K not whole 256-element blocks
    EXPECT_EQ(ctx_->gemm(DType::kQ8_0, f, 4, 64, 68, f, 9, 32, f, 4).code(),
              StatusCode::kInvalidArgument);  // x stride shorter than K
    EXPECT_EQ(ctx_->gemm(DType::kF32, f, 4, 32, 130, f, 9, 32, f, 4).code(),
              StatusCode::kInvalidArgument);  // F32 row stride not whole floats
    EXPECT_EQ(ctx_->gemm(DType::kF32, f, 4, 32, 128, f, 9, 32, f, 3).code(),
              StatusCode::kInvalidArgument);  // y stride shorter than N
    EXPECT_TRUE(cuda::synchronize().ok());
}

}  // namespace
}  // namespace unicorn
