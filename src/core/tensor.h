// Tensor: a typed, shaped view of bytes plus optional ownership of them.
//
// Layout: rows of the innermost dimension are contiguous; consecutive rows (the dimension
// just outside the innermost, flattened with all outer ones) are `row_stride` bytes apart,
// which lets a kernel take a strided view (a column slice of a wider activation, a KV-cache
// window) without a copy. Quantized tensors are always row-contiguous in blocks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "core/dtype.h"
#include "core/shape.h"

namespace unicorn {

class Tensor {
  public:
    Tensor() = default;
    // A view of `data` (not owned; the caller keeps it alive, e.g. an mmapped file).
    static Tensor view(DType dtype, Shape shape, void* data, size_t row_stride = 0);
    // A view that keeps `owner` alive (mmapped file, host buffer).
    static Tensor view_owned(DType dtype, Shape shape, void* data, std::shared_ptr<void> owner,
                             size_t row_stride = 0);
    // A view of a GPU backend's memory (`owner` frees it): shaped like any tensor, but its bytes
    // are not addressable from the host, so row()/data_as() must not be dereferenced here.
    static Tensor device_view(DType dtype, Shape shape, void* data, std::shared_ptr<void> owner,
                              size_t row_stride = 0);
    // Fresh, owned, 64-byte aligned host memory. Contents uninitialised.
    static Tensor empty(DType dtype, Shape shape);
    static Tensor zeros(DType dtype, Shape shape);

    bool defined() const { return data_ != nullptr || shape_.numel() == 0; }
    bool on_device() const { return on_device_; }
    DType dtype() const { return dtype_; }
    const Shape& shape() const { return shape_; }
    int64_t numel() const { return shape_.numel(); }
    int64_t rows() const { return shape_.rows(); }
    int64_t cols() const { return shape_.cols(); }
    size_t row_stride() const { return row_stride_; }
    size_t row_bytes() const { return dtype_row_bytes(dtype_, cols()); }
    bool contiguous() const { return row_stride_ == row_bytes(); }
    size_t nbytes() const;  // bytes spanned, rows() * row_stride() (last row: row_bytes)

    void* data() const { return data_; }
    template <typename T>
    T* data_as() const {
        return static_cast<T*>(data_);
    }
    template <typename T>
    T* row(int64_t r) const {
        return reinterpret_cast<T*>(static_cast<std::byte*>(data_) + r * row_stride_);
    }
    std::byte* row_bytes_ptr(int64_t r) const {
        return static_cast<std::byte*>(data_) + r * row_stride_;
    }

    // Same bytes, new shape (contiguous tensors only; numel and innermost blocking must fit).
    Tensor reshape(Shape shape) const;
    // Rows [begin, end) of the [rows, cols] view; shape becomes [end-begin, cols].
    Tensor slice_rows(int64_t begin, int64_t end) const;
    // Columns [begin, end): a strided view; for block-quantized types both ends must fall on
    // block boundaries (whole blocks per row, e.g. a MatFormer slice of an FFN down weight).
    Tensor slice_cols(int64_t begin, int64_t end) const;

    const std::shared_ptr<void>& owner() const { return owner_; }
    std::string describe() const;  // "F32 [7, 64]"

  private:
    DType dtype_ = DType::kF32;
    Shape shape_;
    void* data_ = nullptr;
    size_t row_stride_ = 0;
    std::shared_ptr<void> owner_;
    bool on_device_ = false;
};

}  // namespace unicorn
