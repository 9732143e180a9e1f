#include "core/tensor.h"

#include <cstdlib>
#include <cstring>
#include <new>

#include "core/check.h"

namespace unicorn {

std::string Shape::to_string() const {
    std::string s = "[";
    for (int i = 0; i < rank_; ++i) {
        if (i) s += ", ";
        s += std::to_string(dims_[i]);
    }
    return s + "]";
}

Tensor Tensor::view(DType dtype, Shape shape, void* data, size_t row_stride) {
    return view_owned(dtype, shape, data, nullptr, row_stride);
}

Tensor Tensor::view_owned(DType dtype, Shape shape, void* data, std::shared_ptr<void> owner,
                          size_t row_stride) {
    Tensor t;
    t.dtype_ = dtype;
    t.shape_ = shape;
    t.data_ = data;
    t.row_stride_ = row_stride != 0 ? row_stride : t.row_bytes();
    t.owner_ = std::move(owner);
    return t;
}

Tensor Tensor::device_view(DType dtype, Shape shape, void* data, std::shared_ptr<void> owner,
                           size_t row_stride) {
    Tensor t = view_owned(dtype, shape, data, std::move(owner), row_stride);
    t.on_device_ = true;
    return t;
}

Tensor Tensor::empty(DType dtype, Shape shape) {
    Tensor t;
    t.dtype_ = dtype;
    t.shape_ = shape;
    t.row_stride_ = t.row_bytes();
    const size_t bytes = t.row_stride_ * static_cast<size_t>(shape.rows());
    // 64-byte alignment so AVX-512 loads of whole rows are aligned when rows are.
    const size_t alloc = (bytes + 63) / 64 * 64 + 64;
    void* p = std::aligned_alloc(64, alloc);
    if (p == nullptr) throw std::bad_alloc();
    t.owner_ = std::shared_ptr<void>(p, [](void* q) { std::free(q); });
    t.data_ = p;
    return t;
}

Tensor Tensor::zeros(DType dtype, Shape shape) {
    Tensor t = empty(dtype, shape);
    std::memset(t.data_, 0, t.row_stride_ * static_cast<size_t>(shape.rows()));
    return t;
}

size_t Tensor::nbytes() const {
    const int64_t r = rows();
    if (r == 0) return 0;
    return static_cast<size_t>(r - 1) * row_stride_ + row_bytes();
}

Tensor Tensor::reshape(Shape shape) const {
    UNI_CHECK_MSG(shape.numel() == numel(), "reshape {} -> {}", shape_.to_string(),
                  shape.to_string());
    UNI_CHECK_MSG(contiguous() || rows() <= 1, "reshape of a strided view");
    Tensor t = *this;
    t.shape_ = shape;
    t.row_stride_ = t.row_bytes();
    return t;
}

Tensor Tensor::slice_rows(int64_t begin, int64_t end) const {
    UNI_CHECK(begin >= 0 && begin <= end && end <= rows());
    Tensor t = *this;
    t.shape_ = Shape{end - begin, cols()};
    t.data_ = row_bytes_ptr(begin);
    return t;
}

Tensor Tensor::slice_cols(int64_t begin, int64_t end) const {
    const int64_t block = dtype_traits(dtype_).block_size;
    UNI_CHECK(begin >= 0 && begin <= end && end <= cols());
    UNI_CHECK_MSG(begin % block == 0 && end % block == 0,
                  "column slice [{}, {}) of {} cuts through a block", begin, end, describe());
    Tensor t = *this;
    t.shape_ = Shape{rows(), end - begin};
    t.data_ = static_cast<std::byte*>(data_) + begin / block * dtype_traits(dtype_).block_bytes;
    return t;
}

std::string Tensor::describe() const {
    return std::string(dtype_name(dtype_)) + " " + shape_.to_string();
}

}  // namespace unicorn
