// Embedding lookup: out[i] = dequantize(table row ids[i]) · scale. blockIdx.y (with its grid
// stride) walks the ids; each thread dequantizes four consecutive elements with matvec's Quad<T>
// (dequant.cuh). F32/F16/BF16 tables whose rows are not aligned for Quad's vector loads (or
// whose width is not a multiple of 4) take an element-per-thread path. The scale multiplies in
// fp32: one rounding, as ops/ref's double product rounded to float.
#include <algorithm>
#include <cstdint>
#include <string>

#include "backend/cuda/cuda_status.h"
#include "backend/cuda/kernels/dequant.cuh"
#include "backend/cuda/kernels/kernels.h"
#include "backend/cuda/kernels/launch.cuh"

namespace unicorn::cuda {
namespace {

using dequant::Quad;

constexpr int kThreads = 256;
constexpr int64_t kMaxGridY = 65535;

template <DType T>
__global__ void embedding_quad_kernel(const uint8_t* __restrict__ table, size_t row_bytes,
                                      const int32_t* __restrict__ ids, float scale, View out) {
    wait_for_inputs();
    const int64_t e = 4 * (static_cast<int64_t>(blockIdx.x) * kThreads + threadIdx.x);
    if (e >= out.cols) return;
    for (int64_t r = blockIdx.y; r < out.rows; r += gridDim.y) {
        float v[4];
        Quad<T>::get(table + static_cast<int64_t>(ids[r]) * row_bytes, e, v);
        float* o = out.data + r * out.stride + e;  // stride may leave o unaligned: scalar stores
#pragma unroll
        for (int i = 0; i < 4; ++i) o[i] = v[i] * scale;
    }
}

// F32 / F16 / BF16, one element per thread.
template <DType T>
__global__ void embedding_scalar_kernel(const uint8_t* __restrict__ table, size_t row_bytes,
                                        const int32_t* __restrict__ ids, float scale, View out) {
    wait_for_inputs();
    const int64_t e = static_cast<int64_t>(blockIdx.x) * kThreads + threadIdx.x;
    if (e >= out.cols) return;
    for (int64_t r = blockIdx.y; r < out.rows; r += gridDim.y) {
        const uint8_t* row = table + static_cast<int64_t>(ids[r]) * row_bytes;
        float x;
        if constexpr (T == DType::kF32) {
            x = reinterpret_cast<const float*>(row)[e];
        } else {
            const uint16_t bits = reinterpret_cast<const uint16_t*>(row)[e];
            x = T == DType::kF16 ? dequant::half_at(bits)
                                 : __uint_as_float(static_cast<uint32_t>(bits) << 16);
        }
        out.data[r * out.stride + e] = x * scale;
    }
}

template <DType T>
Status launch(const void* table, size_t row_bytes, const int32_t* ids, float scale, View out,
              cudaStream_t s) {
    const auto tb = static_cast<const uint8_t*>(table);
    const unsigned rows = static_cast<unsigned>(std::min(out.rows, kMaxGridY));
    constexpr bool kFloat = T == DType::kF32 || T == DType::kF16 || T == DType::kBF16;
    if constexpr (kFloat) {
        // Quad reads 16 bytes (F32) or 8 (F16/BF16) at element multiples of 4.
        const size_t align = T == DType::kF32 ? 16 : 8;
        if (out.cols % 4 != 0 || reinterpret_cast<uintptr_t>(table) % align != 0 ||
            row_bytes % align != 0) {
            const dim3 grid(static_cast<unsigned>((out.cols + kThreads - 1) / kThreads), rows);
            launch_kernel(embedding_scalar_kernel<T>, grid, kThreads, 0, s, tb, row_bytes, ids,
                          scale, out);
            return last_launch("embedding");
        }
    }
    const int64_t quads = out.cols / 4;
    const dim3 grid(static_cast<unsigned>((quads + kThreads - 1) / kThreads), rows);
    launch_kernel(embedding_quad_kernel<T>, grid, kThreads, 0, s, tb, row_bytes, ids, scale, out);
    return last_launch("embedding");
}

}  // namespace

Status embedding(DType type, const void* table, size_t row_bytes, const int32_t* ids, float scale,
                 View out, void* stream) {
    if (!matvec_supports(type))
        return unsupported(std::string("CUDA embedding: table type ") + dtype_name(type) +
                           " is not supported");
    const int64_t block = dtype_block_size(type);
    if (block > 1 && out.cols % block != 0)
        return invalid_argument("CUDA embedding: width " + std::to_string(out.cols) +
                                " is not whole " + dtype_name(type) + " blocks");
    if (out.rows == 0 || out.cols == 0) return ok_status();
    const auto s = static_cast<cudaStream_t>(stream);
    switch (type) {
#define UNICORN_EMBEDDING_CASE(T) \
    case T:                       \
        return launch<T>(table, row_bytes, ids, scale, out, s);
        UNICORN_EMBEDDING_CASE(DType::kF32)
        UNICORN_EMBEDDING_CASE(DType::kF16)
        UNICORN_EMBEDDING_CASE(DType::kBF16)
        UNICORN_EMBEDDING_CASE(DType::kQ4_0)
        UNICORN_EMBEDDING_CASE(DType::kQ4_1)
        UNICORN_EMBEDDING_CASE(DType::kQ5_0)
        UNICORN_EMBEDDING_CASE(DType::kQ8_0)
        UNICORN_EMBEDDING_CASE(DType::kQ4_K)
        UNICORN_EMBEDDING_CASE(DType::kQ5_K)
        UNICORN_EMBEDDING_CASE(DType::kQ6_K)
#undef UNICORN_EMBEDDING_CASE
        default:
            return unsupported(std::string("CUDA embedding: table type ") + dtype_name(type) +
                               " is not supported");
    }
}

}  // namespace unicorn::cuda
