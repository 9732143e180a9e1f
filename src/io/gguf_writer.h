// GgufWriter: builds a GGUF v3 file (little-endian) from metadata and tensors. Used by the
// quantizer/converter and by tests that need real files; the reader (gguf.h) reads back
// exactly what this writes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/dtype.h"
#include "core/shape.h"
#include "core/status.h"
#include "core/tensor.h"
#include "io/gguf.h"

namespace unicorn::io {

class GgufWriter {
  public:
    // Alignment of the data section and of every tensor (a power of two; checked by write()).
    // Stored as the `general.alignment` u32 key, the single place the reader looks.
    void set_alignment(uint32_t alignment);

    // Metadata, written in insertion order; setting a key again replaces its value in place.
    void set(const std::string& key, GgufValue value);
    void set_u8(const std::string& key, uint8_t v) { set(key, GgufValue::u8(v)); }
    void set_i8(const std::string& key, int8_t v) { set(key, GgufValue::i8(v)); }
    void set_u16(const std::string& key, uint16_t v) { set(key, GgufValue::u16(v)); }
    void set_i16(const std::string& key, int16_t v) { set(key, GgufValue::i16(v)); }
    void set_u32(const std::string& key, uint32_t v) { set(key, GgufValue::u32(v)); }
    void set_i32(const std::string& key, int32_t v) { set(key, GgufValue::i32(v)); }
    void set_u64(const std::string& key, uint64_t v) { set(key, GgufValue::u64(v)); }
    void set_i64(const std::string& key, int64_t v) { set(key, GgufValue::i64(v)); }
    void set_f32(const std::string& key, float v) { set(key, GgufValue::f32(v)); }
    void set_f64(const std::string& key, double v) { set(key, GgufValue::f64(v)); }
    void set_bool(const std::string& key, bool v) { set(key, GgufValue::boolean(v)); }
    void set_string(const std::string& key, std::string v) {
        set(key, GgufValue::string(std::move(v)));
    }
    template <typename T>
    void set_array(const std::string& key, const std::vector<T>& elems) {
        set(key, GgufValue::array(elems));
    }

    // Tensors, written in insertion order. `shape` is PyTorch order (outermost first); the
    // writer reverses it into ggml's ne[]. invalid_argument for a duplicate name, a name of
    // 64 bytes or more (ggml's GGML_MAX_NAME, so llama.cpp can load the file), a row length
    // that is not a whole number of blocks, or nbytes that disagrees with dtype and shape.
    // This overload copies the bytes.
    Status add_tensor(const std::string& name, DType dtype, const Shape& shape, const void* data,
                      size_t nbytes);
    // This one copies nothing: it holds the tensor's owner (a mapping, a host buffer) until the
    // writer is destroyed. A non-owning Tensor::view must outlive write(). Contiguous only.
    Status add_tensor(const std::string& name, const Tensor& tensor);

    // Fills rows [row_begin, row_begin + row_count) of a generated tensor into `dst`
    // (row_count * dtype_row_bytes(dtype, shape.dim(-1)) bytes); a row is the innermost
    // dimension, and a rank-0 tensor is one row of one element. A failed status aborts the
    // write and is returned by write()/to_bytes().
    using RowFiller = std::function<Status(int64_t row_begin, int64_t row_count, void* dst)>;
    // A tensor whose bytes are produced at write time and never all held at once: write()
    // calls `fill` in row order, a chunk of at most fill_chunk_bytes() (but at least one row)
    // at a time, writes the chunk and reuses its buffer, so a file larger than memory (a
    // 16 GB random-weight model) can be written. Checks as for the other overloads; `fill`
    // must outlive write() and may be called again by a later write() or to_bytes().
    Status add_generated_tensor(const std::string& name, DType dtype, const Shape& shape,
                                RowFiller fill);
    // Chunk size for generated tensors (default 64 MiB; tests set it small).
    void set_fill_chunk_bytes(size_t bytes) { fill_chunk_bytes_ = bytes == 0 ? 1 : bytes; }
    size_t fill_chunk_bytes() const { return fill_chunk_bytes_; }

    size_t tensor_count() const { return tensors_.size(); }

    // What has been added so far, in order, for a caller that transforms a staged model instead
    // of writing it as is (the quantizer reads HF directories through the converters this way).
    const std::vector<std::pair<std::string, GgufValue>>& metadata() const { return kv_; }
    struct StagedTensor {
        std::string name;
        DType dtype;
        Shape shape;
        const void* data;  // nbytes bytes, valid while the writer lives; null for generated ones
        size_t nbytes;
    };
    std::vector<StagedTensor> staged_tensors() const;

    // The complete file in memory (tests, fuzz seeds).
    Result<std::vector<uint8_t>> to_bytes() const;
    // Writes `path + ".tmp"`, syncs it and renames it to `path`, so a failed or interrupted
    // write never leaves a truncated file under the real name. io_error when the OS refuses.
    Status write(const std::string& path) const;

  private:
    struct PendingTensor {
        std::string name;
        DType dtype;
        Shape shape;
        const void* data;
        size_t nbytes;
        std::shared_ptr<void> owner;  // the copied bytes, or the viewed tensor's owner
        RowFiller fill;               // generated tensors: data is null, bytes come from here
    };

    Status check_tensor(const std::string& name, DType dtype, const Shape& shape,
                        size_t nbytes) const;
    Result<uint32_t> alignment() const;
    // Header, metadata and tensor infos, padded to the alignment; tensor i's data goes at
    // header.size() + offsets[i].
    Status encode_header(std::vector<uint8_t>* header, std::vector<uint64_t>* offsets) const;
    // Rows per fill() call for a generated tensor, and the tensor's row count and row bytes.
    struct FillPlan {
        int64_t rows = 0;
        size_t row_bytes = 0;
        int64_t rows_per_chunk = 1;
    };
    FillPlan fill_plan(const PendingTensor& t) const;

    std::vector<std::pair<std::string, GgufValue>> kv_;
    std::unordered_map<std::string, size_t> kv_index_;
    std::vector<PendingTensor> tensors_;
    std::unordered_map<std::string, size_t> tensor_index_;
    size_t fill_chunk_bytes_ = size_t{64} << 20;
};

}  // namespace unicorn::io
