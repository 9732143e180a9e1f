// Host F32 matrices with NaN-poisoned row gaps and the relative error against a reference: what
// the CUDA and Vulkan op tests share. A row-strided operand carries NaN in the gap after each row,
// so a kernel that reads past a row's end fails, and an output's gaps must still hold NaN after
// the kernel ran (nothing written past a row's end).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/tensor.h"

namespace unicorn::testing {

inline constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// A host F32 matrix of `rows` rows, `cols` used columns, row r at data[r·stride]; the gap
// (stride − cols floats after each row) holds NaN.
struct Mat {
    int64_t rows = 0, cols = 0, stride = 0;
    std::vector<float> data;

    Mat(int64_t r, int64_t c, int64_t pad = 0)
        : rows(r), cols(c), stride(c + pad), data(static_cast<size_t>(r * (c + pad)), kNaN) {}
    float& at(int64_t r, int64_t c) { return data[static_cast<size_t>(r * stride + c)]; }
    float at(int64_t r, int64_t c) const { return data[static_cast<size_t>(r * stride + c)]; }
    // A (strided) Tensor view for ops::ref.
    Tensor tensor() const {
        return Tensor::view(DType::kF32, Shape{rows, cols}, const_cast<float*>(data.data()),
                            static_cast<size_t>(stride) * sizeof(float));
    }
};

// max |got − want| / max |want| over the used elements (NaN counts as infinite), and checks that
// got's row gaps still hold NaN.
inline double max_rel_err(const Mat& got, const Mat& want) {
    EXPECT_EQ(got.rows, want.rows);
    EXPECT_EQ(got.cols, want.cols);
    double err = 0, scale = 0;
    for (int64_t r = 0; r < got.rows; ++r) {
        for (int64_t c = 0; c < got.cols; ++c) {
            const double d = std::fabs(static_cast<double>(got.at(r, c)) - want.at(r, c));
            err = std::isnan(d) ? INFINITY : std::max(err, d);
            scale = std::max(scale, std::fabs(static_cast<double>(want.at(r, c))));
        }
        for (int64_t c = got.cols; c < got.stride; ++c)
            EXPECT_TRUE(std::isnan(got.at(r, c))) << "row gap written at " << r << "," << c;
    }
    return err / std::max(scale, 1e-30);
}

}  // namespace unicorn::testing
