// Every CUDA kernel against the scalar reference (ops/ref) on random data: weights quantized by
// the reference quantizer, odd shapes (rows not a multiple of the warp's, K of 1 and several
// blocks, 1…11 tokens: more than one pass of the token loop), outputs poisoned with NaN so an
// unwritten element fails. Row-strided operands carry NaN in the gap after each row, so a kernel
// that reads past a row's end fails too, and the outputs' gaps must still hold NaN afterwards.
// Skips, saying why, where no CUDA device is present.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "backend/cuda/cuda_test_fixture.h"
#include "backend/cuda/device.h"
#include "backend/cuda/kernels/kernels.h"
#include "ops/ref/reference.h"
#include "quant/quantize.h"

namespace unicorn {
namespace {

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

// Rows 1 and 7; widths 1, 7, 33, 256 and a model-sized one; contiguous and strided operands
// (each input and the output with a different gap).
// F32 weights with K not a multiple of 32 (Gemma 3n's AltUp coefficients, K = streams).
TEST_F(CudaKernelTest, MatvecSmallKF32MatchesReference) {
    for (int64_t k : {1, 3, 4, 17}) {
        for (int64_t n : {1, 9, 16}) {
            const int64_t t = 5;
            const std::vector<float> w = random(static_cast<size_t>(n * k)),
                                     x = random(static_cast<size_t>(t * k));
            std::vector<float> want(static_cast<size_t>(t * n));
            ops::ref::linear(Tensor::view(DType::kF32, Shape{t, k}, const_cast<float*>(x.data())),
                             Tensor::view(DType::kF32, Shape{n, k}, const_cast<float*>(w.data())),
                             Tensor::view(DType::kF32, Shape{t, n}, want.data()));
            cuda::DeviceBuffer dw = upload(w), dx = upload(x), dy = poisoned(want.size());
            ASSERT_TRUE(cuda::matvec(DType::kF32, dw.data(), n, k, static_cast<size_t>(k) * 4,
                                     static_cast<const float*>(dx.data()), t,
                                     static_cast<size_t>(k), static_cast<float*>(dy.data()),
                                     static_cast<size_t>(n))
                            .ok());
            EXPECT_LE(max_rel_err(download(dy, want.size()), want), 1e-6) << n << "x" << k;
        }
    }
}

TEST_F(CudaKernelTest, RmsNormAndElementwiseMatchReference) {
    for (int64_t rows : {1, 7}) {
        for (int64_t cols : {1, 7, 33, 256, 2048, 2560, 3100}) {
            for (int64_t pad : {0, 5}) {
                const Mat x = mat(rows, cols, pad, 3.0f), u = mat(rows, cols, pad + 2);
                const Mat b1 = mat(1, cols, pad);  // one row, broadcast by mul
                const std::vector<float> w = random(static_cast<size_t>(cols));
                const DevMat dx = dev(x), du = dev(u), db1 = dev(b1);
                const cuda::DeviceBuffer dw = upload(w);
                const Tensor wt =
                    Tensor::view(DType::kF32, Shape{cols}, const_cast<float*>(w.data()));
                const std::string where = " rows=" + std::to_string(rows) +
                                          " cols=" + std::to_string(cols) +
                                          " pad=" + std::to_string(pad);
                // Runs `op` into a poisoned strided output and `ref` into a host one.
                auto check = [&](const char* name, double tol, auto op, auto ref) {
                    const DevMat out = dev_poisoned(rows, cols, pad + 1);
                    const Status s = op(out.v());
                    ASSERT_TRUE(s.ok()) << name << ": " << s.to_string();
                    Mat want(rows, cols);
                    ref(want.tensor());
                    EXPECT_LE(max_rel_err(fetch(out), want), tol) << name << where;
                };
                // fp32 sum of squares against ops/ref's double: ~cols·2^-24 at worst.
                check(
                    "rms_norm", 1e-6 * (1 + cols / 64.0),
                    [&](cuda::View o) {
                        return cuda::rms_norm(dx.c(), static_cast<const float*>(dw.data()), o,
                                              1e-6f);
                    },
                    [&](const Tensor& t) { ops::ref::rms_norm(x.tensor(), wt, {1e-6f}, t); });
                check(
                    "rms_norm + residual", 1e-6 * (1 + cols / 64.0),
                    [&](cuda::View o) {
                        return cuda::rms_norm_add(dx.c(), static_cast<const float*>(dw.data()),
                                                  du.c(), o, 1e-6f);
                    },
                    [&](const Tensor& t) {
                        const Tensor res = u.tensor();
                        ops::ref::rms_norm(x.tensor(), wt, {1e-6f, &res}, t);
                    });
                check(
                    "rms_norm (no weight)", 1e-6 * (1 + cols / 64.0),
                    [&](cuda::View o) { return cuda::rms_norm(dx.c(), nullptr, o, 1e-6f); },
                    [&](const Tensor& t) { ops::ref::rms_norm(x.tensor(), Tensor(), {1e-6f}, t); });
                // add, mul and scale round once, like the reference's double result rounded to
                // float: equal but for the ulp the tolerance allows.
                check(
                    "add", 1e-7, [&](cuda::View o) { return cuda::add(dx.c(), du.c(), o); },
                    [&](const Tensor& t) { ops::ref::add(x.tensor(), u.tensor(), t); });
                check(
                    "add (b repeating)", 1e-7,
                    [&](cuda::View o) { return cuda::add(dx.c(), db1.c(), o); },
                    [&](const Tensor& t) { ops::ref::add(x.tensor(), b1.tensor(), t); });
                check(
                    "mul", 1e-7, [&](cuda::View o) { return cuda::mul(dx.c(), du.c(), o); },
                    [&](const Tensor& t) { ops::ref::mul(x.tensor(), u.tensor(), t); });
                check(
                    "mul (broadcast row)", 1e-7,
                    [&](cuda::View o) { return cuda::mul(dx.c(), db1.c(), o); },
                    [&](const Tensor& t) {
                        const Tensor row = Tensor::view(DType::kF32, Shape{cols},
                                                        const_cast<float*>(b1.data.data()));
                        ops::ref::mul(x.tensor(), row, t);
                    });
                check(
                    "scale", 1e-7, [&](cuda::View o) { return cuda::scale(dx.c(), 0.37f, o); },
                    [&](const Tensor& t) { ops::ref::scale(x.tensor(), 0.37f, t); });
                // tanhf / expf against double: a few ulp.
                check(
                    "gelu_tanh_mul", 1e-6,
                    [&](cuda::View o) { return cuda::gelu_tanh_mul(dx.c(), du.c(), o); },
                    [&](const Tensor& t) { ops::ref::gelu_tanh_mul(x.tensor(), u.tensor(), t); });
                check(
                    "silu_mul", 1e-6,
                    [&](cuda::View o) { return cuda::silu_mul(dx.c(), du.c(), o); },
                    [&](const Tensor& t) { ops::ref::silu_mul(x.tensor(), u.tensor(), t); });
                check(
                    "softcap", 1e-6, [&](cuda::View o) { return cuda::softcap(dx.c(), 5.0f, o); },
                    [&](const Tensor& t) { ops::ref::softcap(x.tensor(), 5.0f, t); });

                // In place: out = a (add) and out = x (rms_norm).
                {
                    const DevMat io = dev(x);
                    ASSERT_TRUE(cuda::add(io.c(), du.c(), io.v()).ok());
                    Mat want(rows, cols);
                    ops::ref::add(x.tensor(), u.tensor(), want.tensor());
                    EXPECT_LE(max_rel_err(fetch(io), want), 1e-7) << "add in place" << where;
                }
                {
                    const DevMat io = dev(x);
                    ASSERT_TRUE(
                        cuda::rms_norm(io.c(), static_cast<const float*>(dw.data()), io.v(), 1e-6f)
                            .ok());
                    Mat want(rows, cols);
                    ops::ref::rms_norm(x.tensor(), wt, {1e-6f}, want.tensor());
                    EXPECT_LE(max_rel_err(fetch(io), want), 1e-6 * (1 + cols / 64.0))
                        << "rms_norm in place" << where;
                }
            }
        }
    }
}

TEST_F(CudaKernelTest, GaussianTopkMatchesReference) {
    for (int64_t rows : {1, 7}) {
        for (int64_t cols : {1, 7, 33, 256, 16384}) {  // 16384: Gemma 3n E2B's FFN width
            for (int64_t pad : {0, 3}) {
                const Mat x = mat(rows, cols, pad, 2.0f);
                const DevMat dx = dev(x), out = dev_poisoned(rows, cols, pad + 1);
                ASSERT_TRUE(cuda::gaussian_topk(dx.c(), 1.6448536f, out.v()).ok());
                Mat want(rows, cols);
                ops::ref::gaussian_topk(x.tensor(), 1.6448536f, want.tensor());
                // Mean and variance are summed in double as in ops/ref (only the order differs),
                // so the outputs agree to float rounding.
                EXPECT_LE(max_rel_err(fetch(out), want), 1e-6)
                    << "rows=" << rows << " cols=" << cols << " pad=" << pad;
            }
        }
    }
}

TEST_F(CudaKernelTest, AltUpMatchesReference) {
    for (int a : {1, 4}) {
        for (int64_t t : {1, 7}) {
            for (int64_t d : {7, 33, 256}) {
                const std::string where = " A=" + std::to_string(a) + " T=" + std::to_string(t) +
                                          " D=" + std::to_string(d);
                // All three compute in double and round once, as ops/ref: float rounding only.
                {
                    Mat x = mat(t, d, 3), target = mat(t, d, 1, 4.0f);
                    for (int64_t c = 0; c < d; ++c) x.at(0, c) = 0.0f;  // mean(x²) below the floor
                    const DevMat dx = dev(x), dt = dev(target), out = dev_poisoned(t, d, 2);
                    ASSERT_TRUE(cuda::match_magnitude(dx.c(), dt.c(), 1e-5f, out.v()).ok());
                    Mat want(t, d);
                    ops::ref::match_magnitude(x.tensor(), target.tensor(), 1e-5f, want.tensor());
                    EXPECT_LE(max_rel_err(fetch(out), want), 1e-6) << "match_magnitude" << where;
                }
                {
                    const Mat streams = mat(a * t, d, 2), coefs = mat(t, a * a, 1, 0.5f);
                    const DevMat ds = dev(streams), dc = dev(coefs),
                                 out = dev_poisoned(a * t, d, 1);
                    ASSERT_TRUE(cuda::altup_predict(ds.c(), dc.c(), a, out.v()).ok());
                    Mat want(a * t, d);
                    ops::ref::altup_predict(streams.tensor(), coefs.tensor(), a, want.tensor());
                    EXPECT_LE(max_rel_err(fetch(out), want), 1e-6) << "altup_predict" << where;
                }
                {
                    const Mat pred = mat(a * t, d, 1), actual = mat(t, d, 2),
                              coefs = mat(t, a, 3, 0.5f);
                    const DevMat dp = dev(pred), da = dev(actual), dc = dev(coefs),
                                 out = dev_poisoned(a * t, d, 4);
                    ASSERT_TRUE(cuda::altup_correct(dp.c(), da.c(), dc.c(), a, out.v()).ok());
                    Mat want(a * t, d);
                    ops::ref::altup_correct(pred.tensor(), actual.tensor(), coefs.tensor(), a,
                                            want.tensor());
                    EXPECT_LE(max_rel_err(fetch(out), want), 1e-6) << "altup_correct" << where;
                }
            }
        }
    }
}

TEST_F(CudaKernelTest, RopeMatchesReference) {
    std::uniform_int_distribution<int32_t> pos_dist(0, 40000);  // large angles too
    for (ops::RopeMode mode : {ops::RopeMode::kNeox, ops::RopeMode::kNormal}) {
        for (int head_dim : {16, 32, 256}) {
            for (int rot_dim : {head_dim, head_dim / 2, 4}) {  // full and partial rotation
                for (int n_heads : {1, 3}) {
                    for (int64_t t : {1, 7}) {
                        Mat x = mat(t, int64_t{n_heads} * head_dim, 5, 2.0f);
                        std::vector<int32_t> pos(static_cast<size_t>(t));
                        for (int32_t& p : pos) p = pos_dist(rng_);
                        std::vector<float> inv_freq(static_cast<size_t>(rot_dim / 2));
                        ops::ref::rope_inv_freq(10000.0, rot_dim, inv_freq.data());
                        const DevMat dx = dev(x);
                        const cuda::DeviceBuffer dpos = upload(pos), dfreq = upload(inv_freq);
                        ASSERT_TRUE(cuda::rope(dx.v(), static_cast<const int32_t*>(dpos.data()),
                                               n_heads, head_dim, rot_dim,
                                               mode == ops::RopeMode::kNeox,
                                               static_cast<const float*>(dfreq.data()))
                                        .ok());
                        ops::RopeParams p;
                        p.n_heads = n_heads;
                        p.head_dim = head_dim;
                        p.rot_dim = rot_dim;
                        p.mode = mode;
                        p.inv_freq = inv_freq.data();
                        ops::ref::rope(x.tensor(), pos, p);
                        // Same fp32 angle, cos/sin and rotation in double on both sides: the
                        // results differ at most by float rounding.
                        EXPECT_LE(max_rel_err(fetch(dx), x), 1e-6)
                            << (mode == ops::RopeMode::kNeox ? "neox" : "normal")
                            << " head_dim=" << head_dim << " rot_dim=" << rot_dim
                            << " heads=" << n_heads << " T=" << t;
                    }
                }
            }
        }
    }
}

TEST_F(CudaKernelTest, AttentionMatchesReference) {
    enum class Order { kSorted, kRing, kShuffled };
    struct Case {
        int64_t t, s;
        int heads, kv_heads, head_dim;
        int32_t window;
        float softcap;
        Order order;
    };
    // Key chunks go to 8 warps: S from 1 to 1000 leaves warps with no key, with masked keys
    // only, and with several chunks; head_dim covers each dims-per-lane class of the kernel.
    const Case cases[] = {
        {1, 1, 2, 1, 16, 0, 0.0f, Order::kSorted},
        {7, 37, 4, 2, 32, 0, 0.0f, Order::kShuffled},   // GQA 2, S > T
        {5, 300, 8, 2, 256, 16, 5.0f, Order::kRing},    // GQA 4, window, softcap
        {3, 200, 4, 1, 16, 7, 3.0f, Order::kShuffled},  // GQA 4, scattered visible keys
        {4, 1000, 2, 1, 32, 0, 0.0f, Order::kRing},     // many chunks per warp
        {3, 70, 4, 4, 128, 0, 0.0f, Order::kRing},      // no GQA
        {6, 129, 4, 2, 96, 40, 0.0f, Order::kRing},     // head_dim not a power of 2
        {2, 50, 2, 1, 512, 0, 0.0f, Order::kShuffled},  // 16 dims per lane
        {2, 20, 2, 2, 1024, 0, 0.0f, Order::kSorted},   // the largest head_dim
    };
    for (const Case& c : cases) {
        const std::string where = "T=" + std::to_string(c.t) + " S=" + std::to_string(c.s) +
                                  " H=" + std::to_string(c.heads) + "/" +
                                  std::to_string(c.kv_heads) + " Dh=" + std::to_string(c.head_dim) +
                                  " window=" + std::to_string(c.window) +
                                  " softcap=" + std::to_string(c.softcap);
        const int64_t qw = int64_t{c.heads} * c.head_dim, kvw = int64_t{c.kv_heads} * c.head_dim;
        // Keys hold positions base … base+S−1 in the chosen slot order; queries the last T.
        const int32_t base = 3;
        std::vector<int32_t> k_pos(static_cast<size_t>(c.s)), q_pos(static_cast<size_t>(c.t));
        for (int64_t s = 0; s < c.s; ++s) {
            const int64_t slot = c.order == Order::kRing ? (s + c.s / 3) % c.s : s;
            k_pos[static_cast<size_t>(slot)] = base + static_cast<int32_t>(s);
        }
        if (c.order == Order::kShuffled) std::shuffle(k_pos.begin(), k_pos.end(), rng_);
        for (int64_t i = 0; i < c.t; ++i)
            q_pos[static_cast<size_t>(i)] = base + static_cast<int32_t>(c.s - c.t + i);
        // Query 0 sees no key (before them all); with a window, query 1 sees none either (every
        // key at least `window` behind it).
        q_pos[0] = base - 1;
        if (c.window > 0 && c.t > 2) q_pos[1] = base + static_cast<int32_t>(c.s) - 1 + c.window;

        const Mat q = mat(c.t, qw, 3);
        // K and V side by side in one buffer, as a KV cache's column slices: stride > width.
        Mat kv = mat(c.s, 2 * kvw, 4);
        const DevMat dq = dev(q), dkv = dev(kv);
        const cuda::DeviceBuffer dqp = upload(q_pos), dkp = upload(k_pos);
        const cuda::DeviceBuffer dn = upload(std::vector<int32_t>{static_cast<int32_t>(c.s)});
        // Scores of std ~1; with a softcap, of std ~sqrt(head_dim), so that the cap bites.
        const float scale = c.softcap > 0 ? 1.0f : 1.0f / std::sqrt(static_cast<float>(c.head_dim));
        // Three launches of the same case: one block per (query, head); split-K with the
        // count of splits the backend would pick; and the key count read from device memory
        // with the view's rows only a bound (a power of two, as a recorded decode step passes)
        // and 5 splits, so that some splits hold no key at all.
        const int64_t bound = std::bit_ceil(static_cast<uint64_t>(c.s));
        const int split_cases[3] = {1, cuda::attention_splits(c.t, c.heads, c.s), 5};
        std::vector<DevMat> outs;
        for (int variant = 0; variant < 3; ++variant) {
            const int splits = split_cases[variant];
            const int64_t rows = variant == 2 ? bound : c.s;
            const cuda::ConstView kview{dkv.ptr(), rows, kvw, dkv.stride};
            const cuda::ConstView vview{dkv.ptr() + kvw, rows, kvw, dkv.stride};
            const cuda::DeviceBuffer partials =
                cuda::DeviceBuffer::alloc(sizeof(float) * static_cast<size_t>(c.t * c.heads) *
                                          static_cast<size_t>(splits * (c.head_dim + 2)))
                    .value();
            outs.push_back(dev_poisoned(c.t, qw, 2));
            const Status st =
                cuda::attention(dq.c(), static_cast<const int32_t*>(dqp.data()), kview, vview,
                                static_cast<const int32_t*>(dkp.data()),
                                variant == 2 ? static_cast<const int32_t*>(dn.data()) : nullptr,
                                c.heads, c.kv_heads, c.head_dim, scale, c.window, c.softcap, splits,
                                static_cast<float*>(partials.data()), outs.back().v());
            ASSERT_TRUE(st.ok()) << st.to_string() << " " << where;
            ASSERT_TRUE(cuda::synchronize().ok());
        }

        ops::AttentionParams p;
        p.n_heads = c.heads;
        p.n_kv_heads = c.kv_heads;
        p.head_dim = c.head_dim;
        p.scale = scale;
        p.window = c.window;
        p.softcap = c.softcap;
        const size_t kv_stride = static_cast<size_t>(kv.stride) * sizeof(float);
        const Tensor kt = Tensor::view(DType::kF32, Shape{c.s, kvw}, kv.data.data(), kv_stride);
        const Tensor vt =
            Tensor::view(DType::kF32, Shape{c.s, kvw}, kv.data.data() + kvw, kv_stride);
        Mat want(c.t, qw);
        ops::ref::attention(q.tensor(), q_pos, kt, vt, k_pos, p, want.tensor());
        for (int variant = 0; variant < 3; ++variant) {
            const Mat got = fetch(outs[static_cast<size_t>(variant)]);
            // fp32 scores (ops/ref: double): ~1e-6 relative error in q·k over head_dim products,
            // which the softmax weights and the weighted sum carry into the outputs: 5e-5 of the
            // largest output is an upper bound with margin; a masking or rescaling error is O(0.1).
            EXPECT_LE(max_rel_err(got, want), 5e-5) << where << " splits " << split_cases[variant];
            for (int64_t j = 0; j < qw; ++j)
                ASSERT_EQ(got.at(0, j), 0.0f) << "query with no visible key, " << where;
            if (c.window > 0 && c.t > 2) {
                for (int64_t j = 0; j < qw; ++j)
                    ASSERT_EQ(got.at(1, j), 0.0f) << "query past the window, " << where;
            }
        }
    }
}

TEST_F(CudaKernelTest, EmbeddingMatchesReferenceForEveryType) {
    const int64_t vocab = 11;
    for (DType type : {DType::kF32, DType::kF16, DType::kBF16, DType::kQ4_0, DType::kQ4_1,
                       DType::kQ5_0, DType::kQ8_0, DType::kQ4_K, DType::kQ5_K, DType::kQ6_K}) {
        const int64_t block = dtype_block_size(type);
        // Float tables: widths that do and do not suit the 4-element vector path.
        const std::vector<int64_t> widths =
            block > 1 ? std::vector<int64_t>{block, 3 * block} : std::vector<int64_t>{7, 33, 64};
        for (int64_t d : widths) {
            for (size_t row_pad : {size_t{0}, size_t{8}}) {  // 8: rows off 16-byte alignment
                const size_t row_bytes = dtype_row_bytes(type, d) + row_pad;
                const std::vector<float> tf = random(static_cast<size_t>(vocab * d));
                std::vector<uint8_t> table(static_cast<size_t>(vocab) * row_bytes, 0);
                for (int64_t r = 0; r < vocab; ++r)
                    quant::quantize_row(type, tf.data() + r * d, table.data() + r * row_bytes, d);
                const Tensor tt = Tensor::view(type, Shape{vocab, d}, table.data(), row_bytes);
                for (const std::vector<int32_t>& ids :
                     {std::vector<int32_t>{10}, std::vector<int32_t>{3, 0, 10, 3, 7, 1, 5}}) {
                    const auto n = static_cast<int64_t>(ids.size());
                    const float scale = std::sqrt(static_cast<float>(d));
                    const cuda::DeviceBuffer dt = upload(table), di = upload(ids);
                    const DevMat out = dev_poisoned(n, d, 3);
                    const Status s =
                        cuda::embedding(type, dt.data(), row_bytes,
                                        static_cast<const int32_t*>(di.data()), scale, out.v());
                    ASSERT_TRUE(s.ok()) << s.to_string();
                    Mat want(n, d);
                    ops::ref::embedding(tt, ids, {scale}, want.tensor());
                    // Same dequantization but for fma contraction (an ulp), one rounding of the
                    // scale product on both sides.
                    EXPECT_LE(max_rel_err(fetch(out), want), 1e-6)
                        << dtype_name(type) << " d=" << d << " row_pad=" << row_pad << " ids=" << n;
                }
            }
        }
    }
}

TEST_F(CudaKernelTest, CopyRowsMatchesHostCopy) {
    const int64_t src_n = 9, dst_n = 9;
    for (size_t row_bytes : {size_t{1}, size_t{7}, size_t{16}, size_t{100}, size_t{4096}}) {
        for (size_t src_off : {size_t{0}, size_t{3}}) {  // 3: byte-aligned only
            for (size_t src_gap : {size_t{0}, size_t{16}}) {
                const size_t src_stride = row_bytes + src_gap, dst_stride = row_bytes + 32;
                std::vector<uint8_t> src(src_off + src_n * src_stride);
                std::uniform_int_distribution<int> byte(0, 255);
                for (uint8_t& b : src) b = static_cast<uint8_t>(byte(rng_));
                const std::vector<uint8_t> dst0(dst_n * dst_stride, 0xAB);
                const cuda::DeviceBuffer dsrc = upload(src);
                for (int64_t n : {1, 7}) {
                    const std::vector<int64_t> src_rows =
                        n == 1 ? std::vector<int64_t>{5}
                               : std::vector<int64_t>{8, 0, 3, 3, 5, 1, 2};
                    const std::vector<int64_t> dst_rows =
                        n == 1 ? std::vector<int64_t>{3}
                               : std::vector<int64_t>{4, 8, 0, 2, 6, 1, 7};
                    const cuda::DeviceBuffer dsr = upload(src_rows), ddr = upload(dst_rows);
                    for (int mode = 0; mode < 4; ++mode) {  // bit 0: src_rows, bit 1: dst_rows
                        const bool use_src = mode & 1, use_dst = mode & 2;
                        std::vector<uint8_t> want = dst0;
                        for (int64_t i = 0; i < n; ++i) {
                            const int64_t rs = use_src ? src_rows[static_cast<size_t>(i)] : i;
                            const int64_t rd = use_dst ? dst_rows[static_cast<size_t>(i)] : i;
                            std::memcpy(want.data() + rd * dst_stride,
                                        src.data() + src_off + rs * src_stride, row_bytes);
                        }
                        cuda::DeviceBuffer ddst = upload(dst0);
                        const Status s = cuda::copy_rows(
                            static_cast<const uint8_t*>(dsrc.data()) + src_off, src_stride,
                            ddst.data(), dst_stride, row_bytes,
                            use_src ? static_cast<const int64_t*>(dsr.data()) : nullptr,
                            use_dst ? static_cast<const int64_t*>(ddr.data()) : nullptr, n);
                        ASSERT_TRUE(s.ok()) << s.to_string();
                        std::vector<uint8_t> got(want.size());
                        ASSERT_TRUE(ddst.download(got.data(), got.size()).ok());
                        EXPECT_EQ(got, want)
                            << "row_bytes=" << row_bytes << " src_off=" << src_off
                            << " src_gap=" << src_gap << " n=" << n << " mode=" << mode;
                    }
                }
            }
        }
    }
}

// Zero rows (or columns) launch nothing and succeed, whatever the pointers.
TEST_F(CudaKernelTest, ZeroSizeCallsSucceed) {
    const cuda::ConstView c0{nullptr, 0, 8, 8};
    const cuda::View v0{nullptr, 0, 8, 8};
    EXPECT_TRUE(cuda::rms_norm(c0, nullptr, v0, 1e-6f).ok());
    EXPECT_TRUE(cuda::add(c0, c0, v0).ok());
    EXPECT_TRUE(cuda::mul(c0, c0, v0).ok());
    EXPECT_TRUE(cuda::scale(c0, 2.0f, v0).ok());
    EXPECT_TRUE(cuda::gaussian_topk(c0, 1.0f, v0).ok());
    EXPECT_TRUE(cuda::match_magnitude(c0, c0, 1e-5f, v0).ok());
    EXPECT_TRUE(cuda::altup_predict(c0, c0, 4, v0).ok());
    EXPECT_TRUE(cuda::altup_correct(c0, c0, c0, 4, v0).ok());
    EXPECT_TRUE(cuda::rope(v0, nullptr, 8, 64, 64, true, nullptr).ok());
    EXPECT_TRUE(cuda::attention(c0, nullptr, c0, c0, nullptr, nullptr, 8, 2, 64, 1.0f, 0, 0.0f, 1,
                                nullptr, v0)
                    .ok());
    // (A width that is not whole blocks is an error even with no rows.)
    EXPECT_FALSE(cuda::embedding(DType::kQ4_K, nullptr, 144, nullptr, 1.0f, v0).ok());
    EXPECT_TRUE(
        cuda::embedding(DType::kQ8_0, nullptr, 34, nullptr, 1.0f, cuda::View{nullptr, 0, 32, 32})
            .ok());
    EXPECT_TRUE(cuda::copy_rows(nullptr, 16, nullptr, 16, 16, nullptr, nullptr, 0).ok());
    EXPECT_TRUE(cuda::synchronize().ok());
}

}  // namespace
}  // namespace unicorn
