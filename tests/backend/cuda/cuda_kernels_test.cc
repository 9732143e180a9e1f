// Every CUDA kernel against the scalar reference (ops/ref) on random data: weights quantized by
// the reference quantizer, odd shapes (rows not a multiple of the warp's, K of 1 and several
// blocks, 1…11 tokens: more than one pass of the token loop), outputs poisoned with NaN so an
// unwritten element fails. Skips, saying why, where no CUDA device is present.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "backend/cuda/device.h"
#include "backend/cuda/kernels/kernels.h"
#include "ops/ref/reference.h"
#include "quant/quantize.h"

namespace unicorn {
namespace {

class CudaKernelTest : public ::testing::Test {
  protected:
    void SetUp() override {
        auto d = cuda::cuda_devices();
        if (!d.ok()) GTEST_SKIP() << d.status().message();
    }
    std::mt19937 rng_{4321};

    std::vector<float> random(size_t n, float scale = 1.0f) {
        std::normal_distribution<float> g(0.0f, scale);
        std::vector<float> v(n);
        for (float& x : v) x = g(rng_);
        // Heavy tail: a few large values, as real weights and activations have.
        for (size_t i = 0; i < n; i += 97) v[i] *= 8.0f;
        return v;
    }
    template <typename T>
    cuda::DeviceBuffer upload(const std::vector<T>& v) {
        auto b = cuda::DeviceBuffer::alloc(v.size() * sizeof(T));
        EXPECT_TRUE(b.ok());
        EXPECT_TRUE(b->upload(v.data(), v.size() * sizeof(T)).ok());
        return std::move(*b);
    }
    std::vector<float> download(const cuda::DeviceBuffer& b, size_t n) {
        std::vector<float> v(n);
        EXPECT_TRUE(b.download(v.data(), n * sizeof(float)).ok());
        return v;
    }
    cuda::DeviceBuffer poisoned(size_t n) {
        return upload(std::vector<float>(n, std::numeric_limits<float>::quiet_NaN()));
    }
};

double max_rel_err(const std::vector<float>& got, const std::vector<float>& want) {
    double err = 0, scale = 0;
    for (size_t i = 0; i < got.size(); ++i) {
        const double d = std::fabs(static_cast<double>(got[i]) - want[i]);
        err = std::isnan(d) ? INFINITY : std::max(err, d);
        scale = std::max(scale, std::fabs(static_cast<double>(want[i])));
    }
    return err / std::max(scale, 1e-30);
}

TEST_F(CudaKernelTest, MatvecMatchesReferenceForEveryType) {
    for (DType type : {DType::kF32, DType::kF16, DType::kBF16, DType::kQ4_0, DType::kQ4_1,
                       DType::kQ5_0, DType::kQ8_0, DType::kQ4_K, DType::kQ5_K, DType::kQ6_K}) {
        ASSERT_TRUE(cuda::matvec_supports(type));
        const int64_t block = dtype_block_size(type) > 1 ? dtype_block_size(type) : 32;
        for (int64_t n : {1, 7, 37}) {
            for (int64_t k : {block, 3 * block, int64_t{1024}}) {
                if (k % block != 0) continue;
                for (int64_t t : {1, 2, 3, 5, 11}) {  // every token-count kernel
                    const std::vector<float> wf = random(static_cast<size_t>(n * k));
                    const size_t row_bytes = dtype_row_bytes(type, k);
                    std::vector<uint8_t> wq(static_cast<size_t>(n) * row_bytes);
                    for (int64_t r = 0; r < n; ++r)
                        quant::quantize_row(type, wf.data() + r * k, wq.data() + r * row_bytes, k);
                    const std::vector<float> x = random(static_cast<size_t>(t * k));
                    // Reference on the dequantized weights (what the kernel must compute).
                    Tensor wt = Tensor::view(type, Shape{n, k}, wq.data());
                    Tensor xt =
                        Tensor::view(DType::kF32, Shape{t, k}, const_cast<float*>(x.data()));
                    std::vector<float> want(static_cast<size_t>(t * n));
                    ops::ref::linear(xt, wt, Tensor::view(DType::kF32, Shape{t, n}, want.data()));

                    cuda::DeviceBuffer dw = upload(wq), dx = upload(x);
                    for (int rows : {1, 2}) {  // rows per warp; n = 1, 7, 37 leave remainders
                        cuda::DeviceBuffer dy = poisoned(static_cast<size_t>(t * n));
                        Status s = cuda::matvec_rows(
                            type, dw.data(), n, k, row_bytes, static_cast<const float*>(dx.data()),
                            t, static_cast<size_t>(k), static_cast<float*>(dy.data()),
                            static_cast<size_t>(n), rows);
                        ASSERT_TRUE(s.ok()) << s.to_string();
                        ASSERT_TRUE(cuda::synchronize().ok());
                        // fp32 accumulation over K products of exact dequantized values: relative
                        // error ~ K·2^-24 at worst; 1e-5·(1 + K/256) leaves room only for order.
                        EXPECT_LE(max_rel_err(download(dy, want.size()), want),
                                  1e-5 * (1.0 + static_cast<double>(k) / 256))
                            << dtype_name(type) << " n=" << n << " k=" << k << " t=" << t
                            << " rows/warp=" << rows;
                    }
                }
            }
        }
    }
}

TEST_F(CudaKernelTest, RmsNormAndElementwiseMatchReference) {
    for (int64_t rows : {1, 5}) {
        for (int64_t cols : {1, 7, 33, 2048}) {
            const size_t n = static_cast<size_t>(rows * cols);
            const std::vector<float> x = random(n, 3.0f), w = random(static_cast<size_t>(cols)),
                                     u = random(n);
            auto view = [](const std::vector<float>& v, int64_t r, int64_t c) {
                return Tensor::view(DType::kF32, Shape{r, c}, const_cast<float*>(v.data()));
            };
            cuda::DeviceBuffer dx = upload(x), dw = upload(w), du = upload(u), out = poisoned(n);
            const auto fx = static_cast<const float*>(dx.data());
            const auto fu = static_cast<const float*>(du.data());
            const auto fo = static_cast<float*>(out.data());
            std::vector<float> want(n);
            Tensor wv = Tensor::view(DType::kF32, Shape{cols}, const_cast<float*>(w.data()));

            ASSERT_TRUE(
                cuda::rms_norm(fx, static_cast<const float*>(dw.data()), fo, rows, cols, 1e-6f)
                    .ok());
            ops::ref::rms_norm(view(x, rows, cols), wv, {1e-6f}, view(want, rows, cols));
            EXPECT_LE(max_rel_err(download(out, n), want), 1e-6 * (1 + cols / 64.0));

            ASSERT_TRUE(cuda::add(fx, fu, fo, static_cast<int64_t>(n)).ok());
            ops::ref::add(view(x, rows, cols), view(u, rows, cols), view(want, rows, cols));
            EXPECT_LE(max_rel_err(download(out, n), want), 1e-7);

            ASSERT_TRUE(cuda::gelu_tanh_mul(fx, fu, fo, static_cast<int64_t>(n)).ok());
            ops::ref::gelu_tanh_mul(view(x, rows, cols), view(u, rows, cols),
                                    view(want, rows, cols));
            EXPECT_LE(max_rel_err(download(out, n), want), 1e-6);

            ASSERT_TRUE(cuda::silu_mul(fx, fu, fo, static_cast<int64_t>(n)).ok());
            ops::ref::silu_mul(view(x, rows, cols), view(u, rows, cols), view(want, rows, cols));
            EXPECT_LE(max_rel_err(download(out, n), want), 1e-6);

            ASSERT_TRUE(cuda::softcap(fx, 5.0f, fo, static_cast<int64_t>(n)).ok());
            ops::ref::softcap(view(x, rows, cols), 5.0f, view(want, rows, cols));
            EXPECT_LE(max_rel_err(download(out, n), want), 1e-6);
        }
    }
}

}  // namespace
}  // namespace unicorn
