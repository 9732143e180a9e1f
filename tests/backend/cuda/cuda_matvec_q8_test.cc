// The int8 (dp4a) matvec path for K-quant weights (backend/cuda/kernels/matvec_q8.cu) against
// the scalar reference: a double-precision dot product of the reference-dequantized weight rows
// (quant::dequantize_row) with x.
//
// Two kinds of x:
//   - integers in [-127, 127] with a ±127 in every 32-element block: int8 holds them exactly
//     (block scale 1), so the path must match the reference to fp32 rounding, like the fp32
//     kernels (1e-5·(1 + K/256) of max|y|). This pins every index of the lane/shared-memory
//     layout, the mins and Q6_K's offset, for each launch variant;
//   - random normal x (and heavy-tailed: every 97th value ×8): the reduced-precision bound.
//     Rounding x to 8 bits per 32-element block (step amax/127) leaves each output an error of
//     ~0.55 % of a typical |y| for normal x; over a few hundred outputs the worst is ~0.5 % of
//     max|y| (7.0e-3 the largest in 72 emulated trials), ~1.3e-2 with the heavy tail, whose
//     outlier blocks get an 8× coarser step. Bounds 1.5e-2 and 3e-2 leave a 2× margin.
// Outputs are poisoned with NaN and x and y row-strided with NaN gaps (gaps must survive); odd
// N (1, 37, 301, 4099), K of one super-block to 8192 and a K that is not a whole four-super-block
// step (2560), T = 1, 2, 3, 8 and 11 (two passes). Skips, saying why, without a CUDA device.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "backend/cuda/device.h"
#include "backend/cuda/kernels/kernels.h"
#include "quant/quantize.h"

namespace unicorn {
namespace {

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr DType kTypes[] = {DType::kQ4_K, DType::kQ5_K, DType::kQ6_K};

enum class XKind { kExact, kNormal, kHeavy };

// Quantized weights [n, k], row r at offset + r·stride bytes of `bytes`, and the reference
// dequantization of every row.
struct Weights {
    std::vector<uint8_t> bytes;
    size_t offset = 0, stride = 0;
    std::vector<float> deq;
};

// A launch of one variant: w, x, y in device memory with their strides.
using Launch = std::function<Status(const void* w, size_t w_stride, const float* x, size_t x_stride,
                                    float* y, size_t y_stride)>;

struct Variant {
    std::string name;
    Launch run;
};

class CudaMatvecInt8Test : public ::testing::Test {
  protected:
    void SetUp() override {
        auto d = cuda::cuda_devices();
        if (!d.ok()) GTEST_SKIP() << d.status().message();
    }
    std::mt19937 rng_{97531};

    Weights weights(DType type, int64_t n, int64_t k, size_t offset = 0, size_t pad = 0) {
        std::normal_distribution<float> g(0.0f, 1.0f);
        Weights w;
        const size_t row = dtype_row_bytes(type, k);
        w.offset = offset;
        w.stride = row + pad;
        w.bytes.assign(offset + static_cast<size_t>(n) * w.stride, 0xA5);
        w.deq.resize(static_cast<size_t>(n * k));
        std::vector<float> f(static_cast<size_t>(k));
        for (int64_t r = 0; r < n; ++r) {
            for (float& v : f) v = g(rng_);
            uint8_t* dst = w.bytes.data() + offset + r * w.stride;
            quant::quantize_row(type, f.data(), dst, k);
            quant::dequantize_row(type, dst, w.deq.data() + r * k, k);
        }
        return w;
    }

    // x [t, k], rows x_stride floats apart, NaN in the gaps.
    std::vector<float> make_x(XKind kind, int64_t t, int64_t k, int64_t x_stride) {
        std::vector<float> x(static_cast<size_t>(t * x_stride), kNaN);
        std::normal_distribution<float> g(0.0f, 1.0f);
        std::uniform_int_distribution<int> q(-127, 127);
        for (int64_t i = 0; i < t; ++i) {
            for (int64_t e = 0; e < k; ++e) {
                float v;
                if (kind == XKind::kExact) {
                    v = static_cast<float>(q(rng_));
                    if (e % 32 == 5) v = (rng_() & 1) ? 127.0f : -127.0f;
                } else {
                    v = g(rng_);
                    if (kind == XKind::kHeavy && (i * k + e) % 97 == 0) v *= 8.0f;
                }
                x[static_cast<size_t>(i * x_stride + e)] = v;
            }
        }
        return x;
    }

    template <typename T>
    cuda::DeviceBuffer upload(const std::vector<T>& v) {
        auto b = cuda::DeviceBuffer::alloc(std::max<size_t>(v.size() * sizeof(T), 1));
        EXPECT_TRUE(b.ok());
        EXPECT_TRUE(b->upload(v.data(), v.size() * sizeof(T)).ok());
        return std::move(*b);
    }

    // Runs every variant on (w, x) and checks each against the reference: max|got − want| /
    // max|want| ≤ bound, NaN gaps of y intact. Returns the worst error.
    double check(const Weights& w, int64_t n, int64_t k, int64_t t, const std::vector<float>& x,
                 int64_t x_stride, int64_t y_pad, const std::vector<Variant>& variants,
                 double bound, const std::string& where) {
        std::vector<double> want(static_cast<size_t>(t * n));
        double scale = 0;
        for (int64_t i = 0; i < t; ++i) {
            for (int64_t r = 0; r < n; ++r) {
                double s = 0;
                const float* wr = w.deq.data() + r * k;
                const float* xr = x.data() + i * x_stride;
                for (int64_t e = 0; e < k; ++e) s += static_cast<double>(wr[e]) * xr[e];
                want[static_cast<size_t>(i * n + r)] = s;
                scale = std::max(scale, std::fabs(s));
            }
        }
        const int64_t y_stride = n + y_pad;
        cuda::DeviceBuffer dw = upload(w.bytes), dx = upload(x);
        const void* wp = static_cast<const uint8_t*>(dw.data()) + w.offset;
        double worst = 0;
        for (const Variant& v : variants) {
            std::vector<float> y(static_cast<size_t>(t * y_stride), kNaN);
            cuda::DeviceBuffer dy = upload(y);
            const Status s = v.run(wp, w.stride, static_cast<const float*>(dx.data()),
                                   static_cast<size_t>(x_stride), static_cast<float*>(dy.data()),
                                   static_cast<size_t>(y_stride));
            EXPECT_TRUE(s.ok()) << s.to_string() << " " << v.name << where;
            if (!s.ok()) continue;
            EXPECT_TRUE(cuda::synchronize().ok());
            EXPECT_TRUE(dy.download(y.data(), y.size() * sizeof(float)).ok());
            double err = 0;
            for (int64_t i = 0; i < t; ++i) {
                for (int64_t r = 0; r < n; ++r) {
                    const double d = std::fabs(y[static_cast<size_t>(i * y_stride + r)] -
                                               want[static_cast<size_t>(i * n + r)]);
                    err = std::isnan(d) ? INFINITY : std::max(err, d);
                }
                for (int64_t r = n; r < y_stride; ++r)
                    EXPECT_TRUE(std::isnan(y[static_cast<size_t>(i * y_stride + r)]))
                        << "y gap written at " << i << "," << r << " " << v.name << where;
            }
            err /= std::max(scale, 1e-30);
            EXPECT_LE(err, bound) << v.name << where;
            worst = std::max(worst, err);
        }
        return worst;
    }
};

// matvec() (automatic), the int8 path with its automatic knobs, and every knob combination;
// blocks_per_sm = 1 makes each block loop over several row groups (N ≥ 37 with 8 rows per block
// on fewer SMs than groups only for the larger N; 4099 rows: ~4 groups per block on 132 SMs).
std::vector<Variant> all_variants(DType type, int64_t n, int64_t k, int64_t t) {
    std::vector<Variant> v;
    v.push_back(
        {"matvec", [=](const void* w, size_t ws, const float* x, size_t xs, float* y, size_t ys) {
             return cuda::matvec(type, w, n, k, ws, x, t, xs, y, ys);
         }});
    const auto int8 = [&](const std::string& name, cuda::MatvecInt8Config c) {
        v.push_back(
            {name, [=](const void* w, size_t ws, const float* x, size_t xs, float* y, size_t ys) {
                 return cuda::matvec_int8(type, w, n, k, ws, x, t, xs, y, ys, c);
             }});
    };
    int8("int8 auto", {});
    for (int warps : {8, 16})
        for (int rows : {1, 2})
            for (int ahead : {1, 2})
                for (int bps : {0, 1})
                    int8("int8 warps=" + std::to_string(warps) + " rows=" + std::to_string(rows) +
                             " prefetch=" + std::to_string(ahead) +
                             " blocks/SM=" + std::to_string(bps),
                         {rows, bps, ahead, warps});
    for (int warps : {8, 16})  // deeper prefetch rings (one row per warp only)
        for (int ahead : {4, 8})
            for (int bps : {0, 1})
                int8("int8 warps=" + std::to_string(warps) + " rows=1 prefetch=" +
                         std::to_string(ahead) + " blocks/SM=" + std::to_string(bps),
                     {1, bps, ahead, warps});
    return v;
}

// A device address with the weights' alignment (device buffers are at least 256-byte aligned).
const void* device_like(const Weights& w) {
    return reinterpret_cast<const void*>(uintptr_t{1} << 20 | w.offset);
}

std::string where(DType type, int64_t n, int64_t k, int64_t t, int64_t x_pad) {
    return std::string(" [") + dtype_name(type) + " n=" + std::to_string(n) +
           " k=" + std::to_string(k) + " t=" + std::to_string(t) +
           " x_pad=" + std::to_string(x_pad) + "]";
}

double exact_bound(int64_t k) { return 1e-5 * (1.0 + static_cast<double>(k) / 256); }

// Integer x that int8 represents exactly: the path equals the reference to fp32 rounding.
TEST_F(CudaMatvecInt8Test, ExactOnInt8RepresentableX) {
    int count = 0;
    for (DType type : kTypes) {
        for (int64_t n : {1, 37, 301}) {
            for (int64_t k : {256, 512, 2048, 2560, 8192}) {
                const Weights w = weights(type, n, k);
                for (int64_t t : {1, 2, 3, 8}) {
                    // x rows 16-byte aligned (pad 4: vector loads) or not (pad 3: scalar loads).
                    const int64_t x_pad = (count++ % 2) ? 3 : 4, y_pad = 5;
                    ASSERT_TRUE(cuda::matvec_int8_supports(type, k, device_like(w), w.stride));
                    const std::vector<float> x = make_x(XKind::kExact, t, k, k + x_pad);
                    check(w, n, k, t, x, k + x_pad, y_pad, all_variants(type, n, k, t),
                          exact_bound(k), where(type, n, k, t, x_pad));
                }
            }
        }
    }
}

// Many row groups per block (4099 rows), more tokens than one pass (11), weights at offsets
// and row strides that keep (Q4_K/Q5_K: 16 bytes) or only just keep (Q6_K: 2 bytes, rows
// alternating between 4-byte and 2-byte alignment) the format's alignment.
TEST_F(CudaMatvecInt8Test, ExactOnManyRowsTokensAndStrides) {
    for (DType type : kTypes) {
        const bool q6 = type == DType::kQ6_K;
        for (auto [n, k, t] : {std::tuple<int64_t, int64_t, int64_t>{4099, 256, 1},
                               {4099, 2048, 3},
                               {37, 2048, 11},
                               {301, 768, 2}}) {
            const Weights w = weights(type, n, k, q6 ? 2 : 16, q6 ? 2 : 16);
            ASSERT_TRUE(cuda::matvec_int8_supports(type, k, device_like(w), w.stride));
            const std::vector<float> x = make_x(XKind::kExact, t, k, k + 8);
            check(w, n, k, t, x, k + 8, 3, all_variants(type, n, k, t), exact_bound(k),
                  where(type, n, k, t, 8));
        }
    }
}

// The reduced-precision bound on random x (see the top of the file).
TEST_F(CudaMatvecInt8Test, RandomXWithinInt8Bound) {
    for (DType type : kTypes) {
        for (int64_t k : {256, 2048, 8192}) {
            const int64_t n = 301, t = 3;
            const Weights w = weights(type, n, k);
            for (XKind kind : {XKind::kNormal, XKind::kHeavy}) {
                const std::vector<float> x = make_x(kind, t, k, k);
                const double bound = kind == XKind::kNormal ? 1.5e-2 : 3e-2;
                const double err =
                    check(w, n, k, t, x, k, 0, all_variants(type, n, k, t), bound,
                          where(type, n, k, t, 0) +
                              (kind == XKind::kNormal ? " normal x" : " heavy-tailed x"));
                RecordProperty(std::string(dtype_name(type)) + "_k" + std::to_string(k) +
                                   (kind == XKind::kNormal ? "_normal" : "_heavy"),
                               std::to_string(err));
            }
        }
    }
}

// Shared memory: K = 65536 fits one token (passes of one token each); one super-block more does
// not, and matvec() must then run the exact fp32 kernels. A weight base that breaks Q4_K's
// 16-byte alignment also falls back.
TEST_F(CudaMatvecInt8Test, LargeKAndMisalignedWeightsFallBack) {
    for (DType type : kTypes) {
        {
            const int64_t n = 37, k = 65536, t = 3;
            const Weights w = weights(type, n, k);
            ASSERT_TRUE(cuda::matvec_int8_supports(type, k, device_like(w), w.stride));
            const std::vector<float> x = make_x(XKind::kExact, t, k, k);
            check(w, n, k, t, x, k, 1, all_variants(type, n, k, t), exact_bound(k),
                  where(type, n, k, t, 0));
        }
        {
            const int64_t n = 7, k = 65536 + 256, t = 2;
            const Weights w = weights(type, n, k);
            EXPECT_FALSE(cuda::matvec_int8_supports(type, k, device_like(w), w.stride));
            const std::vector<float> x = make_x(XKind::kNormal, t, k, k + 4);
            std::vector<Variant> v = {
                {"matvec (fp32 fallback)",
                 [=](const void* wp, size_t ws, const float* xp, size_t xs, float* yp, size_t ys) {
                     return cuda::matvec(type, wp, n, k, ws, xp, t, xs, yp, ys);
                 }}};
            check(w, n, k, t, x, k + 4, 2, v, exact_bound(k), where(type, n, k, t, 4));
            const Status s =
                cuda::matvec_int8(type, w.bytes.data(), n, k, w.stride, nullptr, t, k, nullptr, n);
            EXPECT_FALSE(s.ok()) << "the forced int8 path must refuse K = " << k;
        }
    }
    {  // Q4_K rows 2 bytes off the 16-byte alignment its 128-bit loads need.
        const int64_t n = 37, k = 2048, t = 2;
        const Weights w = weights(DType::kQ4_K, n, k, 2, 2);
        EXPECT_FALSE(cuda::matvec_int8_supports(DType::kQ4_K, k, device_like(w), w.stride));
        const std::vector<float> x = make_x(XKind::kNormal, t, k, k);
        std::vector<Variant> v = {
            {"matvec (misaligned Q4_K, fp32 fallback)",
             [=](const void* wp, size_t ws, const float* xp, size_t xs, float* yp, size_t ys) {
                 return cuda::matvec(DType::kQ4_K, wp, n, k, ws, xp, t, xs, yp, ys);
             }}};
        check(w, n, k, t, x, k, 0, v, exact_bound(k), where(DType::kQ4_K, n, k, t, 0));
    }
}

}  // namespace
}  // namespace unicorn
