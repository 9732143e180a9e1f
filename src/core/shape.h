// Tensor shapes in PyTorch order: outermost dimension first, innermost (contiguous) last.
// ggml/GGUF list dimensions the other way round; io/gguf reverses them once, on read.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <string>

#include "core/check.h"

namespace unicorn {

class Shape {
  public:
    static constexpr int kMaxDims = 4;

    Shape() = default;
    Shape(std::initializer_list<int64_t> dims) {
        UNI_CHECK(dims.size() <= kMaxDims);
        for (int64_t d : dims) dims_[rank_++] = d;
    }

    int rank() const { return rank_; }
    int64_t operator[](int i) const {
        UNI_CHECK(i >= 0 && i < rank_);
        return dims_[i];
    }
    int64_t dim(int i) const { return (*this)[i < 0 ? rank_ + i : i]; }  // dim(-1) = innermost
    void push_back(int64_t d) {
        UNI_CHECK(rank_ < kMaxDims);
        dims_[rank_++] = d;
    }
    int64_t numel() const {
        int64_t n = 1;
        for (int i = 0; i < rank_; ++i) n *= dims_[i];
        return n;
    }
    // Rows when the tensor is viewed as [numel / inner, inner].
    int64_t rows() const {
        return rank_ == 0 ? 1 : numel() / (dims_[rank_ - 1] == 0 ? 1 : dims_[rank_ - 1]);
    }
    int64_t cols() const { return rank_ == 0 ? 1 : dims_[rank_ - 1]; }

    bool operator==(const Shape& o) const {
        if (rank_ != o.rank_) return false;
        for (int i = 0; i < rank_; ++i)
            if (dims_[i] != o.dims_[i]) return false;
        return true;
    }
    bool operator!=(const Shape& o) const { return !(*this == o); }
    std::string to_string() const;  // "[2, 640]"

  private:
    std::array<int64_t, kMaxDims> dims_{};
    int rank_ = 0;
};

}  // namespace unicorn
