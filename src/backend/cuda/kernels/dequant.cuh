// Dequantization of weight rows on the device, four consecutive elements at a time (shared by
// matvec.cu and embedding.cu). Follows ggml's block layouts (quant/blocks.h; the scalar
// reference is quant/quantize.cc), written for 32-element chunks. Values are formed in fp32 in
// the reference's order (d·q, d·q + m, d·sc·q − dmin·m); nvcc may contract a·b + c into one fma,
// so a value can differ from the reference's by an ulp.
#pragma once

#include <cuda_fp16.h>

#include <cstdint>

#include "core/dtype.h"
#include "quant/blocks.h"

namespace unicorn::cuda::dequant {

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

}  // namespace unicorn::cuda::dequant
