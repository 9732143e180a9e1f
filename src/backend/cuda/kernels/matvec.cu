// Matrix × few vectors for every weight type (decode). One warp per four output rows: in each
// 128-element step lane l dequantizes elements 4l … 4l+3 of each row and multiplies them with
// the tokens' x (one coalesced 512-byte load per token, reused for the four rows); a warp
// reduction then gives y[t][n]. x stays in global memory, served by L1 (every warp reads it).
//
// History (tools/gpu/check.sh, H200, E2B FFN shape 8192×2048): a first version gave each lane
// whole 32-element chunks, so a warp's x loads were 32 separate 128-byte lines; it ran in
// ~26 µs per call whatever the weight type (344 GB/s on Q4_K), bound by those loads.
//
// Dequantization (Quad<T>, ggml's block layouts) lives in dequant.cuh, shared with embedding.cu.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <string>
#include <tuple>

#include "backend/cuda/cuda_status.h"
#include "backend/cuda/kernels/dequant.cuh"
#include "backend/cuda/kernels/kernels.h"

namespace unicorn::cuda {
namespace {

using dequant::Quad;

constexpr int kMaxTokens = 8;  // tokens per pass; more are handled in further passes

// kTokens (1, 2, 4 or 8) is a compile-time bound so the accumulators and x registers are only
// as many as the call needs: with a fixed 8 the decode (T = 1) kernel used 94 registers, which
// capped occupancy at 31 % and left the loads latency-bound (ncu on the H200).
template <DType T, int kRows, int kTokens>
__global__ void matvec_kernel(const uint8_t* __restrict__ w, int64_t n, int64_t k, size_t w_stride,
                              const float* __restrict__ x, int t_count, size_t x_stride,
                              float* __restrict__ y, size_t y_stride) {
    const int lane = threadIdx.x & 31;
    const int64_t row0 = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / 32 * kRows;
    if (row0 >= n) return;
    float acc[kRows][kTokens];
#pragma unroll
    for (int r = 0; r < kRows; ++r)
#pragma unroll
        for (int i = 0; i < kTokens; ++i) acc[r][i] = 0.0f;
#pragma unroll 4
    for (int64_t e = 4 * lane; e < k; e += 128) {
        float4 xv[kTokens];
#pragma unroll
        for (int i = 0; i < kTokens; ++i)
            xv[i] = i < t_count ? __ldg(reinterpret_cast<const float4*>(x + i * x_stride + e))
                                : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
#pragma unroll
        for (int r = 0; r < kRows; ++r) {
            if (row0 + r >= n) break;
            float v[4];
            Quad<T>::get(w + (row0 + r) * w_stride, e, v);
#pragma unroll
            for (int i = 0; i < kTokens; ++i)
                acc[r][i] += v[0] * xv[i].x + v[1] * xv[i].y + v[2] * xv[i].z + v[3] * xv[i].w;
        }
    }
#pragma unroll
    for (int r = 0; r < kRows; ++r) {
#pragma unroll
        for (int i = 0; i < kTokens; ++i) {
            if (i >= t_count) break;
            float s = acc[r][i];
#pragma unroll
            for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
            if (lane == 0 && row0 + r < n) y[i * y_stride + row0 + r] = s;
        }
    }
}

template <DType T, int kRows>
Status launch_rows(const void* w, int64_t n, int64_t k, size_t w_stride, const float* x, int64_t t,
                   size_t x_stride, float* y, size_t y_stride, cudaStream_t s) {
    constexpr int kThreads = 128;  // 4 warps
    const int64_t warps = (n + kRows - 1) / kRows;
    const int64_t blocks = (warps * 32 + kThreads - 1) / kThreads;
    for (int64_t t0 = 0; t0 < t; t0 += kMaxTokens) {
        const int tc = static_cast<int>(std::min<int64_t>(kMaxTokens, t - t0));
        const auto args =
            std::make_tuple(static_cast<const uint8_t*>(w), n, k, w_stride, x + t0 * x_stride, tc,
                            x_stride, y + t0 * y_stride, y_stride);
        const auto go = [&](auto kernel) {
            std::apply(
                [&](auto... a) { kernel<<<static_cast<unsigned>(blocks), kThreads, 0, s>>>(a...); },
                args);
        };
        if (tc == 1)
            go(matvec_kernel<T, kRows, 1>);
        else if (tc == 2)
            go(matvec_kernel<T, kRows, 2>);
        else if (tc <= 4)
            go(matvec_kernel<T, kRows, 4>);
        else
            go(matvec_kernel<T, kRows, 8>);
        UNI_RETURN_IF_ERROR(last_launch("matvec"));
    }
    return ok_status();
}

// Output rows per warp: more rows reuse each x load, fewer rows put more warps in flight.
template <DType T>
Status launch(const void* w, int64_t n, int64_t k, size_t w_stride, const float* x, int64_t t,
              size_t x_stride, float* y, size_t y_stride, cudaStream_t s, int rows) {
    switch (rows) {
        case 1:
            return launch_rows<T, 1>(w, n, k, w_stride, x, t, x_stride, y, y_stride, s);
        default:
            return launch_rows<T, 2>(w, n, k, w_stride, x, t, x_stride, y, y_stride, s);
    }
}

// F32 weights whose rows are not whole 32-element chunks (Gemma 3n's AltUp coefficient
// matrices: K = number of streams): one thread per output, a plain fp32 dot product.
__global__ void small_k_kernel(const float* __restrict__ w, int64_t n, int64_t k, int64_t w_stride,
                               const float* __restrict__ x, int64_t t, int64_t x_stride,
                               float* __restrict__ y, int64_t y_stride) {
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= t * n) return;
    const int64_t r = i / n, c = i % n;
    float s = 0.0f;
    for (int64_t j = 0; j < k; ++j) s += x[r * x_stride + j] * w[c * w_stride + j];
    y[r * y_stride + c] = s;
}

}  // namespace

bool matvec_supports(DType type) {
    switch (type) {
        case DType::kF32:
        case DType::kF16:
        case DType::kBF16:
        case DType::kQ4_0:
        case DType::kQ4_1:
        case DType::kQ5_0:
        case DType::kQ8_0:
        case DType::kQ4_K:
        case DType::kQ5_K:
        case DType::kQ6_K:
            return true;
        default:
            return false;
    }
}

Status matvec(DType type, const void* w, int64_t n, int64_t k, size_t w_stride, const float* x,
              int64_t t, size_t x_stride, float* y, size_t y_stride, void* stream) {
    return matvec_rows(type, w, n, k, w_stride, x, t, x_stride, y, y_stride, 1, stream);
}

Status matvec_rows(DType type, const void* w, int64_t n, int64_t k, size_t w_stride, const float* x,
                   int64_t t, size_t x_stride, float* y, size_t y_stride, int rows_per_warp,
                   void* stream) {
    if (k % 32 != 0 && type == DType::kF32) {
        if (n == 0 || t == 0) return ok_status();
        const int64_t total = t * n;
        small_k_kernel<<<static_cast<unsigned>((total + 255) / 256), 256, 0,
                         static_cast<cudaStream_t>(stream)>>>(
            static_cast<const float*>(w), n, k, static_cast<int64_t>(w_stride / sizeof(float)), x,
            t, static_cast<int64_t>(x_stride), y, static_cast<int64_t>(y_stride));
        return last_launch("matvec (small K)");
    }
    if (k % 32 != 0 ||
        (k % 256 != 0 && (type == DType::kQ4_K || type == DType::kQ5_K || type == DType::kQ6_K)))
        return invalid_argument("CUDA matvec: K = " + std::to_string(k) + " is not whole " +
                                dtype_name(type) + " blocks");
    if (n == 0 || t == 0) return ok_status();
    auto s = static_cast<cudaStream_t>(stream);
    switch (type) {
#define UNICORN_MATVEC_CASE(T) \
    case T:                    \
        return launch<T>(w, n, k, w_stride, x, t, x_stride, y, y_stride, s, rows_per_warp);
        UNICORN_MATVEC_CASE(DType::kF32)
        UNICORN_MATVEC_CASE(DType::kF16)
        UNICORN_MATVEC_CASE(DType::kBF16)
        UNICORN_MATVEC_CASE(DType::kQ4_0)
        UNICORN_MATVEC_CASE(DType::kQ4_1)
        UNICORN_MATVEC_CASE(DType::kQ5_0)
        UNICORN_MATVEC_CASE(DType::kQ8_0)
        UNICORN_MATVEC_CASE(DType::kQ4_K)
        UNICORN_MATVEC_CASE(DType::kQ5_K)
        UNICORN_MATVEC_CASE(DType::kQ6_K)
#undef UNICORN_MATVEC_CASE
        default:
            return unsupported(std::string("CUDA matvec: weight type ") + dtype_name(type) +
                               " is not supported");
    }
}

}  // namespace unicorn::cuda
