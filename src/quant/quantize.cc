// Dispatch for the scalar reference (de)quantizers, the plain float types, and dot_row_ref.

#include "quant/quantize.h"

#include <algorithm>
#include <cstring>

#include "core/check.h"
#include "core/half.h"
#include "quant/quant_impl.h"

namespace unicorn::quant {
namespace {

void check_row(DType t, int64_t n) {
    UNI_CHECK_MSG(has_reference(t), "no reference (de)quantizer for {}", dtype_name(t));
    UNI_CHECK_MSG(n >= 0 && n % dtype_block_size(t) == 0,
                  "row of {} elements is not a whole number of {} blocks", n, dtype_name(t));
}

template <typename Block>
const Block* as_blocks(const void* p) {
    return static_cast<const Block*>(p);
}
template <typename Block>
Block* as_blocks(void* p) {
    return static_cast<Block*>(p);
}

}  // namespace

bool has_reference(DType t) {
    switch (t) {
        case DType::kF32:
        case DType::kF16:
        case DType::kBF16:
        case DType::kQ4_0:
        case DType::kQ4_1:
        case DType::kQ5_0:
        case DType::kQ5_1:
        case DType::kQ8_0:
        case DType::kQ8_1:
        case DType::kQ2_K:
        case DType::kQ3_K:
        case DType::kQ4_K:
        case DType::kQ5_K:
        case DType::kQ6_K:
        case DType::kQ8_K:
            return true;
        default:
            return false;
    }
}

void dequantize_row(DType t, const void* src, float* dst, int64_t n) {
    check_row(t, n);
    using namespace detail;
    switch (t) {
        case DType::kF32:
            if (n > 0) std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
            return;
        case DType::kF16: {
            const auto* h = static_cast<const uint16_t*>(src);
            for (int64_t i = 0; i < n; ++i) dst[i] = fp16_to_f32(h[i]);
            return;
        }
        case DType::kBF16: {
            const auto* h = static_cast<const uint16_t*>(src);
            for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(h[i]);
            return;
        }
        case DType::kQ4_0:
            return dequantize_q4_0(as_blocks<BlockQ4_0>(src), dst, n);
        case DType::kQ4_1:
            return dequantize_q4_1(as_blocks<BlockQ4_1>(src), dst, n);
        case DType::kQ5_0:
            return dequantize_q5_0(as_blocks<BlockQ5_0>(src), dst, n);
        case DType::kQ5_1:
            return dequantize_q5_1(as_blocks<BlockQ5_1>(src), dst, n);
        case DType::kQ8_0:
            return dequantize_q8_0(as_blocks<BlockQ8_0>(src), dst, n);
        case DType::kQ8_1:
            return dequantize_q8_1(as_blocks<BlockQ8_1>(src), dst, n);
        case DType::kQ2_K:
            return dequantize_q2_k(as_blocks<BlockQ2_K>(src), dst, n);
        case DType::kQ3_K:
            return dequantize_q3_k(as_blocks<BlockQ3_K>(src), dst, n);
        case DType::kQ4_K:
            return dequantize_q4_k(as_blocks<BlockQ4_K>(src), dst, n);
        case DType::kQ5_K:
            return dequantize_q5_k(as_blocks<BlockQ5_K>(src), dst, n);
        case DType::kQ6_K:
            return dequantize_q6_k(as_blocks<BlockQ6_K>(src), dst, n);
        case DType::kQ8_K:
            return dequantize_q8_k(as_blocks<BlockQ8_K>(src), dst, n);
        default:
            break;
    }
    UNI_CHECK_MSG(false, "unreachable: {}", dtype_name(t));
}

void quantize_row(DType t, const float* src, void* dst, int64_t n) {
    check_row(t, n);
    using namespace detail;
    switch (t) {
        case DType::kF32:
            if (n > 0) std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
            return;
        case DType::kF16: {
            auto* h = static_cast<uint16_t*>(dst);
            for (int64_t i = 0; i < n; ++i) h[i] = f32_to_fp16(src[i]);
            return;
        }
        case DType::kBF16: {
            auto* h = static_cast<uint16_t*>(dst);
            for (int64_t i = 0; i < n; ++i) h[i] = f32_to_bf16(src[i]);
            return;
        }
        case DType::kQ4_0:
            return quantize_q4_0(src, as_blocks<BlockQ4_0>(dst), n);
        case DType::kQ4_1:
            return quantize_q4_1(src, as_blocks<BlockQ4_1>(dst), n);
        case DType::kQ5_0:
            return quantize_q5_0(src, as_blocks<BlockQ5_0>(dst), n);
        case DType::kQ5_1:
            return quantize_q5_1(src, as_blocks<BlockQ5_1>(dst), n);
        case DType::kQ8_0:
            return quantize_q8_0(src, as_blocks<BlockQ8_0>(dst), n);
        case DType::kQ8_1:
            return quantize_q8_1(src, as_blocks<BlockQ8_1>(dst), n);
        case DType::kQ2_K:
            return quantize_q2_k(src, as_blocks<BlockQ2_K>(dst), n);
        case DType::kQ3_K:
            return quantize_q3_k(src, as_blocks<BlockQ3_K>(dst), n);
        case DType::kQ4_K:
            return quantize_q4_k(src, as_blocks<BlockQ4_K>(dst), n);
        case DType::kQ5_K:
            return quantize_q5_k(src, as_blocks<BlockQ5_K>(dst), n);
        case DType::kQ6_K:
            return quantize_q6_k(src, as_blocks<BlockQ6_K>(dst), n);
        case DType::kQ8_K:
            return quantize_q8_k(src, as_blocks<BlockQ8_K>(dst), n);
        default:
            break;
    }
    UNI_CHECK_MSG(false, "unreachable: {}", dtype_name(t));
}

bool has_weighted_quantizer(DType t) {
    switch (t) {
        case DType::kQ4_0:
        case DType::kQ4_1:
        case DType::kQ5_0:
        case DType::kQ5_1:
        case DType::kQ2_K:
        case DType::kQ3_K:
        case DType::kQ4_K:
        case DType::kQ5_K:
        case DType::kQ6_K:
            return true;
        default:
            return false;
    }
}

void quantize_row_weighted(DType t, const float* src, void* dst, int64_t n,
                           const float* importance) {
    if (importance == nullptr || !has_weighted_quantizer(t)) return quantize_row(t, src, dst, n);
    check_row(t, n);
    using namespace detail;
    switch (t) {
        case DType::kQ4_0:
            return quantize_q4_0_weighted(src, as_blocks<BlockQ4_0>(dst), n, importance);
        case DType::kQ4_1:
            return quantize_q4_1_weighted(src, as_blocks<BlockQ4_1>(dst), n, importance);
        case DType::kQ5_0:
            return quantize_q5_0_weighted(src, as_blocks<BlockQ5_0>(dst), n, importance);
        case DType::kQ5_1:
            return quantize_q5_1_weighted(src, as_blocks<BlockQ5_1>(dst), n, importance);
        case DType::kQ2_K:
            return quantize_q2_k_weighted(src, as_blocks<BlockQ2_K>(dst), n, importance);
        case DType::kQ3_K:
            return quantize_q3_k_weighted(src, as_blocks<BlockQ3_K>(dst), n, importance);
        case DType::kQ4_K:
            return quantize_q4_k_weighted(src, as_blocks<BlockQ4_K>(dst), n, importance);
        case DType::kQ5_K:
            return quantize_q5_k_weighted(src, as_blocks<BlockQ5_K>(dst), n, importance);
        case DType::kQ6_K:
            return quantize_q6_k_weighted(src, as_blocks<BlockQ6_K>(dst), n, importance);
        default:
            break;
    }
    UNI_CHECK_MSG(false, "unreachable: {}", dtype_name(t));
}

double dot_row_ref(DType t, const void* row, const float* x, int64_t n) {
    check_row(t, n);
    // Dequantize a chunk of whole blocks at a time (256 is a multiple of every block size)
    // and accumulate products in double, so the only rounding left is the dequantization
    // itself: kernels are judged against this value.
    constexpr int64_t kChunk = 256;
    const int64_t bs = dtype_block_size(t);
    const size_t bytes_per_chunk = static_cast<size_t>(kChunk / bs) * dtype_block_bytes(t);
    const auto* p = static_cast<const uint8_t*>(row);
    float buf[kChunk];
    double sum = 0.0;
    for (int64_t i = 0; i < n; i += kChunk) {
        const int64_t m = std::min(kChunk, n - i);  // a whole number of blocks (n is)
        dequantize_row(t, p, buf, m);
        for (int64_t j = 0; j < m; ++j) {
            sum += static_cast<double>(buf[j]) * static_cast<double>(x[i + j]);
        }
        p += bytes_per_chunk;
    }
    return sum;
}

}  // namespace unicorn::quant
