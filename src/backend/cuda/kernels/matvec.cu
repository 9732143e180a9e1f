// Matrix × few vectors for every weight type (decode). One warp per four output rows: in each
// 128-element step lane l dequantizes elements 4l … 4l+3 of each row and multiplies them with
// the tokens' x (one coalesced 512-byte load per token, reused for the four rows); a warp
// reduction then gives y[t][n]. x stays in global memory, served by L1 (every warp reads it).
//
// History (tools/gpu/check.sh, H200, E2B FFN shape 8192×2048): a first version gave each lane
// whole 32-element chunks, so a warp's x loads were 32 separate 128-byte lines; it ran in
// ~26 µs per call whatever the weight type (344 GB/s on Q4_K), bound by those loads.
//
// Dequantization follows ggml's block layouts (quant/blocks.h; the scalar reference is
// quant/quantize.cc), written here for 32-element chunks.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <string>
#include <tuple>

#include "backend/cuda/cuda_status.h"
#include "backend/cuda/kernels/kernels.h"
#include "quant/blocks.h"

namespace unicorn::cuda {
namespace {

using namespace unicorn::quant;

__device__ inline float half_at(uint16_t bits) { return __half2float(__ushort_as_half(bits)); }

// Four consecutive elements e … e+3 (e a multiple of 4) of a row, dequantized into v[4].
// Lane l of a warp takes elements 4l … 4l+3 of each 128-element step, so a warp's loads of x
// are one contiguous 512-byte run and its weight loads cover adjacent blocks.
template <DType T>
struct Quad;

template <>
struct Quad<DType::kF32> {
    __device__ static void get(const uint8_t* row, int64_t e, float* v) {
        const float4 f = *reinterpret_cast<const float4*>(row + e * 4);
        v[0] = f.x, v[1] = f.y, v[2] = f.z, v[3] = f.w;
    }
};

template <>
struct Quad<DType::kF16> {
    __device__ static void get(const uint8_t* row, int64_t e, float* v) {
        const uint2 q = *reinterpret_cast<const uint2*>(row + e * 2);
        v[0] = half_at(static_cast<uint16_t>(q.x & 0xFFFF));
        v[1] = half_at(static_cast<uint16_t>(q.x >> 16));
        v[2] = half_at(static_cast<uint16_t>(q.y & 0xFFFF));
        v[3] = half_at(static_cast<uint16_t>(q.y >> 16));
    }
};

template <>
struct Quad<DType::kBF16> {
    __device__ static void get(const uint8_t* row, int64_t e, float* v) {
        const uint2 q = *reinterpret_cast<const uint2*>(row + e * 2);
        v[0] = __uint_as_float(q.x << 16), v[1] = __uint_as_float(q.x & 0xFFFF0000u);
        v[2] = __uint_as_float(q.y << 16), v[3] = __uint_as_float(q.y & 0xFFFF0000u);
    }
};

template <>
struct Quad<DType::kQ4_0> {
    __device__ static void get(const uint8_t* row, int64_t e, float* v) {
        const BlockQ4_0& b = reinterpret_cast<const BlockQ4_0*>(row)[e / 32];
        const int j = static_cast<int>(e % 32), shift = j < 16 ? 0 : 4;
        const float d = half_at(b.d);
#pragma unroll
        for (int i = 0; i < 4; ++i)
            v[i] = d * static_cast<float>(((b.qs[(j % 16) + i] >> shift) & 0xF) - 8);
    }
};

template <>
struct Quad<DType::kQ4_1> {
    __device__ static void get(const uint8_t* row, int64_t e, float* v) {
        const BlockQ4_1& b = reinterpret_cast<const BlockQ4_1*>(row)[e / 32];
        const int j = static_cast<int>(e % 32), shift = j < 16 ? 0 : 4;
        const float d = half_at(b.d), m = half_at(b.m);
#pragma unroll
        for (int i = 0; i < 4; ++i)
            v[i] = d * static_cast<float>((b.qs[(j % 16) + i] >> shift) & 0xF) + m;
    }
};

template <>
struct Quad<DType::kQ5_0> {
    __device__ static void get(const uint8_t* row, int64_t e, float* v) {
        const BlockQ5_0& b = reinterpret_cast<const BlockQ5_0*>(row)[e / 32];
        const int j = static_cast<int>(e % 32), shift = j < 16 ? 0 : 4;
        const uint32_t qh = static_cast<uint32_t>(b.qh[0]) | (static_cast<uint32_t>(b.qh[1]) << 8) |
                            (static_cast<uint32_t>(b.qh[2]) << 16) |
                            (static_cast<uint32_t>(b.qh[3]) << 24);
        const float d = half_at(b.d);
#pragma unroll
        for (int i = 0; i < 4; ++i) {
            const int lo = (b.qs[(j % 16) + i] >> shift) & 0xF;
            const int hi = ((qh >> (j + i)) & 1) << 4;  // bit j of qh: 5th bit of element j
            v[i] = d * static_cast<float>((lo | hi) - 16);
        }
    }
};

template <>
struct Quad<DType::kQ8_0> {
    __device__ static void get(const uint8_t* row, int64_t e, float* v) {
        const BlockQ8_0& b = reinterpret_cast<const BlockQ8_0*>(row)[e / 32];
        const int j = static_cast<int>(e % 32);
        const float d = half_at(b.d);
#pragma unroll
        for (int i = 0; i < 4; ++i) v[i] = d * static_cast<float>(b.qs[j + i]);
    }
};

// K-quant 6-bit scale and min of sub-block j (ggml get_scale_min_k4).
__device__ inline void scale_min_k4(int j, const uint8_t* q, int* sc, int* m) {
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
        *m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
    }
}

template <>
struct Quad<DType::kQ4_K> {
    __device__ static void get(const uint8_t* row, int64_t e, float* v) {
        const BlockQ4_K& b = reinterpret_cast<const BlockQ4_K*>(row)[e / 256];
        const int in = static_cast<int>(e % 256), sub = in / 32, j = in % 32;
        int sc, m;
        scale_min_k4(sub, b.scales, &sc, &m);
        const float d = half_at(b.d) * static_cast<float>(sc);
        const float mn = half_at(b.dmin) * static_cast<float>(m);
        // Sub-blocks 2i and 2i+1 share qs[32i … 32i+31]: low nibbles, then high nibbles.
        const uint8_t* q = b.qs + 32 * (sub / 2) + j;
        const int shift = 4 * (sub % 2);
#pragma unroll
        for (int i = 0; i < 4; ++i) v[i] = d * static_cast<float>((q[i] >> shift) & 0xF) - mn;
    }
};

template <>
struct Quad<DType::kQ5_K> {
    __device__ static void get(const uint8_t* row, int64_t e, float* v) {
        const BlockQ5_K& b = reinterpret_cast<const BlockQ5_K*>(row)[e / 256];
        const int in = static_cast<int>(e % 256), sub = in / 32, j = in % 32;
        int sc, m;
        scale_min_k4(sub, b.scales, &sc, &m);
        const float d = half_at(b.d) * static_cast<float>(sc);
        const float mn = half_at(b.dmin) * static_cast<float>(m);
        const uint8_t* q = b.qs + 32 * (sub / 2) + j;
        const int shift = 4 * (sub % 2);
#pragma unroll
        for (int i = 0; i < 4; ++i) {
            const int x = ((q[i] >> shift) & 0xF) | (((b.qh[j + i] >> sub) & 1) << 4);
            v[i] = d * static_cast<float>(x) - mn;
        }
    }
};

template <>
struct Quad<DType::kQ6_K> {
    __device__ static void get(const uint8_t* row, int64_t e, float* v) {
        const BlockQ6_K& b = reinterpret_cast<const BlockQ6_K*>(row)[e / 256];
        const int in = static_cast<int>(e % 256), sub = in / 32, j = in % 32;
        const int half = sub / 4, quarter = sub % 4;  // 128-element half, 32-element quarter
        const uint8_t* ql = b.ql + 64 * half + 32 * (quarter % 2) + j;
        const uint8_t* qh = b.qh + 32 * half + j;
        const int lshift = 4 * (quarter / 2), hshift = 2 * quarter;
        const float d =
            half_at(b.d) * static_cast<float>(b.scales[8 * half + 2 * quarter + j / 16]);
#pragma unroll
        for (int i = 0; i < 4; ++i) {
            const int q = (((ql[i] >> lshift) & 0xF) | (((qh[i] >> hshift) & 3) << 4)) - 32;
            v[i] = d * static_cast<float>(q);
        }
    }
};

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
