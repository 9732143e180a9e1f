// GGUF reader (ggml-org/ggml docs/gguf.md; versions 2 and 3, little-endian only).
//
// The whole header is parsed and validated up front against the file's size: every string
// length, array count, tensor shape, type, offset and byte range. After GgufFile::parse
// succeeds, every GgufTensorInfo::data points at nbytes valid bytes inside the mapping, so
// model code never has to re-check a tensor's bounds. Tensor data is never copied: views keep
// the MappedFile alive.
//
// GgufFile::open_header/parse_header read a file whose data section is missing or cut short
// (the first data_offset() bytes of a model, shipped without its weights): everything is
// validated as above except the requirement that tensor bytes lie in the file, and a tensor
// whose bytes are not all there has data == nullptr. Such a GgufFile describes a model
// (metadata, tensor table) but must never be used to load one.
//
// Shapes: GGUF lists dimensions innermost first (ne[0] is contiguous); GgufTensorInfo::shape
// is PyTorch order (outermost first). This file is the one place that reversal happens.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/dtype.h"
#include "core/shape.h"
#include "core/status.h"
#include "core/tensor.h"
#include "io/mapped_file.h"

namespace unicorn::io {

// Metadata value types; the numeric values are the on-disk ids.
enum class GgufType : uint32_t {
    kU8 = 0,
    kI8 = 1,
    kU16 = 2,
    kI16 = 3,
    kU32 = 4,
    kI32 = 5,
    kF32 = 6,
    kBool = 7,
    kString = 8,
    kArray = 9,
    kU64 = 10,
    kI64 = 11,
    kF64 = 12,
};

const char* gguf_type_name(GgufType type);  // "u32", "string", "array"
std::optional<GgufType> gguf_type_from_id(uint32_t id);
// Bytes of one value of a fixed-size type; 0 for string and array.
size_t gguf_scalar_size(GgufType type);

inline constexpr uint32_t kGgufDefaultAlignment = 32;

struct GgufArray;

// One metadata value: a scalar, a string, or an array (of scalars, strings or arrays).
// Copies are cheap: array storage is shared and immutable.
class GgufValue {
  public:
    GgufValue() = default;  // u8 0

    static GgufValue u8(uint8_t v);
    static GgufValue i8(int8_t v);
    static GgufValue u16(uint16_t v);
    static GgufValue i16(int16_t v);
    static GgufValue u32(uint32_t v);
    static GgufValue i32(int32_t v);
    static GgufValue f32(float v);
    static GgufValue boolean(bool v);
    static GgufValue string(std::string v);
    static GgufValue u64(uint64_t v);
    static GgufValue i64(int64_t v);
    static GgufValue f64(double v);

    // Arrays. array(std::vector<T>) picks the element type from T (uint8_t…double, bool,
    // std::string); array_of(elem, values) takes values that all have type `elem` (nested
    // arrays: elem = kArray, each value an array of any type).
    template <typename T>
    static GgufValue array(const std::vector<T>& elems);
    static GgufValue array_of(GgufType elem_type, std::vector<GgufValue> elems);
    // Raw little-endian elements of a fixed-size type (count * gguf_scalar_size(elem) bytes).
    static GgufValue array_raw(GgufType elem_type, const void* data, size_t count);
    static GgufValue string_array(std::vector<std::string> elems);
    // A fixed-size value from its little-endian encoding (gguf_scalar_size(type) bytes).
    static GgufValue from_bytes(GgufType type, const void* bytes);

    GgufType type() const { return type_; }
    bool is_array() const { return type_ == GgufType::kArray; }
    bool is_string() const { return type_ == GgufType::kString; }
    bool is_integer() const;  // u8…i64 (not bool)
    bool is_float() const { return type_ == GgufType::kF32 || type_ == GgufType::kF64; }
    bool is_bool() const { return type_ == GgufType::kBool; }

    // Scalar conversions. Integers convert between widths and signedness when the value fits;
    // floats convert to integers when they hold an integral value, because llama.cpp
    // converters have written some integer keys as f32 (gemma3n shared_kv_layers).
    Result<uint64_t> as_u64() const;
    Result<int64_t> as_i64() const;
    Result<double> as_f64() const;  // any integer or float
    Result<bool> as_bool() const;   // bool, or an integer 0/1
    Result<std::string> as_string() const;

    // Arrays. elem_type()/size() are meaningful for arrays only (size() is 0 otherwise).
    GgufType elem_type() const;
    size_t size() const;
    GgufValue at(size_t i) const;  // element i as a value (i < size(), checked)
    // The strings of a string array, without copying (nullptr for any other value).
    const std::vector<std::string>* strings() const;
    // Every element converted as by as_i64()/as_f64()/as_string(); error names the element.
    Result<std::vector<int64_t>> as_i64_array() const;
    Result<std::vector<double>> as_f64_array() const;
    Result<std::vector<std::string>> as_string_array() const;

    // "u32 32", "string \"llama\"", "array<f32>[3] [0, 1.5, 2]" (long arrays elided).
    std::string to_string(size_t max_elems = 8) const;

    // Appends the GGUF encoding of the value, without its leading type id (the writer
    // prefixes that; array elements carry no type id of their own).
    void encode(std::vector<uint8_t>& out) const;

  private:
    GgufType type_ = GgufType::kU8;
    uint64_t bits_ = 0;  // integers and bool: the value (signed ones as two's complement)
    double float_ = 0;   // f32 (exactly widened) and f64
    std::string str_;
    std::shared_ptr<const GgufArray> array_;
};

// Array storage, typed so that a 262144-entry vocabulary or score table is one vector rather
// than 262144 GgufValues.
struct GgufArray {
    GgufType elem_type = GgufType::kU8;
    size_t count = 0;
    std::vector<uint8_t> raw;          // fixed-size elements, little-endian, count * size
    std::vector<std::string> strings;  // elem_type == kString
    std::vector<GgufValue> arrays;     // elem_type == kArray
};

struct GgufTensorInfo {
    std::string name;
    DType dtype = DType::kF32;
    Shape shape;          // PyTorch order (reversed ne[])
    uint64_t offset = 0;  // relative to the start of the data section, as stored
    size_t nbytes = 0;
    // Inside the mapping; nbytes valid bytes. Null only in a header-only GgufFile (see
    // open_header), for a tensor whose bytes are not in the file.
    const void* data = nullptr;
};

class GgufFile {
  public:
    static Result<GgufFile> open(const std::string& path);
    static Result<GgufFile> parse(std::shared_ptr<MappedFile> file);
    // In-memory bytes (fuzzers, tests).
    static Result<GgufFile> parse_bytes(std::shared_ptr<const std::vector<uint8_t>> bytes);
    // Header only: the file must hold the whole header and tensor table but may end anywhere
    // after it (`head -c N model.gguf`). Checks as above, except that a tensor whose bytes are
    // not in the file gets data == nullptr instead of an error; its byte range must still fit
    // below 2^63 and not overlap another's. For tools that need only the description of a
    // model (make_random_like); never load a model from the result: tensor_view() refuses
    // tensors without data.
    static Result<GgufFile> open_header(const std::string& path);
    static Result<GgufFile> parse_header(std::shared_ptr<MappedFile> file);

    uint32_t version() const { return version_; }
    uint32_t alignment() const { return alignment_; }
    // Absolute start of tensor data = the size of the header (magic, metadata, tensor table,
    // padding to the alignment). The file's first data_offset() bytes are all open_header needs.
    size_t data_offset() const { return data_offset_; }
    const std::string& path() const { return file_->path(); }
    const std::shared_ptr<MappedFile>& file() const { return file_; }

    // Metadata in file order.
    const std::vector<std::pair<std::string, GgufValue>>& metadata() const { return kv_; }
    const GgufValue* find(const std::string& key) const;  // nullptr when absent
    bool has(const std::string& key) const { return find(key) != nullptr; }

    // Typed getters: not_found when absent; corrupt when the stored type cannot represent
    // the requested one (string for an integer, -1 for an unsigned); out_of_range when an
    // integer does not fit the requested width.
    Result<uint32_t> get_u32(const std::string& key) const;
    Result<int32_t> get_i32(const std::string& key) const;
    Result<uint64_t> get_u64(const std::string& key) const;
    Result<int64_t> get_i64(const std::string& key) const;
    Result<float> get_f32(const std::string& key) const;
    Result<double> get_f64(const std::string& key) const;
    Result<bool> get_bool(const std::string& key) const;
    Result<std::string> get_string(const std::string& key) const;

    // As above, but an absent key gives `def`; a present key of the wrong type is still an
    // error (a silently ignored value is worse than a refusal).
    Result<uint32_t> get_u32_or(const std::string& key, uint32_t def) const;
    Result<int32_t> get_i32_or(const std::string& key, int32_t def) const;
    Result<uint64_t> get_u64_or(const std::string& key, uint64_t def) const;
    Result<float> get_f32_or(const std::string& key, float def) const;
    Result<bool> get_bool_or(const std::string& key, bool def) const;
    Result<std::string> get_string_or(const std::string& key, const std::string& def) const;

    Result<std::vector<int32_t>> get_i32_array(const std::string& key) const;
    Result<std::vector<uint32_t>> get_u32_array(const std::string& key) const;
    Result<std::vector<float>> get_f32_array(const std::string& key) const;
    Result<std::vector<std::string>> get_string_array(const std::string& key) const;
    // A per-layer value stored either as one scalar (repeated n times) or as an array of
    // exactly n elements (llama.cpp's get_key_or_arr; gemma3n's feed_forward_length).
    Result<std::vector<uint32_t>> get_u32_per_layer(const std::string& key, size_t n) const;

    // Tensors in file order.
    const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
    const GgufTensorInfo* tensor(const std::string& name) const;  // nullptr when absent
    // A view of the tensor's bytes that keeps the mapping alive (or, for a tensor not aligned
    // to its element size — only possible with general.alignment < 4 — an aligned copy).
    // not_found when absent; invalid_argument for a tensor without data (header-only file).
    Result<Tensor> tensor_view(const std::string& name) const;
    Tensor view(const GgufTensorInfo& info) const;  // info.data must not be null (checked)

  private:
    friend class GgufParser;
    GgufFile() = default;

    Result<const GgufValue*> require(const std::string& key) const;

    std::shared_ptr<MappedFile> file_;
    uint32_t version_ = 0;
    uint32_t alignment_ = kGgufDefaultAlignment;
    size_t data_offset_ = 0;
    std::vector<std::pair<std::string, GgufValue>> kv_;
    std::unordered_map<std::string, size_t> kv_index_;
    std::vector<GgufTensorInfo> tensors_;
    std::unordered_map<std::string, size_t> tensor_index_;
};

// ---------------------------------------------------------------------------------------
// Implementation of GgufValue::array<T>.

namespace detail {
template <typename T>
constexpr GgufType gguf_type_of() {
    if constexpr (std::is_same_v<T, uint8_t>)
        return GgufType::kU8;
    else if constexpr (std::is_same_v<T, int8_t>)
        return GgufType::kI8;
    else if constexpr (std::is_same_v<T, uint16_t>)
        return GgufType::kU16;
    else if constexpr (std::is_same_v<T, int16_t>)
        return GgufType::kI16;
    else if constexpr (std::is_same_v<T, uint32_t>)
        return GgufType::kU32;
    else if constexpr (std::is_same_v<T, int32_t>)
        return GgufType::kI32;
    else if constexpr (std::is_same_v<T, float>)
        return GgufType::kF32;
    else if constexpr (std::is_same_v<T, uint64_t>)
        return GgufType::kU64;
    else if constexpr (std::is_same_v<T, int64_t>)
        return GgufType::kI64;
    else if constexpr (std::is_same_v<T, double>)
        return GgufType::kF64;
    else
        static_assert(sizeof(T) == 0, "no GGUF type for this C++ type");
}
}  // namespace detail

template <typename T>
GgufValue GgufValue::array(const std::vector<T>& elems) {
    if constexpr (std::is_same_v<T, std::string>) {
        return string_array(elems);
    } else if constexpr (std::is_same_v<T, bool>) {
        const std::vector<uint8_t> bytes(elems.begin(), elems.end());  // GGUF bools are 1 byte
        return array_raw(GgufType::kBool, bytes.data(), bytes.size());
    } else {
        // Host order is little-endian (static_assert in gguf.cc), so elements are the bytes.
        return array_raw(detail::gguf_type_of<T>(), elems.data(), elems.size());
    }
}

}  // namespace unicorn::io
