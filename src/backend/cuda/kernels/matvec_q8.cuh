// The per-lane pieces of the integer (dp4a) matvec path (matvec_q8.cu): how a lane reads and
// unpacks its share of a K-quant super-block, where the int8 activations it needs sit in shared
// memory, and the 8-bit quantization of x. Written as __host__ __device__ so the index
// arithmetic can be exercised on the host, too; the kernel and its launch live in matvec_q8.cu.
//
// Shared-memory layout, per token and per 256-element super-block sb (the K-quants' block):
//   xq:   256 int8, the super-block's x in sixteen 16-element chunks, permuted so that lane
//         l8 = 0…7 of the eight lanes on one super-block finds its two chunks at slots l8 and
//         8 + l8 (one 128-bit load each, a warp's 32 lanes reading 512 contiguous bytes: no
//         bank conflicts);
//   meta: eight float4, one per l8: {d8 of its first chunk's 32-block, d8 of its second,
//         Σq8 over its first chunk, Σq8 over its second}.
// A chunk's contribution to y is d8·(a·Σq·q8 + b·Σq8): a = d·sc, b = −dmin·m (Q4_K, Q5_K) or
// b = −32·d·sc (Q6_K: quants stored with +32), so every format has the same inner step.
#pragma once

#include <cstdint>
#include <cstring>

#if defined(__CUDACC__)
#include <cuda_fp16.h>
#define UNI_Q8_HD __host__ __device__ __forceinline__
#else
#define UNI_Q8_HD inline
#endif

namespace unicorn::cuda::q8 {

constexpr int kSuper = 256;     // elements per super-block
constexpr int kLanesPerSb = 8;  // lanes on one super-block; a warp covers four per step
constexpr int kSbPerStep = 32 / kLanesPerSb;
// Shared bytes per token and element: one int8 plus a 128-byte meta row per 256 elements.
constexpr int kSmemNum = 3, kSmemDen = 2;

// 128-bit values (CUDA's own vector types on the device, so loads are single 128-bit ones).
#if defined(__CUDACC__)
using U4 = uint4;
using F4 = float4;
#else
struct alignas(16) U4 {
    uint32_t x, y, z, w;
};
struct alignas(16) F4 {
    float x, y, z, w;
};
#endif

// ---- portable intrinsics ------------------------------------------------------------------

// Σ of the four signed-byte products, plus c.
UNI_Q8_HD int dp4a(uint32_t a, uint32_t b, int c) {
#if defined(__CUDA_ARCH__)
    return __dp4a(static_cast<int>(a), static_cast<int>(b), c);
#else
    for (int i = 0; i < 4; ++i)
        c += static_cast<int>(static_cast<int8_t>(a >> (8 * i))) *
             static_cast<int>(static_cast<int8_t>(b >> (8 * i)));
    return c;
#endif
}

// The 32 bits at byte offset sh/8 of hi:lo (sh 0 or 16 here).
UNI_Q8_HD uint32_t funnel(uint32_t lo, uint32_t hi, uint32_t sh) {
#if defined(__CUDA_ARCH__)
    return __funnelshift_r(lo, hi, sh);
#else
    const uint64_t v = (static_cast<uint64_t>(hi) << 32) | lo;
    return static_cast<uint32_t>(v >> (sh & 31));
#endif
}

UNI_Q8_HD float half_bits(uint32_t h) {
#if defined(__CUDA_ARCH__)
    return __half2float(__ushort_as_half(static_cast<unsigned short>(h & 0xFFFF)));
#else
    const uint32_t s = (h >> 15) & 1, e = (h >> 10) & 0x1F, m = h & 0x3FF;
    float v;
    if (e == 0)
        v = static_cast<float>(m) * (1.0f / 16777216.0f);  // subnormal: m·2^-24
    else if (e == 31)
        v = m ? __builtin_nanf("") : __builtin_inff();
    else {
        const uint32_t bits = ((e + 112) << 23) | (m << 13);
        std::memcpy(&v, &bits, 4);
    }
    return s ? -v : v;
#endif
}

// Byte b of w as a float: one byte shuffle under the exponent of 2^23 and one add (I2F runs at a
// quarter of the FADD rate).
UNI_Q8_HD float byte_f(uint32_t w, int b) {
#if defined(__CUDA_ARCH__)
    return __uint_as_float(__byte_perm(w, 0x4B000000u, 0x7440 + b)) - 8388608.0f;
#else
    return static_cast<float>((w >> (8 * b)) & 0xFF);
#endif
}

template <typename V>
UNI_Q8_HD V load_as(const uint8_t* p) {
    return *reinterpret_cast<const V*>(p);
}

// ---- x quantization -----------------------------------------------------------------------

// Four floats → four int8 round(v·inv) packed little-endian. |v·inv| ≤ 127: the fma adds
// 1.5·2^23, which leaves the rounded integer (two's complement) in the low mantissa byte.
UNI_Q8_HD uint32_t quant4(float v0, float v1, float v2, float v3, float inv) {
    constexpr float kMagic = 12582912.0f;
    float f[4] = {v0, v1, v2, v3};
    uint32_t q = 0;
    for (int i = 0; i < 4; ++i) {
#if defined(__CUDA_ARCH__)
        const uint32_t b = __float_as_uint(__fmaf_rn(f[i], inv, kMagic));
#else
        const float r = __builtin_fmaf(f[i], inv, kMagic);
        uint32_t b;
        std::memcpy(&b, &r, 4);
#endif
        q |= (b & 0xFFu) << (8 * i);
    }
    return q;
}

// ---- formats ------------------------------------------------------------------------------

// A lane's unpacked share of one super-block: 16 elements of a first and a second chunk (four
// words of quants each, bytes in 0…63 so a signed dp4a reads them as they are) and the chunks'
// factors a, b (see the top of the file).
struct Dec {
    uint32_t f[4], s[4];
    float af, as, bf, bs;
};

// Q4_K (144-byte blocks: d, dmin, 12 bytes of 6-bit scales/mins, 128 bytes of nibbles). Lane
// l8 = 2i + hf takes qs bytes 32i + 16hf … +15: low nibbles are elements 64i + 16hf … (sub-block
// 2i), high nibbles the same positions of sub-block 2i + 1. Both loads are 128-bit (rows
// 16-byte aligned: 144 = 9·16).
struct Q4K {
    static constexpr int kBytes = 144;
    static constexpr int kAlign = 16;
    struct Raw {
        U4 hdr, qs;
    };
    // Natural chunk c = [i1 i0 which hf] → slot [which i1 i0 hf].
    UNI_Q8_HD static int slot(int c) { return ((c >> 1) & 1) << 3 | (c >> 2) << 1 | (c & 1); }
    UNI_Q8_HD static void load(const uint8_t* b, int l8, Raw& r) {
        r.hdr = load_as<U4>(b);
        r.qs = load_as<U4>(b + 16 + 16 * l8);
    }
    // Scales and mins of sub-blocks 2i, 2i+1 (ggml get_scale_min_k4 on the packed 12 bytes).
    UNI_Q8_HD static void scales(const U4& h, int i, Dec& d) {
        const uint32_t s0 = h.y, s1 = h.z, s2 = h.w;
        const uint32_t sc_lo = s0 & 0x3F3F3F3Fu, mn_lo = s1 & 0x3F3F3F3Fu;
        const uint32_t sc_hi = (s2 & 0x0F0F0F0Fu) | ((s0 >> 2) & 0x30303030u);
        const uint32_t mn_hi = ((s2 >> 4) & 0x0F0F0F0Fu) | ((s1 >> 2) & 0x30303030u);
        const uint32_t sc = i < 2 ? sc_lo : sc_hi, mn = i < 2 ? mn_lo : mn_hi;
        const int lo = 2 * (i & 1);  // byte of sub-block 2i
        const float dd = half_bits(h.x), dmin = half_bits(h.x >> 16);
        d.af = dd * byte_f(sc, lo);
        d.as = dd * byte_f(sc, lo + 1);
        d.bf = -dmin * byte_f(mn, lo);
        d.bs = -dmin * byte_f(mn, lo + 1);
    }
    UNI_Q8_HD static void decode(const Raw& r, int l8, Dec& d) {
        const uint32_t q[4] = {r.qs.x, r.qs.y, r.qs.z, r.qs.w};
        for (int j = 0; j < 4; ++j) {
            d.f[j] = q[j] & 0x0F0F0F0Fu;
            d.s[j] = (q[j] >> 4) & 0x0F0F0F0Fu;
        }
        scales(r.hdr, l8 >> 1, d);
    }
};

// Q5_K (176-byte blocks: d, dmin, scales, 32 bytes qh, 128 bytes qs): Q4_K's lane layout; the
// fifth bit of element 64i + j is bit 2i of qh[j], of 64i + 32 + j bit 2i + 1.
struct Q5K {
    static constexpr int kBytes = 176;
    static constexpr int kAlign = 16;
    struct Raw {
        U4 hdr, qs, qh;
    };
    UNI_Q8_HD static int slot(int c) { return Q4K::slot(c); }
    UNI_Q8_HD static void load(const uint8_t* b, int l8, Raw& r) {
        r.hdr = load_as<U4>(b);
        r.qh = load_as<U4>(b + 16 + 16 * (l8 & 1));
        r.qs = load_as<U4>(b + 48 + 16 * l8);
    }
    UNI_Q8_HD static void decode(const Raw& r, int l8, Dec& d) {
        const int i = l8 >> 1;
        const uint32_t q[4] = {r.qs.x, r.qs.y, r.qs.z, r.qs.w};
        const uint32_t h[4] = {r.qh.x, r.qh.y, r.qh.z, r.qh.w};
        for (int j = 0; j < 4; ++j) {
            const uint32_t hj = h[j] >> (2 * i);
            d.f[j] = (q[j] & 0x0F0F0F0Fu) | ((hj << 4) & 0x10101010u);
            d.s[j] = ((q[j] >> 4) & 0x0F0F0F0Fu) | ((hj << 3) & 0x10101010u);
        }
        Q4K::scales(r.hdr, i, d);
    }
};

// Q6_K (210-byte blocks: ql[128], qh[64], int8 scales[16], d): lane l8 = 4h + 2a + hf takes
// ql bytes 64h + 32a + 16hf … +15 (low nibbles: quarter a of half h, positions 16hf…; high
// nibbles: quarter a + 2) and qh bytes 32h + 16hf … +15 (bits 2a, 2a + 4 of each). Blocks are
// only 2-byte aligned, so each 16-byte run is read as five aligned words and shifted by 0 or 16
// bits (never past the block: ql ends at 128, qh at 192 of 210 bytes).
struct Q6K {
    static constexpr int kBytes = 210;
    static constexpr int kAlign = 2;
    struct Raw {
        uint32_t ql[5], qh[5];
        uint32_t sh;   // 0 or 16
        int scf, scs;  // the two chunks' int8 scales
        uint32_t d;    // fp16 bits
    };
    // Natural chunk c = [h which a hf] → slot [which h a hf].
    UNI_Q8_HD static int slot(int c) { return ((c >> 2) & 1) << 3 | ((c >> 3) & 1) << 2 | (c & 3); }
    UNI_Q8_HD static void load(const uint8_t* b, int l8, Raw& r) {
        const int h = l8 >> 2, a = (l8 >> 1) & 1, hf = l8 & 1;
        const uintptr_t addr = reinterpret_cast<uintptr_t>(b);
        r.sh = static_cast<uint32_t>(addr & 2) * 8;
        const uint8_t* b4 = b - (addr & 2);  // 4-byte aligned (b is 2-byte aligned)
        const uint8_t* ql = b4 + 64 * h + 32 * a + 16 * hf;
        const uint8_t* qh = b4 + 128 + 32 * h + 16 * hf;
        for (int j = 0; j < 5; ++j) {
            r.ql[j] = load_as<uint32_t>(ql + 4 * j);
            r.qh[j] = load_as<uint32_t>(qh + 4 * j);
        }
        const int8_t* sc = reinterpret_cast<const int8_t*>(b + 192 + 8 * h + 2 * a + hf);
        r.scf = sc[0];
        r.scs = sc[4];
        r.d = load_as<uint16_t>(b + 208);
    }
    UNI_Q8_HD static void decode(const Raw& r, int l8, Dec& d) {
        const int a = (l8 >> 1) & 1;
        for (int j = 0; j < 4; ++j) {
            const uint32_t ql = funnel(r.ql[j], r.ql[j + 1], r.sh);
            const uint32_t qh = funnel(r.qh[j], r.qh[j + 1], r.sh) >> (2 * a);
            d.f[j] = (ql & 0x0F0F0F0Fu) | ((qh << 4) & 0x30303030u);
            d.s[j] = ((ql >> 4) & 0x0F0F0F0Fu) | (qh & 0x30303030u);
        }
        const float dd = half_bits(r.d);
        d.af = dd * static_cast<float>(r.scf);
        d.as = dd * static_cast<float>(r.scs);
        d.bf = -32.0f * d.af;
        d.bs = -32.0f * d.as;
    }
};

// One lane's contribution for one token: xf, xs the int8 x of its two chunks, m their meta.
UNI_Q8_HD float contrib(const Dec& w, const U4& xf, const U4& xs, const F4& m) {
    int df = dp4a(w.f[0], xf.x, 0);
    df = dp4a(w.f[1], xf.y, df);
    df = dp4a(w.f[2], xf.z, df);
    df = dp4a(w.f[3], xf.w, df);
    int ds = dp4a(w.s[0], xs.x, 0);
    ds = dp4a(w.s[1], xs.y, ds);
    ds = dp4a(w.s[2], xs.z, ds);
    ds = dp4a(w.s[3], xs.w, ds);
    const float vf = w.af * static_cast<float>(df) + w.bf * m.z;
    const float vs = w.as * static_cast<float>(ds) + w.bs * m.w;
    return m.x * vf + m.y * vs;
}

}  // namespace unicorn::cuda::q8
