// Dequantization of weight rows on the device: Quad<T>, four consecutive elements at a time
// (shared by matvec.cu and embedding.cu), and Oct<T>, eight elements per lane from one packed
// word for matvec's quantized fast path (below). Follows ggml's block layouts (quant/blocks.h; the
// scalar reference is quant/quantize.cc), written for 32-element chunks. Values are formed in fp32
// in the reference's order (d·q, d·q + m, d·sc·q − dmin·m); nvcc may contract a·b + c into one fma,
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

// ---------------------------------------------------------------------------------------------
// Eight elements per lane for the quantized matvec (matvec.cu's fast path). A warp covers 256
// elements per step; lane l takes two runs of four consecutive elements, at offsets off0(l)
// and off1(l) of the step, chosen so that one 32-bit word of packed quants feeds both runs
// (low nibbles → first run, high nibbles → second run, as ggml packs them) and so that x loads
// stay coalesced (K-quants: eight neighbouring lanes read one whole 128-byte line per run;
// 32-element blocks: four lanes read half a line).
//
// get() returns the eight quants q (exact small integers, already offset: q − 8 for Q4_0, …)
// in fp32 and the run's scales: value = d0·q + m0 for the first run, d1·q + m1 for the second
// (m only where kMin). Quants become floats through the exponent trick (one PRMT puts the byte
// under the exponent of 2^23, one FADD removes 2^23 and the offset, both exact), not I2F, whose
// throughput on sm_90 is 16/clk/SM against 128 for FADD.
// ---------------------------------------------------------------------------------------------

// 32 bits from a 2-byte-aligned address (ggml's 18-, 22-, 34- and 210-byte blocks).
__device__ inline uint32_t ld_u32_a2(const uint8_t* p) {
    const uint16_t* h = reinterpret_cast<const uint16_t*>(p);
    return static_cast<uint32_t>(h[0]) | (static_cast<uint32_t>(h[1]) << 16);
}
__device__ inline uint32_t ld_u32(const uint8_t* p) {
    return *reinterpret_cast<const uint32_t*>(p);
}

// The four bytes of w (each < 2^23) as floats, minus `off`.
__device__ inline void bytes4(uint32_t w, float off, float* v) {
    const float bias = 8388608.0f + off;  // 2^23 + off, exact for off < 2^8
    v[0] = __uint_as_float(__byte_perm(w, 0x4B000000u, 0x7440)) - bias;
    v[1] = __uint_as_float(__byte_perm(w, 0x4B000000u, 0x7441)) - bias;
    v[2] = __uint_as_float(__byte_perm(w, 0x4B000000u, 0x7442)) - bias;
    v[3] = __uint_as_float(__byte_perm(w, 0x4B000000u, 0x7443)) - bias;
}
// A byte (< 2^8) of w as a float.
__device__ inline float byte_f(uint32_t w, int b) {
    return __uint_as_float(__byte_perm(w, 0x4B000000u, 0x7440 + b)) - 8388608.0f;
}

struct OctScales {
    float d0, d1, m0, m1;
};

template <DType T>
struct Oct;

// 32-element blocks: 8 per step, four lanes per block; lane s = l % 4 of the block takes qs
// word s: elements 4s … 4s+3 (low nibbles) and 16+4s … 16+4s+3 (high nibbles).
struct Oct32 {
    static constexpr int kBlock = 32;
    static constexpr bool kSplitRuns = false;
    __device__ static int block(int lane) { return lane / 4; }
    __device__ static int off0(int lane) { return 32 * (lane / 4) + 4 * (lane % 4); }
    __device__ static int off1(int lane) { return off0(lane) + 16; }
};

template <>
struct Oct<DType::kQ4_0> : Oct32 {
    static constexpr bool kMin = false;
    static constexpr int kAlign = 2;
    __device__ static void get(const uint8_t* row, int64_t step, int lane, float* q, OctScales& s) {
        const uint8_t* b = row + (step * 8 + lane / 4) * sizeof(BlockQ4_0);
        const uint32_t w = ld_u32_a2(b + 2 + 4 * (lane % 4));
        s.d0 = s.d1 = half_at(*reinterpret_cast<const uint16_t*>(b));
        bytes4(w & 0x0F0F0F0Fu, 8.0f, q);
        bytes4((w >> 4) & 0x0F0F0F0Fu, 8.0f, q + 4);
    }
};

template <>
struct Oct<DType::kQ4_1> : Oct32 {
    static constexpr bool kMin = true;
    static constexpr int kAlign = 4;
    __device__ static void get(const uint8_t* row, int64_t step, int lane, float* q, OctScales& s) {
        const uint8_t* b = row + (step * 8 + lane / 4) * sizeof(BlockQ4_1);
        const uint32_t w = ld_u32(b + 4 + 4 * (lane % 4));
        const uint32_t dm = ld_u32(b);
        s.d0 = s.d1 = half_at(static_cast<uint16_t>(dm & 0xFFFF));
        s.m0 = s.m1 = half_at(static_cast<uint16_t>(dm >> 16));
        bytes4(w & 0x0F0F0F0Fu, 0.0f, q);
        bytes4((w >> 4) & 0x0F0F0F0Fu, 0.0f, q + 4);
    }
};

// Four bits (bits 0-3 of h) spread to bit 4 of each byte: the products h·2^(7i+4) never
// overlap, so bit i lands alone at 8i + 4.
__device__ inline uint32_t spread4_bit4(uint32_t h) { return (h * 0x02040810u) & 0x10101010u; }

template <>
struct Oct<DType::kQ5_0> : Oct32 {
    static constexpr bool kMin = false;
    static constexpr int kAlign = 2;
    __device__ static void get(const uint8_t* row, int64_t step, int lane, float* q, OctScales& s) {
        const uint8_t* b = row + (step * 8 + lane / 4) * sizeof(BlockQ5_0);
        const int sub = lane % 4;
        const uint32_t w = ld_u32_a2(b + 6 + 4 * sub);
        const uint32_t qh = ld_u32_a2(b + 2);
        s.d0 = s.d1 = half_at(*reinterpret_cast<const uint16_t*>(b));
        bytes4((w & 0x0F0F0F0Fu) | spread4_bit4((qh >> (4 * sub)) & 0xF), 16.0f, q);
        bytes4(((w >> 4) & 0x0F0F0F0Fu) | spread4_bit4((qh >> (16 + 4 * sub)) & 0xF), 16.0f, q + 4);
    }
};

// Q8_0: bytes need no pairing of runs, so lane l takes elements 4l … 4l+3 (blocks 0-3 of the
// step) and 128 + 4l … (blocks 4-7): each x load is a warp-contiguous 512 bytes, four full
// lines, where the nibble layout above reads eight half lines. With K not a multiple of 256
// the second run can be past K (ok1 false): it is then neither loaded nor counted.
template <>
struct Oct<DType::kQ8_0> {
    static constexpr int kBlock = 32;
    static constexpr bool kMin = false;
    static constexpr bool kSplitRuns = true;
    static constexpr int kAlign = 2;
    __device__ static int off0(int lane) { return 4 * lane; }
    __device__ static int off1(int lane) { return 128 + 4 * lane; }
    __device__ static void get(const uint8_t* row, int64_t step, int lane, float* q, OctScales& s,
                               bool ok1) {
        const uint8_t* b = row + (step * 8 + lane / 8) * sizeof(BlockQ8_0);
        const int o = 2 + 4 * (lane % 8);
        s.d0 = half_at(*reinterpret_cast<const uint16_t*>(b));
        // int8 → unsigned by flipping the sign bit (q + 128), removed again by the offset.
        bytes4(ld_u32_a2(b + o) ^ 0x80808080u, 128.0f, q);
        if (ok1) {
            const uint8_t* b1 = b + 4 * sizeof(BlockQ8_0);
            s.d1 = half_at(*reinterpret_cast<const uint16_t*>(b1));
            bytes4(ld_u32_a2(b1 + o) ^ 0x80808080u, 128.0f, q + 4);
        } else {
            s.d1 = 0.0f;
            q[4] = q[5] = q[6] = q[7] = 0.0f;
        }
    }
};

// K-quants with 4-bit low parts (Q4_K, Q5_K): one super-block per step. Lane l: pair
// i = l / 8 of sub-blocks (2i, 2i+1), which share qs[32i … 32i+31]; word m = l % 8 of them.
struct OctK4 {
    static constexpr int kBlock = 256;
    static constexpr bool kSplitRuns = false;
    __device__ static int off0(int lane) { return 64 * (lane / 8) + 4 * (lane % 8); }
    __device__ static int off1(int lane) { return off0(lane) + 32; }
    // Scales and mins of sub-blocks 2i and 2i+1 (ggml get_scale_min_k4 on the 12 packed bytes,
    // four sub-blocks per 32-bit word).
    // The 16-byte header (d, dmin, scales) is one broadcast 128-bit load (kAlign = 16: the
    // 144- and 176-byte blocks keep it aligned when the row is): one L1 wavefront, not four.
    __device__ static void scales(const uint8_t* b, int i, OctScales& s) {
        const uint4 hdr = *reinterpret_cast<const uint4*>(b);
        const uint32_t dm = hdr.x, s0 = hdr.y, s1 = hdr.z, s2 = hdr.w;
        // Both forms, then a select: i < 2 splits the warp in halves, so a branch would run
        // both paths anyway.
        const uint32_t sc_lo = s0 & 0x3F3F3F3Fu, mn_lo = s1 & 0x3F3F3F3Fu;
        const uint32_t sc_hi = (s2 & 0x0F0F0F0Fu) | ((s0 >> 2) & 0x30303030u);
        const uint32_t mn_hi = ((s2 >> 4) & 0x0F0F0F0Fu) | ((s1 >> 2) & 0x30303030u);
        const uint32_t sc = i < 2 ? sc_lo : sc_hi, mn = i < 2 ? mn_lo : mn_hi;
        const int lo = 2 * (i & 1);
        const float d = half_at(static_cast<uint16_t>(dm & 0xFFFF));
        const float dmin = half_at(static_cast<uint16_t>(dm >> 16));
        s.d0 = d * byte_f(sc, lo);
        s.d1 = d * byte_f(sc, lo + 1);
        s.m0 = -(dmin * byte_f(mn, lo));
        s.m1 = -(dmin * byte_f(mn, lo + 1));
    }
};

template <>
struct Oct<DType::kQ4_K> : OctK4 {
    static constexpr bool kMin = true;
    static constexpr int kAlign = 16;
    __device__ static void get(const uint8_t* row, int64_t step, int lane, float* q, OctScales& s) {
        const uint8_t* b = row + step * sizeof(BlockQ4_K);
        const int i = lane / 8;
        const uint32_t w = ld_u32(b + 16 + 32 * i + 4 * (lane % 8));
        scales(b, i, s);
        bytes4(w & 0x0F0F0F0Fu, 0.0f, q);
        bytes4((w >> 4) & 0x0F0F0F0Fu, 0.0f, q + 4);
    }
};

template <>
struct Oct<DType::kQ5_K> : OctK4 {
    static constexpr bool kMin = true;
    static constexpr int kAlign = 16;
    __device__ static void get(const uint8_t* row, int64_t step, int lane, float* q, OctScales& s) {
        const uint8_t* b = row + step * sizeof(BlockQ5_K);
        const int i = lane / 8, m = lane % 8;
        const uint32_t w = ld_u32(b + 48 + 32 * i + 4 * m);
        // qh[j] bit 2i: 5th bit of element 64i + j; bit 2i+1: of element 64i + 32 + j.
        const uint32_t h = ld_u32(b + 16 + 4 * m) >> (2 * i);
        scales(b, i, s);
        bytes4((w & 0x0F0F0F0Fu) | ((h << 4) & 0x10101010u), 0.0f, q);
        bytes4(((w >> 4) & 0x0F0F0F0Fu) | ((h << 3) & 0x10101010u), 0.0f, q + 4);
    }
};

// Q6_K: one super-block per step. Lane l: 128-element half h = l / 16, quarter a = (l / 8) % 2,
// word m = l % 8: ql word 64h + 32a + 4m holds quarter a (low nibbles) and quarter a + 2 (high
// nibbles); qh word 32h + 4m holds the top two bits of all four quarters.
template <>
struct Oct<DType::kQ6_K> {
    static constexpr int kBlock = 256;
    static constexpr bool kSplitRuns = false;
    static constexpr bool kMin = false;
    static constexpr int kAlign = 2;
    __device__ static int off0(int lane) {
        return 128 * (lane / 16) + 32 * ((lane / 8) % 2) + 4 * (lane % 8);
    }
    __device__ static int off1(int lane) { return off0(lane) + 64; }
    __device__ static void get(const uint8_t* row, int64_t step, int lane, float* q, OctScales& s) {
        const uint8_t* b = row + step * sizeof(BlockQ6_K);
        const int h = lane / 16, a = (lane / 8) % 2, m = lane % 8;
        const uint32_t ql = ld_u32_a2(b + 64 * h + 32 * a + 4 * m);
        const uint32_t qh = ld_u32_a2(b + 128 + 32 * h + 4 * m) >> (2 * a);
        const int8_t* sc = reinterpret_cast<const int8_t*>(b + 192 + 8 * h + 2 * a + m / 4);
        const float d = half_at(*reinterpret_cast<const uint16_t*>(b + 208));
        s.d0 = d * static_cast<float>(sc[0]);
        s.d1 = d * static_cast<float>(sc[4]);
        bytes4((ql & 0x0F0F0F0Fu) | ((qh << 4) & 0x30303030u), 32.0f, q);
        bytes4(((ql >> 4) & 0x0F0F0F0Fu) | (qh & 0x30303030u), 32.0f, q + 4);
    }
};

}  // namespace unicorn::cuda::dequant
