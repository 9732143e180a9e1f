// Element types. The numeric values are ggml's type ids (GGUF tensor_info.ggml_type), so the
// GGUF reader maps ids with a range check and no table.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace unicorn {

enum class DType : uint32_t {
    kF32 = 0,
    kF16 = 1,
    kQ4_0 = 2,
    kQ4_1 = 3,
    kQ5_0 = 6,
    kQ5_1 = 7,
    kQ8_0 = 8,
    kQ8_1 = 9,
    kQ2_K = 10,
    kQ3_K = 11,
    kQ4_K = 12,
    kQ5_K = 13,
    kQ6_K = 14,
    kQ8_K = 15,
    kI8 = 24,
    kI16 = 25,
    kI32 = 26,
    kI64 = 27,
    kF64 = 28,
    kBF16 = 30,
};

struct DTypeTraits {
    DType dtype;
    const char* name;    // "Q4_K", as llama.cpp prints it
    int64_t block_size;  // elements per block (1 for plain types)
    size_t block_bytes;  // bytes per block
    bool quantized;
};

// nullopt for ids that are not a known type (removed or unsupported ggml ids).
std::optional<DType> dtype_from_ggml_id(uint32_t id);
std::optional<DType> dtype_from_name(std::string_view name);  // case-insensitive
const DTypeTraits& dtype_traits(DType t);

inline const char* dtype_name(DType t) { return dtype_traits(t).name; }
inline int64_t dtype_block_size(DType t) { return dtype_traits(t).block_size; }
inline size_t dtype_block_bytes(DType t) { return dtype_traits(t).block_bytes; }
inline bool dtype_is_quantized(DType t) { return dtype_traits(t).quantized; }

// Bytes of a row of n elements; n must be a multiple of the block size (checked by callers
// that validate input, asserted here).
size_t dtype_row_bytes(DType t, int64_t n);

// The types every weight path must accept (issue: engine core, "Types").
inline constexpr DType kWeightDTypes[] = {
    DType::kF32,  DType::kF16,  DType::kBF16, DType::kQ4_0, DType::kQ4_1,
    DType::kQ5_0, DType::kQ5_1, DType::kQ8_0, DType::kQ2_K, DType::kQ3_K,
    DType::kQ4_K, DType::kQ5_K, DType::kQ6_K,
};

}  // namespace unicorn
