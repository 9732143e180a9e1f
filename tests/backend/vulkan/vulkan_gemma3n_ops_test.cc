// Gemma 3n's ops on Vulkan against ops/ref: activation sparsity (gaussian_topk), AltUp's
// magnitude matching, prediction and correction, over 1 and 4 streams, 1 and 7 tokens, odd
// widths and padded rows, outputs poisoned. Skips, saying why, without a Vulkan device.
#include <string>

#include "ops/ref/reference.h"
#include "vulkan_test_util.h"

namespace unicorn::vulkan_test {
namespace {

class VulkanGemma3nOpsTest : public VulkanOpTest {};

TEST_F(VulkanGemma3nOpsTest, GaussianTopkMatchesReference) {
    for (int64_t rows : {1, 7}) {
        for (int64_t cols : {1, 33, 2048}) {
            const Mat x = mat(rows, cols, 3, 2.0f);
            const Tensor out = dev_poisoned(rows, cols, 1);
            ASSERT_TRUE(vk_->gaussian_topk(dev(x), 1.6448536f, out).ok());
            Mat want(rows, cols);
            ops::ref::gaussian_topk(x.tensor(), 1.6448536f, want.tensor());
            // fp32 mean and variance (tree sums) against double: the cutoff to ~1e-7 relative.
            EXPECT_LE(max_rel_err(fetch(out), want), 1e-6) << rows << "x" << cols;
        }
    }
}

TEST_F(VulkanGemma3nOpsTest, AltUpMatchesReference) {
    for (int a : {1, 4}) {
        for (int64_t t : {1, 7}) {
            for (int64_t d : {7, 256}) {
                const std::string where = " A=" + std::to_string(a) + " T=" + std::to_string(t) +
                                          " D=" + std::to_string(d);
                {
                    Mat x = mat(t, d, 2), target = mat(t, d, 1, 3.0f);
                    for (int64_t c = 0; c < d; ++c) x.at(0, c) = 0.0f;  // below the floor
                    const Tensor out = dev_poisoned(t, d, 3);
                    ASSERT_TRUE(vk_->match_magnitude(dev(x), dev(target), 1e-5f, out).ok());
                    Mat want(t, d);
                    ops::ref::match_magnitude(x.tensor(), target.tensor(), 1e-5f, want.tensor());
                    EXPECT_LE(max_rel_err(fetch(out), want), 1e-6) << "match_magnitude" << where;
                }
                const Mat streams = mat(a * t, d, 2), coefs = mat(t, int64_t{a} * a, 1, 0.5f);
                {
                    const Tensor out = dev_poisoned(a * t, d, 1);
                    ASSERT_TRUE(vk_->altup_predict(dev(streams), dev(coefs), a, out).ok());
                    Mat want(a * t, d);
                    ops::ref::altup_predict(streams.tensor(), coefs.tensor(), a, want.tensor());
                    EXPECT_LE(max_rel_err(fetch(out), want), 1e-6) << "altup_predict" << where;
                }
                {
                    const Mat actual = mat(t, d, 4), gains = mat(t, a, 2, 0.5f);
                    const Tensor out = dev_poisoned(a * t, d, 2);
                    ASSERT_TRUE(
                        vk_->altup_correct(dev(streams), dev(actual), dev(gains), a, out).ok());
                    Mat want(a * t, d);
                    ops::ref::altup_correct(streams.tensor(), actual.tensor(), gains.tensor(), a,
                                            want.tensor());
                    EXPECT_LE(max_rel_err(fetch(out), want), 1e-6) << "altup_correct" << where;
                }
            }
        }
    }
}

}  // namespace
}  // namespace unicorn::vulkan_test
