// GgufValue: construction, conversions, printing and encoding of GGUF metadata values.
#include <fmt/format.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

#include "core/check.h"
#include "io/gguf.h"

namespace unicorn::io {

static_assert(std::endian::native == std::endian::little,
              "GGUF and safetensors are little-endian; the readers copy bytes as-is");

const char* gguf_type_name(GgufType type) {
    switch (type) {
        case GgufType::kU8:
            return "u8";
        case GgufType::kI8:
            return "i8";
        case GgufType::kU16:
            return "u16";
        case GgufType::kI16:
            return "i16";
        case GgufType::kU32:
            return "u32";
        case GgufType::kI32:
            return "i32";
        case GgufType::kF32:
            return "f32";
        case GgufType::kBool:
            return "bool";
        case GgufType::kString:
            return "string";
        case GgufType::kArray:
            return "array";
        case GgufType::kU64:
            return "u64";
        case GgufType::kI64:
            return "i64";
        case GgufType::kF64:
            return "f64";
    }
    return "?";
}

std::optional<GgufType> gguf_type_from_id(uint32_t id) {
    if (id > static_cast<uint32_t>(GgufType::kF64)) return std::nullopt;
    return static_cast<GgufType>(id);
}

size_t gguf_scalar_size(GgufType type) {
    switch (type) {
        case GgufType::kU8:
        case GgufType::kI8:
        case GgufType::kBool:
            return 1;
        case GgufType::kU16:
        case GgufType::kI16:
            return 2;
        case GgufType::kU32:
        case GgufType::kI32:
        case GgufType::kF32:
            return 4;
        case GgufType::kU64:
        case GgufType::kI64:
        case GgufType::kF64:
            return 8;
        case GgufType::kString:
        case GgufType::kArray:
            return 0;
    }
    return 0;
}

namespace {

bool is_unsigned_type(GgufType t) {
    return t == GgufType::kU8 || t == GgufType::kU16 || t == GgufType::kU32 || t == GgufType::kU64;
}
bool is_signed_type(GgufType t) {
    return t == GgufType::kI8 || t == GgufType::kI16 || t == GgufType::kI32 || t == GgufType::kI64;
}

template <typename T>
T load(const uint8_t* p) {
    T v;
    std::memcpy(&v, p, sizeof(T));
    return v;
}

}  // namespace

GgufValue GgufValue::from_bytes(GgufType type, const void* bytes) {
    const auto* p = static_cast<const uint8_t*>(bytes);
    switch (type) {
        case GgufType::kU8:
            return GgufValue::u8(load<uint8_t>(p));
        case GgufType::kI8:
            return GgufValue::i8(load<int8_t>(p));
        case GgufType::kU16:
            return GgufValue::u16(load<uint16_t>(p));
        case GgufType::kI16:
            return GgufValue::i16(load<int16_t>(p));
        case GgufType::kU32:
            return GgufValue::u32(load<uint32_t>(p));
        case GgufType::kI32:
            return GgufValue::i32(load<int32_t>(p));
        case GgufType::kF32:
            return GgufValue::f32(load<float>(p));
        case GgufType::kBool:
            return GgufValue::boolean(load<uint8_t>(p) != 0);
        case GgufType::kU64:
            return GgufValue::u64(load<uint64_t>(p));
        case GgufType::kI64:
            return GgufValue::i64(load<int64_t>(p));
        case GgufType::kF64:
            return GgufValue::f64(load<double>(p));
        case GgufType::kString:
        case GgufType::kArray:
            break;
    }
    UNI_CHECK_MSG(false, "GgufValue::from_bytes of {}", gguf_type_name(type));
    return {};
}

namespace {

// Printable form of a string from a file: control and non-ASCII bytes escaped, long strings
// cut, so an error message about a corrupt file stays one readable line.
std::string quote(const std::string& s, size_t max_chars = 64) {
    std::string out = "\"";
    for (size_t i = 0; i < s.size(); ++i) {
        if (i == max_chars) {
            out += fmt::format("...\" ({} bytes)", s.size());
            return out;
        }
        const auto c = static_cast<unsigned char>(s[i]);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c < 0x20 || c >= 0x7f) {
            out += fmt::format("\\x{:02x}", c);
        } else {
            out += static_cast<char>(c);
        }
    }
    return out + "\"";
}

std::string value_text(const GgufValue& v, size_t max_elems) {
    switch (v.type()) {
        case GgufType::kF32:
            return fmt::format("{}", static_cast<float>(*v.as_f64()));
        case GgufType::kF64:
            return fmt::format("{}", *v.as_f64());
        case GgufType::kBool:
            return *v.as_bool() ? "true" : "false";
        case GgufType::kString:
            return quote(*v.as_string());
        case GgufType::kArray: {
            std::string s = "[";
            for (size_t i = 0; i < v.size(); ++i) {
                if (i) s += ", ";
                if (i == max_elems) {
                    s += "...";
                    break;
                }
                s += value_text(v.at(i), max_elems);
            }
            return s + "]";
        }
        default:
            if (v.type() == GgufType::kU8 || v.type() == GgufType::kU16 ||
                v.type() == GgufType::kU32 || v.type() == GgufType::kU64) {
                return fmt::format("{}", *v.as_u64());
            }
            return fmt::format("{}", *v.as_i64());
    }
}

}  // namespace

GgufValue GgufValue::u8(uint8_t v) {
    GgufValue r;
    r.type_ = GgufType::kU8;
    r.bits_ = v;
    return r;
}
GgufValue GgufValue::u16(uint16_t v) {
    GgufValue r;
    r.type_ = GgufType::kU16;
    r.bits_ = v;
    return r;
}
GgufValue GgufValue::u32(uint32_t v) {
    GgufValue r;
    r.type_ = GgufType::kU32;
    r.bits_ = v;
    return r;
}
GgufValue GgufValue::u64(uint64_t v) {
    GgufValue r;
    r.type_ = GgufType::kU64;
    r.bits_ = v;
    return r;
}
GgufValue GgufValue::i8(int8_t v) {
    GgufValue r = i64(v);
    r.type_ = GgufType::kI8;
    return r;
}
GgufValue GgufValue::i16(int16_t v) {
    GgufValue r = i64(v);
    r.type_ = GgufType::kI16;
    return r;
}
GgufValue GgufValue::i32(int32_t v) {
    GgufValue r = i64(v);
    r.type_ = GgufType::kI32;
    return r;
}
GgufValue GgufValue::i64(int64_t v) {
    GgufValue r;
    r.type_ = GgufType::kI64;
    r.bits_ = static_cast<uint64_t>(v);
    return r;
}
GgufValue GgufValue::f32(float v) {
    GgufValue r;
    r.type_ = GgufType::kF32;
    r.float_ = v;  // exact: every float is a double
    return r;
}
GgufValue GgufValue::f64(double v) {
    GgufValue r;
    r.type_ = GgufType::kF64;
    r.float_ = v;
    return r;
}
GgufValue GgufValue::boolean(bool v) {
    GgufValue r;
    r.type_ = GgufType::kBool;
    r.bits_ = v ? 1 : 0;
    return r;
}
GgufValue GgufValue::string(std::string v) {
    GgufValue r;
    r.type_ = GgufType::kString;
    r.str_ = std::move(v);
    return r;
}

GgufValue GgufValue::array_raw(GgufType elem_type, const void* data, size_t count) {
    const size_t size = gguf_scalar_size(elem_type);
    UNI_CHECK_MSG(size > 0, "array_raw of {}", gguf_type_name(elem_type));
    auto arr = std::make_shared<GgufArray>();
    arr->elem_type = elem_type;
    arr->count = count;
    const auto* p = static_cast<const uint8_t*>(data);
    arr->raw.assign(p, p + count * size);
    GgufValue r;
    r.type_ = GgufType::kArray;
    r.array_ = std::move(arr);
    return r;
}

GgufValue GgufValue::array_of(GgufType elem_type, std::vector<GgufValue> elems) {
    auto arr = std::make_shared<GgufArray>();
    arr->elem_type = elem_type;
    arr->count = elems.size();
    for (const GgufValue& e : elems) {
        UNI_CHECK_MSG(e.type() == elem_type, "array<{}> given a {} element",
                      gguf_type_name(elem_type), gguf_type_name(e.type()));
    }
    if (elem_type == GgufType::kString) {
        arr->strings.reserve(elems.size());
        for (GgufValue& e : elems) arr->strings.push_back(std::move(e.str_));
    } else if (elem_type == GgufType::kArray) {
        arr->arrays = std::move(elems);
    } else {
        arr->raw.reserve(elems.size() * gguf_scalar_size(elem_type));
        for (const GgufValue& e : elems) e.encode(arr->raw);
    }
    GgufValue r;
    r.type_ = GgufType::kArray;
    r.array_ = std::move(arr);
    return r;
}

GgufValue GgufValue::string_array(std::vector<std::string> elems) {
    auto arr = std::make_shared<GgufArray>();
    arr->elem_type = GgufType::kString;
    arr->count = elems.size();
    arr->strings = std::move(elems);
    GgufValue r;
    r.type_ = GgufType::kArray;
    r.array_ = std::move(arr);
    return r;
}

bool GgufValue::is_integer() const { return is_unsigned_type(type_) || is_signed_type(type_); }

Result<uint64_t> GgufValue::as_u64() const {
    if (is_unsigned_type(type_)) return bits_;
    if (is_signed_type(type_)) {
        const auto v = static_cast<int64_t>(bits_);
        if (v < 0)
            return out_of_range(
                fmt::format("negative value {} where an unsigned integer is expected", v));
        return static_cast<uint64_t>(v);
    }
    if (is_float()) {
        // 2^64 is exactly representable; anything at or above it does not fit.
        if (!std::isfinite(float_) || float_ != std::floor(float_) || float_ < 0 ||
            float_ >= 18446744073709551616.0) {
            return corrupt(fmt::format("{} is not a non-negative integer", to_string()));
        }
        return static_cast<uint64_t>(float_);
    }
    return corrupt(fmt::format("expected an integer, found {}", to_string(4)));
}

Result<int64_t> GgufValue::as_i64() const {
    if (is_signed_type(type_)) return static_cast<int64_t>(bits_);
    if (is_unsigned_type(type_)) {
        if (bits_ > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
            return out_of_range(fmt::format("value {} does not fit in i64", bits_));
        }
        return static_cast<int64_t>(bits_);
    }
    if (is_float()) {
        if (!std::isfinite(float_) || float_ != std::floor(float_) ||
            float_ < -9223372036854775808.0 || float_ >= 9223372036854775808.0) {
            return corrupt(fmt::format("{} is not an integer", to_string()));
        }
        return static_cast<int64_t>(float_);
    }
    return corrupt(fmt::format("expected an integer, found {}", to_string(4)));
}

Result<double> GgufValue::as_f64() const {
    if (is_float()) return float_;
    if (is_unsigned_type(type_)) return static_cast<double>(bits_);
    if (is_signed_type(type_)) return static_cast<double>(static_cast<int64_t>(bits_));
    return corrupt(fmt::format("expected a number, found {}", to_string(4)));
}

Result<bool> GgufValue::as_bool() const {
    if (type_ == GgufType::kBool) return bits_ != 0;
    if (is_integer() && (bits_ == 0 || bits_ == 1)) return bits_ == 1;
    return corrupt(fmt::format("expected a bool, found {}", to_string(4)));
}

Result<std::string> GgufValue::as_string() const {
    if (type_ == GgufType::kString) return str_;
    return corrupt(fmt::format("expected a string, found {}", to_string(4)));
}

GgufType GgufValue::elem_type() const { return array_ ? array_->elem_type : GgufType::kU8; }
size_t GgufValue::size() const { return array_ ? array_->count : 0; }

GgufValue GgufValue::at(size_t i) const {
    UNI_CHECK_MSG(array_ && i < array_->count, "GgufValue::at({}) of {}", i, to_string(2));
    switch (array_->elem_type) {
        case GgufType::kString:
            return string(array_->strings[i]);
        case GgufType::kArray:
            return array_->arrays[i];
        default:
            return from_bytes(array_->elem_type,
                              array_->raw.data() + i * gguf_scalar_size(array_->elem_type));
    }
}

const std::vector<std::string>* GgufValue::strings() const {
    if (!array_ || array_->elem_type != GgufType::kString) return nullptr;
    return &array_->strings;
}

namespace {
template <typename T, typename Fn>
Result<std::vector<T>> convert_array(const GgufValue& v, Fn&& convert) {
    if (!v.is_array()) return corrupt(fmt::format("expected an array, found {}", v.to_string(4)));
    std::vector<T> out;
    out.reserve(v.size());
    for (size_t i = 0; i < v.size(); ++i) {
        auto r = convert(v.at(i));
        if (!r.ok())
            return Status(r.status().code(),
                          fmt::format("element {}: {}", i, r.status().message()));
        out.push_back(std::move(r).value());
    }
    return out;
}
}  // namespace

Result<std::vector<int64_t>> GgufValue::as_i64_array() const {
    return convert_array<int64_t>(*this, [](const GgufValue& e) { return e.as_i64(); });
}
Result<std::vector<double>> GgufValue::as_f64_array() const {
    return convert_array<double>(*this, [](const GgufValue& e) { return e.as_f64(); });
}
Result<std::vector<std::string>> GgufValue::as_string_array() const {
    if (const auto* s = strings()) return *s;
    return convert_array<std::string>(*this, [](const GgufValue& e) { return e.as_string(); });
}

std::string GgufValue::to_string(size_t max_elems) const {
    if (is_array()) {
        return fmt::format("array<{}>[{}] {}", gguf_type_name(elem_type()), size(),
                           value_text(*this, max_elems));
    }
    return fmt::format("{} {}", gguf_type_name(type_), value_text(*this, max_elems));
}

void GgufValue::encode(std::vector<uint8_t>& out) const {
    auto put = [&out](const void* p, size_t n) {
        const auto* b = static_cast<const uint8_t*>(p);
        out.insert(out.end(), b, b + n);
    };
    switch (type_) {
        case GgufType::kF32: {
            const auto f = static_cast<float>(float_);
            put(&f, 4);
            return;
        }
        case GgufType::kF64:
            put(&float_, 8);
            return;
        case GgufType::kString: {
            const uint64_t n = str_.size();
            put(&n, 8);
            put(str_.data(), str_.size());
            return;
        }
        case GgufType::kArray: {
            const auto elem = static_cast<uint32_t>(array_->elem_type);
            const uint64_t n = array_->count;
            put(&elem, 4);
            put(&n, 8);
            if (array_->elem_type == GgufType::kString) {
                for (const std::string& s : array_->strings) {
                    const uint64_t len = s.size();
                    put(&len, 8);
                    put(s.data(), s.size());
                }
            } else if (array_->elem_type == GgufType::kArray) {
                for (const GgufValue& a : array_->arrays) a.encode(out);
            } else {
                put(array_->raw.data(), array_->raw.size());
            }
            return;
        }
        default:
            // Integers and bool: the low bytes of the two's-complement value (little-endian).
            put(&bits_, gguf_scalar_size(type_));
            return;
    }
}

}  // namespace unicorn::io
