#include "core/dtype.h"

#include <cctype>
#include <string>

#include "core/check.h"

namespace unicorn {
namespace {

// Block sizes and byte counts from ggml-common.h (see docs/reference formats §4.3).
constexpr DTypeTraits kTraits[] = {
    {DType::kF32, "F32", 1, 4, false},      {DType::kF16, "F16", 1, 2, false},
    {DType::kQ4_0, "Q4_0", 32, 18, true},   {DType::kQ4_1, "Q4_1", 32, 20, true},
    {DType::kQ5_0, "Q5_0", 32, 22, true},   {DType::kQ5_1, "Q5_1", 32, 24, true},
    {DType::kQ8_0, "Q8_0", 32, 34, true},   {DType::kQ8_1, "Q8_1", 32, 36, true},
    {DType::kQ2_K, "Q2_K", 256, 84, true},  {DType::kQ3_K, "Q3_K", 256, 110, true},
    {DType::kQ4_K, "Q4_K", 256, 144, true}, {DType::kQ5_K, "Q5_K", 256, 176, true},
    {DType::kQ6_K, "Q6_K", 256, 210, true}, {DType::kQ8_K, "Q8_K", 256, 292, true},
    {DType::kI8, "I8", 1, 1, false},        {DType::kI16, "I16", 1, 2, false},
    {DType::kI32, "I32", 1, 4, false},      {DType::kI64, "I64", 1, 8, false},
    {DType::kF64, "F64", 1, 8, false},      {DType::kBF16, "BF16", 1, 2, false},
};

}  // namespace

std::optional<DType> dtype_from_ggml_id(uint32_t id) {
    for (const auto& t : kTraits) {
        if (static_cast<uint32_t>(t.dtype) == id) return t.dtype;
    }
    return std::nullopt;
}

std::optional<DType> dtype_from_name(std::string_view name) {
    std::string upper(name);
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    for (const auto& t : kTraits) {
        if (upper == t.name) return t.dtype;
    }
    return std::nullopt;
}

const DTypeTraits& dtype_traits(DType t) {
    for (const auto& tr : kTraits) {
        if (tr.dtype == t) return tr;
    }
    UNI_CHECK_MSG(false, "unknown dtype id {}", static_cast<uint32_t>(t));
    return kTraits[0];
}

size_t dtype_row_bytes(DType t, int64_t n) {
    const DTypeTraits& tr = dtype_traits(t);
    UNI_CHECK_MSG(n >= 0 && n % tr.block_size == 0,
                  "row of {} elements is not a whole number of {} blocks", n, tr.name);
    return static_cast<size_t>(n / tr.block_size) * tr.block_bytes;
}

}  // namespace unicorn
