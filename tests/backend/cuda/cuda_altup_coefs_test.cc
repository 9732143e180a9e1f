// The fused AltUp coefficient kernel against the four reference ops it replaces (rms_norm,
// linear, softcap 1, linear), for every weight type it takes, strided inputs and poisoned
// outputs; and its refusal of shapes it does not take.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "backend/cuda/cuda_test_fixture.h"
#include "ops/ref/reference.h"
#include "quant/quantize.h"

namespace unicorn {
namespace {

// Row-major weights of `type` from F32 values (rows of `cols`).
std::vector<uint8_t> encode(DType type, const std::vector<float>& w, int64_t rows, int64_t cols) {
    std::vector<uint8_t> out(static_cast<size_t>(rows) * dtype_row_bytes(type, cols));
    for (int64_t r = 0; r < rows; ++r)
        quant::quantize_row(type, w.data() + r * cols, out.data() + r * dtype_row_bytes(type, cols),
                            cols);
    return out;
}

TEST_F(CudaKernelTest, AltupCoefsMatchesTheOpsItFuses) {
    for (DType type : {DType::kF32, DType::kF16, DType::kBF16}) {
        for (int64_t t : {1, 3}) {
            for (int64_t d : {7, 256, 2048}) {
                for (int64_t a : {1, 4}) {
                    const int64_t j = a * a;  // the predict coefficients; correct has j = a
                    const Mat x = mat(t, d, 3);
                    const std::vector<float> nw = random(static_cast<size_t>(d), 0.1f);
                    const std::vector<uint8_t> rw =
                        encode(type, random(static_cast<size_t>(a * d), 0.05f), a, d);
                    const std::vector<uint8_t> cw =
                        encode(type, random(static_cast<size_t>(j * a)), j, a);
                    Mat want(t, j);
                    ops::ref::altup_coefs(
                        x.tensor(),
                        Tensor::view(DType::kF32, Shape{d}, const_cast<float*>(nw.data())),
                        Tensor::view(type, Shape{a, d}, const_cast<uint8_t*>(rw.data())),
                        Tensor::view(type, Shape{j, a}, const_cast<uint8_t*>(cw.data())), 1e-6f,
                        want.tensor());
                    const DevMat dx = dev(x), out = dev_poisoned(t, j, 2);
                    const cuda::DeviceBuffer dn = upload(nw), dr = upload(rw), dc = upload(cw);
                    const Status s =
                        cuda::altup_coefs(dx.c(), static_cast<const float*>(dn.data()), 1e-6f, type,
                                          dr.data(), dtype_row_bytes(type, d), static_cast<int>(a),
                                          type, dc.data(), dtype_row_bytes(type, a), out.v());
                    ASSERT_TRUE(s.ok()) << s.to_string();
                    // fp32 sums (norm over d, dots over d) against the reference's double.
                    EXPECT_LE(max_rel_err(fetch(out), want), 2e-5)
                        << dtype_name(type) << " t=" << t << " d=" << d << " a=" << a;
                }
            }
        }
    }
}

TEST_F(CudaKernelTest, AltupCoefsRefusesWhatItDoesNotTake) {
    EXPECT_FALSE(cuda::altup_coefs_supports(DType::kQ4_K, DType::kF32, 2048, 4));
    EXPECT_FALSE(cuda::altup_coefs_supports(DType::kF32, DType::kF32, 1 << 20, 4));
    EXPECT_FALSE(cuda::altup_coefs_supports(DType::kF32, DType::kF32, 2048, 64));
    EXPECT_TRUE(cuda::altup_coefs_supports(DType::kBF16, DType::kF32, 2560, 4));
    const Status s = cuda::altup_coefs({}, nullptr, 1e-6f, DType::kQ4_K, nullptr, 0, 4, DType::kF32,
                                       nullptr, 0, {});
    EXPECT_EQ(s.code(), StatusCode::kUnsupported);
}

}  // namespace
}  // namespace unicorn
