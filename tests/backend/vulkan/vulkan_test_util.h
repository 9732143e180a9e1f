// Shared by the Vulkan op tests: host matrices with NaN-poisoned row gaps, their device copies
// through the backend itself, and the relative-error measure of the CUDA kernel tests.
// The tests run every op through VulkanBackend (what the engine calls), on lavapipe in CI.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <random>
#include <vector>

#include "backend/device_test_mat.h"
#include "backend/vulkan/vulkan_backend.h"

namespace unicorn::vulkan_test {

using testing::kNaN;
using testing::Mat;
using testing::max_rel_err;

class VulkanOpTest : public ::testing::Test {
  protected:
    void SetUp() override {
        auto b = vulkan::VulkanBackend::create(0);
        if (!b.ok()) GTEST_SKIP() << b.status().message();
        vk_ = std::move(*b);
    }
    std::unique_ptr<vulkan::VulkanBackend> vk_;
    std::mt19937 rng_{1234};
    // Host weights stay alive for the whole test: the backend caches uploads by host address,
    // and a freed vector's address comes back for the next one (models keep weights mapped).
    template <typename T>
    const std::vector<T>& keep(std::vector<T> v) {
        auto p = std::make_shared<std::vector<T>>(std::move(v));
        kept_.push_back(p);
        return *p;
    }
    std::vector<std::shared_ptr<void>> kept_;

    std::vector<float> random(size_t n, float scale = 1.0f) {
        std::normal_distribution<float> g(0.0f, scale);
        std::vector<float> v(n);
        for (float& x : v) x = g(rng_);
        for (size_t i = 0; i < n; i += 97) v[i] *= 8.0f;  // a heavy tail, like real weights
        return v;
    }
    Mat mat(int64_t rows, int64_t cols, int64_t pad = 0, float scale = 1.0f) {
        Mat m(rows, cols, pad);
        const std::vector<float> v = random(static_cast<size_t>(rows * cols), scale);
        for (int64_t r = 0; r < rows; ++r)
            std::copy_n(v.begin() + r * cols, cols, m.data.begin() + r * m.stride);
        return m;
    }
    // A device copy of m (gaps included) viewed as [rows, cols] with m's stride.
    Tensor dev(const Mat& m) {
        auto full = vk_->alloc(DType::kF32, Shape{m.rows, m.stride});
        EXPECT_TRUE(full.ok());
        const Tensor host =
            Tensor::view(DType::kF32, Shape{m.rows, m.stride}, const_cast<float*>(m.data.data()));
        EXPECT_TRUE(vk_->upload(host, *full).ok());
        return Tensor::device_view(DType::kF32, Shape{m.rows, m.cols}, full->data(), full->owner(),
                                   static_cast<size_t>(m.stride) * sizeof(float));
    }
    Tensor dev_poisoned(int64_t rows, int64_t cols, int64_t pad) {
        return dev(Mat(rows, cols, pad));
    }
    // The device matrix back on the host, gaps included.
    Mat fetch(const Tensor& t) {
        const int64_t stride = static_cast<int64_t>(t.row_stride() / sizeof(float));
        Mat m(t.rows(), t.cols(), stride - t.cols());
        const Tensor full =
            Tensor::device_view(DType::kF32, Shape{t.rows(), stride}, t.data(), t.owner());
        auto h = vk_->to_host(full);
        EXPECT_TRUE(h.ok()) << h.status().to_string();
        if (h.ok()) std::copy_n(h->data_as<float>(), m.data.size(), m.data.begin());
        return m;
    }
};

}  // namespace unicorn::vulkan_test
