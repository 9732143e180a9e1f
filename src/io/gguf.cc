// GGUF parsing and lookup. Layout and the validations worth copying: ggml-org/ggml
// docs/gguf.md and src/gguf.cpp (see docs/reference/formats-and-apis.md §4).
#include "io/gguf.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

#include "core/check.h"
#include "core/log.h"

namespace unicorn::io {
namespace {

constexpr int kMaxArrayDepth = 8;  // nested arrays: real files use none; bounds recursion
// Smallest possible encodings, used to reject counts that cannot fit in the bytes left before
// anything is allocated for them.
constexpr uint64_t kMinKvBytes = 8 + 4 + 1;              // empty key, type, u8 value
constexpr uint64_t kMinTensorInfoBytes = 8 + 4 + 4 + 8;  // empty name, n_dims 0, type, offset
constexpr uint64_t kMinArrayBytes = 4 + 8;               // nested array: elem type, count

// ggml types that exist but Unicorn cannot compute with, so the error can name them.
const char* known_ggml_type_name(uint32_t id) {
    switch (id) {
        case 16:
            return "IQ2_XXS";
        case 17:
            return "IQ2_XS";
        case 18:
            return "IQ3_XXS";
        case 19:
            return "IQ1_S";
        case 20:
            return "IQ4_NL";
        case 21:
            return "IQ3_S";
        case 22:
            return "IQ2_S";
        case 23:
            return "IQ4_XS";
        case 29:
            return "IQ1_M";
        case 34:
            return "TQ1_0";
        case 35:
            return "TQ2_0";
        case 39:
            return "MXFP4";
        default:
            return nullptr;
    }
}

// Bounds-checked little-endian reads over the file. A failed read records why; the caller
// adds what it was reading, so messages are built only on the error path.
class Cursor {
  public:
    Cursor(const uint8_t* data, size_t size) : data_(data), size_(size) {}

    size_t pos() const { return pos_; }
    size_t remaining() const { return size_ - pos_; }
    const uint8_t* here() const { return data_ + pos_; }

    template <typename T>
    bool read(T* out) {
        if (remaining() < sizeof(T)) return truncated(sizeof(T));
        std::memcpy(out, data_ + pos_, sizeof(T));
        pos_ += sizeof(T);
        return true;
    }

    bool skip(uint64_t n) {
        if (remaining() < n) return truncated(n);
        pos_ += n;
        return true;
    }

    bool read_string(std::string* out) {
        const size_t at = pos_;
        uint64_t len = 0;
        if (!read(&len)) return false;
        if (len > remaining()) {
            why_ = fmt::format(
                "string length {} at byte {} is more than the {} bytes left in the file", len, at,
                remaining());
            return false;
        }
        out->assign(reinterpret_cast<const char*>(data_ + pos_), len);
        pos_ += len;
        return true;
    }

    Status error(const std::string& what) const { return corrupt(why_ + ", reading " + what); }

  private:
    bool truncated(uint64_t need) {
        why_ = fmt::format("file truncated at byte {} (needs {} bytes, {} left)", pos_, need,
                           remaining());
        return false;
    }

    const uint8_t* data_;
    size_t size_;
    size_t pos_ = 0;
    std::string why_;
};

std::string key_ctx(const std::string& key) { return "metadata key '" + key + "'"; }

}  // namespace

class GgufParser {
  public:
    GgufParser(std::shared_ptr<MappedFile> file, bool header_only)
        : c_(file->data(), file->size()), size_(file->size()), header_only_(header_only) {
        f_.file_ = std::move(file);
    }

    Result<GgufFile> run() {
        UNI_RETURN_IF_ERROR(parse_header());
        return std::move(f_);
    }

  private:
    Status parse_header();
    Status read_value(GgufType type, int depth, const std::string& key, GgufValue* out);
    Status read_array(int depth, const std::string& key, GgufValue* out);
    Status read_alignment();
    Status read_tensor_info(uint64_t index);
    Status place_tensors();

    GgufFile f_;
    Cursor c_;
    size_t size_;
    bool header_only_;  // tensor bytes may lie past the end of the file (open_header)
};

Status GgufParser::parse_header() {
    uint8_t magic[4];
    if (!c_.read(&magic)) return c_.error("the magic number");
    if (std::memcmp(magic, "GGUF", 4) != 0) {
        // gguf-py writes the magic as the bytes "GGUF" in either byte order, but a file whose
        // magic was written as a host-order integer on a big-endian machine reads reversed.
        if (std::memcmp(magic, "FUGG", 4) == 0) return unsupported("big-endian GGUF not supported");
        return corrupt(
            fmt::format("not a GGUF file (magic bytes {:02x} {:02x} {:02x} {:02x}, expected "
                        "\"GGUF\")",
                        magic[0], magic[1], magic[2], magic[3]));
    }

    uint32_t version = 0;
    if (!c_.read(&version)) return c_.error("the version");
    if (version != 2 && version != 3) {
        // A big-endian file stores version 3 as 00 00 00 03: read little-endian, that is
        // 0x03000000. ggml uses the same "low half zero" heuristic.
        const uint32_t swapped = __builtin_bswap32(version);
        if ((version & 0xffff) == 0 && swapped >= 1 && swapped <= 3) {
            return unsupported(
                fmt::format("big-endian GGUF not supported (version field 0x{:08x})", version));
        }
        if (version == 1) {
            return unsupported(
                "GGUF version 1 is not supported (obsolete 32-bit layout); re-convert the "
                "model with a current llama.cpp");
        }
        return unsupported(fmt::format("unknown GGUF version {} (supported: 2, 3)", version));
    }
    f_.version_ = version;

    uint64_t n_tensors = 0;
    uint64_t n_kv = 0;
    if (!c_.read(&n_tensors)) return c_.error("the tensor count");
    if (!c_.read(&n_kv)) return c_.error("the metadata count");
    if (n_tensors > c_.remaining() / kMinTensorInfoBytes) {
        return corrupt(
            fmt::format("tensor count {} cannot fit in a file of {} bytes", n_tensors, size_));
    }
    if (n_kv > (c_.remaining() - n_tensors * kMinTensorInfoBytes) / kMinKvBytes) {
        return corrupt(
            fmt::format("metadata count {} cannot fit in a file of {} bytes", n_kv, size_));
    }

    f_.kv_.reserve(n_kv);
    for (uint64_t i = 0; i < n_kv; ++i) {
        std::string key;
        if (!c_.read_string(&key)) return c_.error(fmt::format("the name of metadata entry {}", i));
        uint32_t type_id = 0;
        if (!c_.read(&type_id)) return c_.error("the type of " + key_ctx(key));
        const auto type = gguf_type_from_id(type_id);
        if (!type)
            return corrupt(fmt::format("{} has unknown value type {}", key_ctx(key), type_id));
        GgufValue value;
        UNI_RETURN_IF_ERROR(read_value(*type, 0, key, &value));
        if (!f_.kv_index_.emplace(key, f_.kv_.size()).second) {
            return corrupt(fmt::format("duplicate metadata key '{}'", key));
        }
        f_.kv_.emplace_back(std::move(key), std::move(value));
    }
    UNI_RETURN_IF_ERROR(read_alignment());

    // Re-check against what is left now that the metadata's true size is known.
    if (n_tensors > c_.remaining() / kMinTensorInfoBytes) {
        return corrupt(fmt::format("tensor count {} cannot fit in the {} bytes after the metadata",
                                   n_tensors, c_.remaining()));
    }
    f_.tensors_.reserve(n_tensors);
    for (uint64_t i = 0; i < n_tensors; ++i) UNI_RETURN_IF_ERROR(read_tensor_info(i));
    return place_tensors();
}

Status GgufParser::read_value(GgufType type, int depth, const std::string& key, GgufValue* out) {
    if (type == GgufType::kArray) return read_array(depth, key, out);
    if (type == GgufType::kString) {
        std::string s;
        if (!c_.read_string(&s)) return c_.error("the value of " + key_ctx(key));
        *out = GgufValue::string(std::move(s));
        return ok_status();
    }
    const uint8_t* p = c_.here();
    if (!c_.skip(gguf_scalar_size(type))) return c_.error("the value of " + key_ctx(key));
    *out = GgufValue::from_bytes(type, p);
    return ok_status();
}

Status GgufParser::read_array(int depth, const std::string& key, GgufValue* out) {
    if (depth >= kMaxArrayDepth) {
        return corrupt(
            fmt::format("{}: arrays nested more than {} deep", key_ctx(key), kMaxArrayDepth));
    }
    uint32_t elem_id = 0;
    uint64_t count = 0;
    if (!c_.read(&elem_id)) return c_.error("the element type of " + key_ctx(key));
    if (!c_.read(&count)) return c_.error("the array length of " + key_ctx(key));
    const auto elem = gguf_type_from_id(elem_id);
    if (!elem)
        return corrupt(fmt::format("{}: array has unknown element type {}", key_ctx(key), elem_id));

    const uint64_t min_size = *elem == GgufType::kString  ? sizeof(uint64_t)
                              : *elem == GgufType::kArray ? kMinArrayBytes
                                                          : gguf_scalar_size(*elem);
    if (count > c_.remaining() / min_size) {
        return corrupt(
            fmt::format("{}: array count {} of {} cannot fit in the {} bytes left in the file",
                        key_ctx(key), count, gguf_type_name(*elem), c_.remaining()));
    }

    if (*elem == GgufType::kString) {
        std::vector<std::string> strings(count);
        for (uint64_t i = 0; i < count; ++i) {
            if (!c_.read_string(&strings[i]))
                return c_.error(fmt::format("element {} of {}", i, key_ctx(key)));
        }
        *out = GgufValue::string_array(std::move(strings));
    } else if (*elem == GgufType::kArray) {
        std::vector<GgufValue> arrays(count);
        for (uint64_t i = 0; i < count; ++i)
            UNI_RETURN_IF_ERROR(read_array(depth + 1, key, &arrays[i]));
        *out = GgufValue::array_of(GgufType::kArray, std::move(arrays));
    } else {
        // Booleans other than 0/1 are accepted as true: ggml does not reject them either.
        const uint8_t* p = c_.here();
        if (!c_.skip(count * min_size)) return c_.error("the elements of " + key_ctx(key));
        *out = GgufValue::array_raw(*elem, p, count);
    }
    return ok_status();
}

Status GgufParser::read_alignment() {
    const GgufValue* a = f_.find("general.alignment");
    if (a == nullptr) return ok_status();
    // ggml insists on u32 here, so a differently typed value means a broken writer.
    if (a->type() != GgufType::kU32) {
        return corrupt(fmt::format("general.alignment must be u32, found {}", a->to_string(4)));
    }
    const uint64_t align = *a->as_u64();
    if (align == 0 || (align & (align - 1)) != 0) {
        return corrupt(fmt::format("general.alignment {} is not a power of two", align));
    }
    f_.alignment_ = static_cast<uint32_t>(align);
    return ok_status();
}

Status GgufParser::read_tensor_info(uint64_t index) {
    GgufTensorInfo info;
    if (!c_.read_string(&info.name)) return c_.error(fmt::format("the name of tensor {}", index));
    const std::string what = "tensor '" + info.name + "'";
    uint32_t n_dims = 0;
    if (!c_.read(&n_dims)) return c_.error("the dimension count of " + what);
    if (n_dims > static_cast<uint32_t>(Shape::kMaxDims)) {
        return corrupt(
            fmt::format("{} has {} dimensions (at most {})", what, n_dims, Shape::kMaxDims));
    }
    uint64_t ne[Shape::kMaxDims] = {1, 1, 1, 1};
    for (uint32_t j = 0; j < n_dims; ++j) {
        if (!c_.read(&ne[j])) return c_.error("the shape of " + what);
    }
    uint32_t type_id = 0;
    if (!c_.read(&type_id)) return c_.error("the type of " + what);
    if (!c_.read(&info.offset)) return c_.error("the data offset of " + what);

    const auto dtype = dtype_from_ggml_id(type_id);
    if (!dtype) {
        if (const char* name = known_ggml_type_name(type_id)) {
            return unsupported(fmt::format(
                "{} has ggml type {} ({}), which Unicorn does not support", what, name, type_id));
        }
        return unsupported(fmt::format("{} has unknown ggml type {}", what, type_id));
    }
    info.dtype = *dtype;

    int64_t numel = 1;
    for (uint32_t j = 0; j < n_dims; ++j) {
        if (ne[j] > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ||
            __builtin_mul_overflow(numel, static_cast<int64_t>(ne[j]), &numel)) {
            return corrupt(fmt::format("{} has too many elements (ne = [{}])", what,
                                       fmt::join(ne, ne + n_dims, ", ")));
        }
    }
    // ne[0] is the contiguous dimension; quantized rows are whole blocks (ggml checks the same).
    const auto row = static_cast<int64_t>(ne[0]);
    const int64_t block = dtype_block_size(info.dtype);
    if (row % block != 0) {
        return corrupt(fmt::format("{} ({}): row length {} is not a multiple of the block size {}",
                                   what, dtype_name(info.dtype), row, block));
    }
    const uint64_t rows = row == 0 ? 0 : static_cast<uint64_t>(numel / row);
    const uint64_t row_bytes = static_cast<uint64_t>(row / block) * dtype_block_bytes(info.dtype);
    uint64_t nbytes = 0;
    // A header-only file cannot bound a tensor by its size; place_tensors bounds its end.
    if (__builtin_mul_overflow(rows, row_bytes, &nbytes) || (!header_only_ && nbytes > size_)) {
        return corrupt(fmt::format("{} needs more bytes ({} rows of {}) than the file has ({})",
                                   what, rows, row_bytes, size_));
    }
    info.nbytes = nbytes;
    if (info.offset % f_.alignment_ != 0) {
        return corrupt(fmt::format("{} offset {} is not a multiple of the alignment {}", what,
                                   info.offset, f_.alignment_));
    }
    for (int j = static_cast<int>(n_dims) - 1; j >= 0; --j)
        info.shape.push_back(static_cast<int64_t>(ne[j]));

    if (!f_.tensor_index_.emplace(info.name, f_.tensors_.size()).second) {
        return corrupt(fmt::format("duplicate tensor name '{}'", info.name));
    }
    f_.tensors_.push_back(std::move(info));
    return ok_status();
}

Status GgufParser::place_tensors() {
    // The data section starts at the next multiple of the alignment after the tensor infos.
    const uint64_t a = f_.alignment_;
    const uint64_t data_offset = (static_cast<uint64_t>(c_.pos()) + a - 1) / a * a;
    f_.data_offset_ = data_offset;

    std::vector<size_t> order;
    order.reserve(f_.tensors_.size());
    for (size_t i = 0; i < f_.tensors_.size(); ++i) {
        GgufTensorInfo& t = f_.tensors_[i];
        // 128-bit sums: offset is any u64 from the file.
        const unsigned __int128 begin = static_cast<unsigned __int128>(data_offset) + t.offset;
        const unsigned __int128 end = begin + t.nbytes;
        if (end > size_ && header_only_) {
            // Described but not in this file. The end is still bounded, so that sums of offsets
            // and sizes (the overlap check below, a tool laying out a copy) cannot overflow.
            if (end > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
                return corrupt(fmt::format("tensor '{}' (offset {}, {} bytes) ends past 2^63 bytes",
                                           t.name, t.offset, t.nbytes));
            }
            t.data = nullptr;
        } else if (end > size_) {
            return corrupt(
                fmt::format("tensor '{}' (offset {}, {} bytes) extends past the end of the file "
                            "({} bytes)",
                            t.name, t.offset, t.nbytes, size_));
        } else {
            t.data = f_.file_->data() + static_cast<size_t>(begin);
        }
        if (t.nbytes > 0) order.push_back(i);
    }

    std::sort(order.begin(), order.end(),
              [&](size_t x, size_t y) { return f_.tensors_[x].offset < f_.tensors_[y].offset; });
    for (size_t k = 1; k < order.size(); ++k) {
        const GgufTensorInfo& prev = f_.tensors_[order[k - 1]];
        const GgufTensorInfo& cur = f_.tensors_[order[k]];
        if (prev.offset + prev.nbytes > cur.offset) {
            return corrupt(
                fmt::format("tensors '{}' (offset {}, {} bytes) and '{}' (offset {}) overlap",
                            prev.name, prev.offset, prev.nbytes, cur.name, cur.offset));
        }
    }
    return ok_status();
}

// ---------------------------------------------------------------------------------------
// GgufFile

Result<GgufFile> GgufFile::open(const std::string& path) {
    UNI_ASSIGN_OR_RETURN(auto file, MappedFile::open(path));
    return parse(std::move(file));
}

namespace {

Result<GgufFile> parse_with_context(GgufParser parser, const std::string& path) {
    auto r = parser.run();
    if (!r.ok()) return r.status().with_context(path);
    return r;
}

}  // namespace

Result<GgufFile> GgufFile::parse(std::shared_ptr<MappedFile> file) {
    const std::string path = file->path();
    return parse_with_context(GgufParser(std::move(file), false), path);
}

Result<GgufFile> GgufFile::open_header(const std::string& path) {
    UNI_ASSIGN_OR_RETURN(auto file, MappedFile::open(path));
    return parse_header(std::move(file));
}

Result<GgufFile> GgufFile::parse_header(std::shared_ptr<MappedFile> file) {
    const std::string path = file->path();
    return parse_with_context(GgufParser(std::move(file), true), path);
}

Result<GgufFile> GgufFile::parse_bytes(std::shared_ptr<const std::vector<uint8_t>> bytes) {
    return parse(MappedFile::from_buffer(std::move(bytes)));
}

const GgufValue* GgufFile::find(const std::string& key) const {
    auto it = kv_index_.find(key);
    return it == kv_index_.end() ? nullptr : &kv_[it->second].second;
}

Result<const GgufValue*> GgufFile::require(const std::string& key) const {
    const GgufValue* v = find(key);
    if (v == nullptr) return not_found(fmt::format("{}: metadata key '{}' not found", path(), key));
    return v;
}

namespace {

template <typename T>
Result<T> narrow(const Result<uint64_t>& r) {
    if (!r.ok()) return r.status();
    if (*r > std::numeric_limits<T>::max())
        return out_of_range(fmt::format("value {} does not fit in {}-bit", *r, sizeof(T) * 8));
    return static_cast<T>(*r);
}

template <typename T>
Result<T> narrow(const Result<int64_t>& r) {
    if (!r.ok()) return r.status();
    if (*r < std::numeric_limits<T>::min() || *r > std::numeric_limits<T>::max()) {
        return out_of_range(fmt::format("value {} does not fit in {}-bit", *r, sizeof(T) * 8));
    }
    return static_cast<T>(*r);
}

// Infinities and NaN pass through (gemma3n stores -inf sparsity scales); finite values beyond
// float's range would not survive the conversion.
Result<float> to_f32(const Result<double>& r) {
    if (!r.ok()) return r.status();
    if (std::isfinite(*r) && std::fabs(*r) > std::numeric_limits<float>::max()) {
        return out_of_range(fmt::format("value {} does not fit in f32", *r));
    }
    return static_cast<float>(*r);
}

template <typename T>
Result<T> with_key(const GgufFile& f, const std::string& key, Result<T> r) {
    if (r.ok()) return r;
    return Status(r.status().code(),
                  fmt::format("{}: metadata key '{}': {}", f.path(), key, r.status().message()));
}

}  // namespace

Result<uint32_t> GgufFile::get_u32(const std::string& key) const {
    UNI_ASSIGN_OR_RETURN(const GgufValue* v, require(key));
    return with_key(*this, key, narrow<uint32_t>(v->as_u64()));
}
Result<int32_t> GgufFile::get_i32(const std::string& key) const {
    UNI_ASSIGN_OR_RETURN(const GgufValue* v, require(key));
    return with_key(*this, key, narrow<int32_t>(v->as_i64()));
}
Result<uint64_t> GgufFile::get_u64(const std::string& key) const {
    UNI_ASSIGN_OR_RETURN(const GgufValue* v, require(key));
    return with_key(*this, key, v->as_u64());
}
Result<int64_t> GgufFile::get_i64(const std::string& key) const {
    UNI_ASSIGN_OR_RETURN(const GgufValue* v, require(key));
    return with_key(*this, key, v->as_i64());
}
Result<float> GgufFile::get_f32(const std::string& key) const {
    UNI_ASSIGN_OR_RETURN(const GgufValue* v, require(key));
    return with_key(*this, key, to_f32(v->as_f64()));
}
Result<double> GgufFile::get_f64(const std::string& key) const {
    UNI_ASSIGN_OR_RETURN(const GgufValue* v, require(key));
    return with_key(*this, key, v->as_f64());
}
Result<bool> GgufFile::get_bool(const std::string& key) const {
    UNI_ASSIGN_OR_RETURN(const GgufValue* v, require(key));
    return with_key(*this, key, v->as_bool());
}
Result<std::string> GgufFile::get_string(const std::string& key) const {
    UNI_ASSIGN_OR_RETURN(const GgufValue* v, require(key));
    return with_key(*this, key, v->as_string());
}

Result<uint32_t> GgufFile::get_u32_or(const std::string& key, uint32_t def) const {
    return has(key) ? get_u32(key) : Result<uint32_t>(def);
}
Result<int32_t> GgufFile::get_i32_or(const std::string& key, int32_t def) const {
    return has(key) ? get_i32(key) : Result<int32_t>(def);
}
Result<uint64_t> GgufFile::get_u64_or(const std::string& key, uint64_t def) const {
    return has(key) ? get_u64(key) : Result<uint64_t>(def);
}
Result<float> GgufFile::get_f32_or(const std::string& key, float def) const {
    return has(key) ? get_f32(key) : Result<float>(def);
}
Result<bool> GgufFile::get_bool_or(const std::string& key, bool def) const {
    return has(key) ? get_bool(key) : Result<bool>(def);
}
Result<std::string> GgufFile::get_string_or(const std::string& key, const std::string& def) const {
    return has(key) ? get_string(key) : Result<std::string>(def);
}

namespace {

// Converts every element of an array value with `convert`, naming the failing element.
template <typename T, typename Fn>
Result<std::vector<T>> map_array(const GgufValue& v, Fn&& convert) {
    if (!v.is_array()) return corrupt(fmt::format("expected an array, found {}", v.to_string(4)));
    std::vector<T> out;
    out.reserve(v.size());
    for (size_t i = 0; i < v.size(); ++i) {
        Result<T> r = convert(v.at(i));
        if (!r.ok())
            return Status(r.status().code(),
                          fmt::format("element {}: {}", i, r.status().message()));
        out.push_back(*r);
    }
    return out;
}

}  // namespace

Result<std::vector<int32_t>> GgufFile::get_i32_array(const std::string& key) const {
    UNI_ASSIGN_OR_RETURN(const GgufValue* v, require(key));
    return with_key(*this, key, map_array<int32_t>(*v, [](const GgufValue& e) {
        return narrow<int32_t>(e.as_i64());
    }));
}
Result<std::vector<uint32_t>> GgufFile::get_u32_array(const std::string& key) const {
    UNI_ASSIGN_OR_RETURN(const GgufValue* v, require(key));
    return with_key(*this, key, map_array<uint32_t>(*v, [](const GgufValue& e) {
        return narrow<uint32_t>(e.as_u64());
    }));
}
Result<std::vector<float>> GgufFile::get_f32_array(const std::string& key) const {
    UNI_ASSIGN_OR_RETURN(const GgufValue* v, require(key));
    return with_key(*this, key,
                    map_array<float>(*v, [](const GgufValue& e) { return to_f32(e.as_f64()); }));
}
Result<std::vector<std::string>> GgufFile::get_string_array(const std::string& key) const {
    UNI_ASSIGN_OR_RETURN(const GgufValue* v, require(key));
    return with_key(*this, key, v->as_string_array());
}

Result<std::vector<uint32_t>> GgufFile::get_u32_per_layer(const std::string& key, size_t n) const {
    UNI_ASSIGN_OR_RETURN(const GgufValue* v, require(key));
    if (!v->is_array()) {
        UNI_ASSIGN_OR_RETURN(uint32_t x, get_u32(key));
        return std::vector<uint32_t>(n, x);
    }
    if (v->size() != n) {
        return corrupt(
            fmt::format("{}: metadata key '{}' has {} elements, expected {} (one per layer)",
                        path(), key, v->size(), n));
    }
    return get_u32_array(key);
}

const GgufTensorInfo* GgufFile::tensor(const std::string& name) const {
    auto it = tensor_index_.find(name);
    return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

Result<Tensor> GgufFile::tensor_view(const std::string& name) const {
    const GgufTensorInfo* info = tensor(name);
    if (info == nullptr) return not_found(fmt::format("tensor '{}' not found in {}", name, path()));
    if (info->data == nullptr) {
        return invalid_argument(fmt::format(
            "tensor '{}' has no data: {} was opened as a GGUF header only", name, path()));
    }
    return view(*info);
}

Tensor GgufFile::view(const GgufTensorInfo& info) const {
    UNI_CHECK_MSG(info.data != nullptr, "tensor '{}' of {} has no data (header-only file)",
                  info.name, path());
    // Kernels load plain types as whole elements and quantized blocks through their fp16
    // scales, so they may assume that much alignment. A file written with general.alignment
    // 1 or 2 can break it; such a tensor is copied once into aligned memory instead.
    const size_t need = !dtype_is_quantized(info.dtype) ? dtype_block_bytes(info.dtype)
                        : info.dtype == DType::kQ8_K    ? 4  // float scale
                                                        : 2;
    if (reinterpret_cast<uintptr_t>(info.data) % need != 0) {
        log_warn("{}: tensor '{}' is not {}-byte aligned (general.alignment {}); copying it",
                 path(), info.name, need, alignment_);
        Tensor t = Tensor::empty(info.dtype, info.shape);
        if (info.nbytes > 0) std::memcpy(t.data(), info.data, info.nbytes);
        return t;
    }
    // The mapping is read-only; Tensor's data pointer is non-const only because Tensor also
    // describes writable buffers. Weight tensors are never written.
    return Tensor::view_owned(info.dtype, info.shape, const_cast<void*>(info.data), file_);
}

}  // namespace unicorn::io
