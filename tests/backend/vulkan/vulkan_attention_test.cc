// Vulkan attention, copy_rows and error paths against ops/ref and host copies: grouped KV
// heads, sliding windows, softcap, keys across several 64-key tiles, queries that see no key,
// strided K/V views (a KV cache's window), rows copied at odd byte offsets. Skips, saying why,
// without a Vulkan device.
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <string>

#include "ops/ref/reference.h"
#include "vulkan_test_util.h"

namespace unicorn::vulkan_test {
namespace {

class VulkanAttentionTest : public VulkanOpTest {};

TEST_F(VulkanAttentionTest, AttentionMatchesReference) {
    struct Case {
        int heads, kv_heads, dim;
        int64_t t, s;
        int32_t window;
        float softcap;
    };
    const Case cases[] = {
        {2, 1, 16, 3, 5, 0, 0.0f},    {4, 2, 32, 5, 70, 0, 0.0f},   // 70 keys: two tiles
        {3, 3, 64, 4, 130, 16, 0.0f}, {2, 1, 256, 2, 9, 0, 50.0f},  // window; head_dim 256
        {2, 2, 80, 3, 40, 5, 30.0f},  {1, 1, 8, 2, 0, 0, 0.0f},     // no keys at all
    };
    for (const Case& c : cases) {
        const int64_t qw = int64_t{c.heads} * c.dim, kw = int64_t{c.kv_heads} * c.dim;
        const Mat q = mat(c.t, qw, 3), k = mat(c.s, kw, 5), v = mat(c.s, kw, 2);
        // Keys at 0…s-1 in a shuffled order (a ring buffer's rows); queries at the end, the
        // first one before every key (it sees none: zeros).
        std::vector<int32_t> k_pos(static_cast<size_t>(c.s)), q_pos(static_cast<size_t>(c.t));
        std::iota(k_pos.begin(), k_pos.end(), 0);
        std::shuffle(k_pos.begin(), k_pos.end(), rng_);
        for (int64_t i = 0; i < c.t; ++i)
            q_pos[static_cast<size_t>(i)] = i == 0 ? -1 : static_cast<int32_t>(c.s - c.t + i);
        const ops::AttentionParams p{c.heads,  c.kv_heads, c.dim, 1.0f / std::sqrt(float(c.dim)),
                                     c.window, c.softcap};
        Mat want(c.t, qw);
        ops::ref::attention(q.tensor(), q_pos, k.tensor(), v.tensor(), k_pos, p, want.tensor());
        const Tensor out = dev_poisoned(c.t, qw, 1);
        const Status s = vk_->attention(dev(q), q_pos, dev(k), dev(v), k_pos, p, out);
        ASSERT_TRUE(s.ok()) << s.to_string();
        // fp32 online softmax against double: a few ulp per key.
        EXPECT_LE(max_rel_err(fetch(out), want), 5e-6 * (1 + c.s / 64.0))
            << "heads=" << c.heads << "/" << c.kv_heads << " dim=" << c.dim << " s=" << c.s
            << " window=" << c.window << " softcap=" << c.softcap;
    }
}

TEST_F(VulkanAttentionTest, CopyRowsMatchesHostCopy) {
    std::uniform_int_distribution<int> byte(0, 255);
    for (size_t row_bytes : {size_t{1}, size_t{7}, size_t{100}}) {
        for (size_t gap : {size_t{0}, size_t{16}}) {
            const int64_t rows = 9, n = 4;
            const size_t stride = row_bytes + gap;
            std::vector<uint8_t> src(stride * rows), dst(stride * rows + 3);
            for (uint8_t& b : src) b = static_cast<uint8_t>(byte(rng_));
            for (uint8_t& b : dst) b = static_cast<uint8_t>(byte(rng_));
            auto up = [&](std::vector<uint8_t>& bytes) {
                auto t = vk_->alloc(DType::kI8, Shape{1, static_cast<int64_t>(bytes.size())});
                EXPECT_TRUE(t.ok());
                EXPECT_TRUE(
                    vk_->upload(Tensor::view(DType::kI8, t->shape(), bytes.data()), *t).ok());
                return *t;
            };
            const Tensor s_all = up(src), d_all = up(dst);
            // dst rows start 3 bytes in: byte-aligned only.
            const Tensor s = Tensor::device_view(DType::kI8, Shape{rows, int64_t(row_bytes)},
                                                 s_all.data(), s_all.owner(), stride);
            const Tensor d =
                Tensor::device_view(DType::kI8, Shape{rows, int64_t(row_bytes)},
                                    static_cast<uint8_t*>(d_all.data()) + 3, d_all.owner(), stride);
            const std::vector<int64_t> src_rows = {8, 0, 3, 5}, dst_rows = {1, 7, 2, 4};
            ASSERT_TRUE(vk_->copy_rows(s, src_rows, d, dst_rows, n).ok());
            for (int64_t i = 0; i < n; ++i)
                std::memcpy(dst.data() + 3 + dst_rows[i] * stride,
                            src.data() + src_rows[i] * stride, row_bytes);
            auto h = vk_->to_host(d_all);
            ASSERT_TRUE(h.ok());
            EXPECT_EQ(std::memcmp(h->data(), dst.data(), dst.size()), 0)
                << "row_bytes=" << row_bytes << " gap=" << gap;
        }
    }
}

TEST_F(VulkanAttentionTest, BadInputsAreErrorsNotCrashes) {
    const Mat x = mat(2, 8);
    const Tensor out = dev_poisoned(2, 8, 0);
    // An activation in host memory.
    const Status s = vk_->add(x.tensor(), x.tensor(), out);
    EXPECT_FALSE(s.ok());
    EXPECT_NE(s.message().find("host memory"), std::string::npos) << s.message();
    // A weight type without a shader.
    std::vector<uint8_t> q(dtype_row_bytes(DType::kQ2_K, 256) * 2);
    EXPECT_FALSE(vk_->supports(OpKind::kLinear, DType::kQ2_K));
    const Status l =
        vk_->linear(dev(mat(1, 256)), Tensor::view(DType::kQ2_K, Shape{2, 256}, q.data()), out);
    EXPECT_FALSE(l.ok());
    EXPECT_NE(l.message().find("Q2_K"), std::string::npos) << l.message();
    // The backend still works after refusing.
    EXPECT_TRUE(vk_->add(dev(x), dev(x), out).ok());
    EXPECT_TRUE(vk_->to_host(out).ok());
}

// The path of discrete GPUs (device-local buffers, weights uploaded through staging buffers,
// results read back through them), forced on a unified-memory device: same results.
TEST_F(VulkanAttentionTest, StagingPathMatchesReference) {
    setenv("UNICORN_VULKAN_STAGING", "1", 1);
    auto b = vulkan::VulkanBackend::create(0);
    unsetenv("UNICORN_VULKAN_STAGING");
    ASSERT_TRUE(b.ok()) << b.status().to_string();
    vk_ = std::move(*b);
    const int64_t n = 9, k = 64, t = 3;
    const std::vector<float>& w = keep(random(static_cast<size_t>(n * k)));
    const Tensor wt = Tensor::view(DType::kF32, Shape{n, k}, const_cast<float*>(w.data()));
    const Mat x = mat(t, k, 1);
    Mat want(t, n);
    ops::ref::linear(x.tensor(), wt, want.tensor());
    const Tensor y = dev_poisoned(t, n, 2);
    ASSERT_TRUE(vk_->linear(dev(x), wt, y).ok());
    EXPECT_LE(max_rel_err(fetch(y), want), 1e-6);
    // The weight now lives in a device-local buffer: the embedding shader gathers from it.
    const std::vector<int32_t> ids = {4, 0, 8};
    Mat rows(3, k);
    ops::ref::embedding(wt, ids, {2.0f}, rows.tensor());
    const Tensor out = dev_poisoned(3, k, 0);
    ASSERT_TRUE(vk_->embedding(wt, ids, {2.0f}, out).ok());
    EXPECT_LE(max_rel_err(fetch(out), rows), 1e-7);
}

}  // namespace
}  // namespace unicorn::vulkan_test
