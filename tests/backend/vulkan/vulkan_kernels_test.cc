// Every Vulkan op against the scalar reference (ops/ref) on random data: weights quantized by
// the reference quantizer, odd shapes (rows not a multiple of the workgroup, K of one and
// several blocks, 1…5 tokens: more than one pass of linear.comp's 4-token loop; 8…70 tokens:
// matmul_tiled.comp with partial row and token tiles), strided operands whose
// row gaps hold NaN (a shader reading past a row's end fails) and outputs poisoned with NaN
// (an unwritten element fails; written gaps fail too). Shapes are small: lavapipe runs the
// shaders on the CPU. Skips, saying why, without a Vulkan device.
#include <cstdlib>
#include <string>

#include "ops/ref/reference.h"
#include "quant/quantize.h"
#include "vulkan_test_util.h"

namespace unicorn::vulkan_test {
namespace {

class VulkanKernelTest : public VulkanOpTest {};

// Both reductions: subgroup clusters where the device has them, shared memory otherwise
// (UNICORN_VULKAN_SUBGROUPS=0 forces the fallback on a device that has both).
TEST_F(VulkanKernelTest, LinearMatchesReferenceForEveryType) {
    for (bool subgroups : {true, false}) {
        if (!subgroups) {
            setenv("UNICORN_VULKAN_SUBGROUPS", "0", 1);
            auto b = vulkan::VulkanBackend::create(0);
            unsetenv("UNICORN_VULKAN_SUBGROUPS");
            ASSERT_TRUE(b.ok()) << b.status().to_string();
            vk_ = std::move(*b);
        }
        for (DType type :
             {DType::kF32, DType::kF16, DType::kBF16, DType::kQ8_0, DType::kQ4_0, DType::kQ4_1,
              DType::kQ5_0, DType::kQ5_1, DType::kQ4_K, DType::kQ5_K, DType::kQ6_K}) {
            ASSERT_TRUE(vk_->supports(OpKind::kLinear, type));
            const bool quantized = dtype_block_size(type) > 1;
            const int64_t block = quantized ? dtype_block_size(type) : 32;
            // Float K past a whole chunk: the tiled shader's K tail.
            const int64_t k3 = quantized ? 5 * block : 45;
            for (int64_t n : {1, 7, 37, 65, 130}) {
                for (int64_t k : {block, 3 * block, k3}) {
                    for (int64_t t : {1, 5, 8, 33, 70}) {
                        // The tiled shader has no subgroup variant: once is enough.
                        if (!subgroups && t >= 8) continue;
                        const std::vector<float> wf = random(static_cast<size_t>(n * k));
                        const size_t row_bytes = dtype_row_bytes(type, k);
                        std::vector<uint8_t> q(static_cast<size_t>(n) * row_bytes);
                        for (int64_t r = 0; r < n; ++r)
                            quant::quantize_row(type, wf.data() + r * k, q.data() + r * row_bytes,
                                                k);
                        const std::vector<uint8_t>& wq = keep(std::move(q));
                        const Tensor w =
                            Tensor::view(type, Shape{n, k}, const_cast<uint8_t*>(wq.data()));
                        const Mat x = mat(t, k, 3);
                        Mat want(t, n);
                        ops::ref::linear(x.tensor(), w, want.tensor());
                        const Tensor y = dev_poisoned(t, n, 2);
                        const Status s = vk_->linear(dev(x), w, y);
                        ASSERT_TRUE(s.ok()) << s.to_string();
                        // fp32 sums of exact dequantized products against double: order only.
                        EXPECT_LE(max_rel_err(fetch(y), want), 1e-5 * (1.0 + k / 256.0))
                            << dtype_name(type) << " n=" << n << " k=" << k << " t=" << t
                            << " subgroups=" << subgroups;
                    }
                }
            }
        }
    }
}

// F32 weights with K below a block (Gemma 3n's AltUp coefficients), and more output rows than
// one grid dimension holds (a vocabulary head: the shader's 2-D row index), for both shaders.
TEST_F(VulkanKernelTest, LinearSmallKAndManyRows) {
    for (auto [n, k] : {std::pair<int64_t, int64_t>{9, 1}, {16, 3}, {5, 17}, {70001, 4}}) {
        const std::vector<float>& w = keep(random(static_cast<size_t>(n * k)));
        const Tensor wt = Tensor::view(DType::kF32, Shape{n, k}, const_cast<float*>(w.data()));
        for (int64_t t : {2, 9}) {
            const Mat x = mat(t, k);
            Mat want(t, n);
            ops::ref::linear(x.tensor(), wt, want.tensor());
            const Tensor y = dev_poisoned(t, n, 0);
            ASSERT_TRUE(vk_->linear(dev(x), wt, y).ok());
            EXPECT_LE(max_rel_err(fetch(y), want), 1e-6) << n << "x" << k << " t=" << t;
        }
    }
}

TEST_F(VulkanKernelTest, EmbeddingMatchesReferenceOnDeviceAndHostTables) {
    const int64_t vocab = 11;
    for (DType type :
         {DType::kF32, DType::kF16, DType::kBF16, DType::kQ8_0, DType::kQ4_0, DType::kQ4_1,
          DType::kQ5_0, DType::kQ5_1, DType::kQ4_K, DType::kQ5_K, DType::kQ6_K, DType::kQ2_K}) {
        const int64_t d = dtype_block_size(type) > 1 ? 2 * dtype_block_size(type) : 40;
        const std::vector<float> f = random(static_cast<size_t>(vocab * d));
        const size_t row_bytes = dtype_row_bytes(type, d);
        std::vector<uint8_t> q(static_cast<size_t>(vocab) * row_bytes);
        for (int64_t r = 0; r < vocab; ++r)
            quant::quantize_row(type, f.data() + r * d, q.data() + r * row_bytes, d);
        const Tensor host = Tensor::view(type, Shape{vocab, d}, q.data());
        auto table = vk_->alloc(type, Shape{vocab, d});
        ASSERT_TRUE(table.ok());
        ASSERT_TRUE(vk_->upload(host, *table).ok());
        const std::vector<int32_t> ids = {3, 0, 10, 3, 7};
        Mat want(5, d);
        ops::ref::embedding(host, ids, {0.5f}, want.tensor());
        // The host table is gathered on the host; the device one by the shader (where the
        // type has one: Q2_K has none).
        for (const Tensor& t : {host, *table}) {
            if (t.on_device() && !vulkan::shader_supports(type)) continue;
            const Tensor out = dev_poisoned(5, d, 3);
            const Status s = vk_->embedding(t, ids, {0.5f}, out);
            ASSERT_TRUE(s.ok()) << s.to_string();
            EXPECT_LE(max_rel_err(fetch(out), want), 1e-7)
                << dtype_name(type) << (t.on_device() ? " device" : " host");
        }
    }
}

TEST_F(VulkanKernelTest, RmsNormAndElementwiseMatchReference) {
    for (int64_t rows : {1, 7}) {
        for (int64_t cols : {1, 33, 700}) {
            const int64_t pad = 5;
            const Mat x = mat(rows, cols, pad, 3.0f), u = mat(rows, cols, pad + 2);
            const Mat b1 = mat(1, cols, pad);
            const std::vector<float>& w = keep(random(static_cast<size_t>(cols)));
            const Tensor wt = Tensor::view(DType::kF32, Shape{cols}, const_cast<float*>(w.data()));
            const Tensor dx = dev(x), du = dev(u), db1 = dev(b1);
            const std::string where =
                " rows=" + std::to_string(rows) + " cols=" + std::to_string(cols);
            auto check = [&](const char* name, double tol, auto op, auto ref) {
                const Tensor out = dev_poisoned(rows, cols, pad + 1);
                const Status s = op(out);
                ASSERT_TRUE(s.ok()) << name << ": " << s.to_string();
                Mat want(rows, cols);
                ref(want.tensor());
                EXPECT_LE(max_rel_err(fetch(out), want), tol) << name << where;
            };
            const double norm_tol = 1e-6 * (1 + cols / 64.0);
            check(
                "rms_norm", norm_tol,
                [&](const Tensor& o) { return vk_->rms_norm(dx, wt, {1e-6f}, o); },
                [&](const Tensor& t) { ops::ref::rms_norm(x.tensor(), wt, {1e-6f}, t); });
            check(
                "rms_norm + residual", norm_tol,
                [&](const Tensor& o) {
                    return vk_->rms_norm(dx, wt, {1e-6f, &du}, o);
                },
                [&](const Tensor& t) {
                    const Tensor res = u.tensor();
                    ops::ref::rms_norm(x.tensor(), wt, {1e-6f, &res}, t);
                });
            check(
                "rms_norm (no weight)", norm_tol,
                [&](const Tensor& o) { return vk_->rms_norm(dx, Tensor(), {1e-6f}, o); },
                [&](const Tensor& t) { ops::ref::rms_norm(x.tensor(), Tensor(), {1e-6f}, t); });
            check(
                "add", 1e-7, [&](const Tensor& o) { return vk_->add(dx, du, o); },
                [&](const Tensor& t) { ops::ref::add(x.tensor(), u.tensor(), t); });
            check(
                "add (b repeating)", 1e-7, [&](const Tensor& o) { return vk_->add(dx, db1, o); },
                [&](const Tensor& t) { ops::ref::add(x.tensor(), b1.tensor(), t); });
            check(
                "mul", 1e-7, [&](const Tensor& o) { return vk_->mul(dx, du, o); },
                [&](const Tensor& t) { ops::ref::mul(x.tensor(), u.tensor(), t); });
            check(
                "mul (broadcast host row)", 1e-7,
                [&](const Tensor& o) { return vk_->mul(dx, wt, o); },
                [&](const Tensor& t) { ops::ref::mul(x.tensor(), wt, t); });
            check(
                "scale", 1e-7, [&](const Tensor& o) { return vk_->scale(dx, 0.37f, o); },
                [&](const Tensor& t) { ops::ref::scale(x.tensor(), 0.37f, t); });
            // exp and tanh in fp32 against double: a few ulp of the row's scale.
            check(
                "gelu_tanh_mul", 1e-6,
                [&](const Tensor& o) { return vk_->gelu_tanh_mul(dx, du, o); },
                [&](const Tensor& t) { ops::ref::gelu_tanh_mul(x.tensor(), u.tensor(), t); });
            check(
                "silu_mul", 1e-6, [&](const Tensor& o) { return vk_->silu_mul(dx, du, o); },
                [&](const Tensor& t) { ops::ref::silu_mul(x.tensor(), u.tensor(), t); });
            check(
                "softcap", 1e-6, [&](const Tensor& o) { return vk_->softcap(dx, 5.0f, o); },
                [&](const Tensor& t) { ops::ref::softcap(x.tensor(), 5.0f, t); });
            {  // in place: out = a (add) and out = x (rms_norm)
                const Tensor io = dev(x);
                ASSERT_TRUE(vk_->add(io, du, io).ok());
                Mat want(rows, cols);
                ops::ref::add(x.tensor(), u.tensor(), want.tensor());
                EXPECT_LE(max_rel_err(fetch(io), want), 1e-7) << "add in place" << where;
                const Tensor io2 = dev(x);
                ASSERT_TRUE(vk_->rms_norm(io2, wt, {1e-6f}, io2).ok());
                ops::ref::rms_norm(x.tensor(), wt, {1e-6f}, want.tensor());
                EXPECT_LE(max_rel_err(fetch(io2), want), norm_tol) << "rms_norm in place" << where;
            }
        }
    }
}

TEST_F(VulkanKernelTest, RopeMatchesReference) {
    std::uniform_int_distribution<int32_t> pos_dist(0, 5000);
    for (ops::RopeMode mode : {ops::RopeMode::kNeox, ops::RopeMode::kNormal}) {
        for (int head_dim : {16, 256}) {
            for (int rot_dim : {head_dim, head_dim / 2}) {
                const int n_heads = 3;
                const int64_t t = 5;
                std::vector<float> freq(static_cast<size_t>(rot_dim / 2));
                ops::ref::rope_inv_freq(10000.0, rot_dim, freq.data());
                std::vector<int32_t> pos(static_cast<size_t>(t));
                for (int32_t& p : pos) p = pos_dist(rng_);
                const ops::RopeParams p{n_heads, head_dim, rot_dim, mode, freq.data()};
                Mat x = mat(t, int64_t{n_heads} * head_dim, 4);
                const Tensor dx = dev(x);
                ASSERT_TRUE(vk_->rope(dx, pos, p).ok());
                ops::ref::rope(x.tensor(), pos, p);
                // The angles' cos/sin are the reference's; only the fp32 rotation differs.
                EXPECT_LE(max_rel_err(fetch(dx), x), 1e-6)
                    << "head_dim=" << head_dim << " rot_dim=" << rot_dim;
            }
        }
    }
}

}  // namespace
}  // namespace unicorn::vulkan_test
