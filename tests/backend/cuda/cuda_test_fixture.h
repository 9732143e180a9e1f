// Shared by the CUDA kernel tests: host and device F32 matrices with NaN-poisoned row gaps, the
// relative error against a reference, and the fixture (random data with a heavy tail, uploads,
// downloads) that skips, saying why, where no CUDA device is present.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "backend/cuda/device.h"
#include "backend/cuda/kernels/kernels.h"
#include "backend/device_test_mat.h"
#include "core/tensor.h"

namespace unicorn {

using testing::kNaN;
using testing::Mat;
using testing::max_rel_err;

// A Mat in device memory.
struct DevMat {
    cuda::DeviceBuffer buf;
    int64_t rows = 0, cols = 0, stride = 0;
    float* ptr() const { return static_cast<float*>(buf.data()); }
    cuda::ConstView c() const { return {ptr(), rows, cols, stride}; }
    cuda::View v() const { return {ptr(), rows, cols, stride}; }
};

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
    cuda::DeviceBuffer poisoned(size_t n) { return upload(std::vector<float>(n, kNaN)); }

    // Random [rows, cols] with `pad` NaN floats after each row.
    Mat mat(int64_t rows, int64_t cols, int64_t pad = 0, float scale = 1.0f) {
        Mat m(rows, cols, pad);
        const std::vector<float> v = random(static_cast<size_t>(rows * cols), scale);
        for (int64_t r = 0; r < rows; ++r)
            std::copy_n(v.begin() + r * cols, cols, m.data.begin() + r * m.stride);
        return m;
    }
    DevMat dev(const Mat& m) { return {upload(m.data), m.rows, m.cols, m.stride}; }
    // An all-NaN device output [rows, cols] (row stride cols + pad).
    DevMat dev_poisoned(int64_t rows, int64_t cols, int64_t pad) {
        return dev(Mat(rows, cols, pad));
    }
    Mat fetch(const DevMat& d) {
        Mat m(d.rows, d.cols, d.stride - d.cols);
        EXPECT_TRUE(d.buf.download(m.data.data(), m.data.size() * sizeof(float)).ok());
        return m;
    }
};

inline double max_rel_err(const std::vector<float>& got, const std::vector<float>& want) {
    double err = 0, scale = 0;
    for (size_t i = 0; i < got.size(); ++i) {
        const double d = std::fabs(static_cast<double>(got[i]) - want[i]);
        err = std::isnan(d) ? INFINITY : std::max(err, d);
        scale = std::max(scale, std::fabs(static_cast<double>(want[i])));
    }
    return err / std::max(scale, 1e-30);
}

}  // namespace unicorn
