// AVX-512 VNNI kernels for the 32-element legacy types (Q4_0 Q4_1 Q5_0 Q5_1 Q8_0).
//
// Two weight blocks (64 codes) per step. One 64-byte load brings both blocks (36..48 bytes);
// near the end of a row, where 64 bytes would run past it (and, on the last row, past an
// mmapped file), the load is masked to the pair. Only there: with a masked load per pair the
// DRAM-bound matvec ran at a third of the speed on the development machine (Zen 5), and GCC
// keeps accumulators in memory around loops that contain masked-load builtins.
// vpermw places block 0's 16 code bytes in 128-bit lanes 0-1 and block 1's in lanes 2-3,
// a per-lane shift (0/4) and a mask leave one unsigned code per byte in element order, and
// a second vpermw + vcvtph2ps spreads d0/d1 over lanes 0-7/8-15. vpdpbusd (u8×s8, exact
// int32, no intermediate saturation) then gives 8 partial dot lanes per block; the _0 types'
// code offset (8, 16; 128 for Q8_0, whose signed codes are flipped to unsigned with xor 0x80)
// is folded in by starting the accumulation at -off·Σqx (lanes 0 and 8). One cvt + FMA scales
// by d_w·dx into f32 lanes; Q4_1/Q5_1 add m·dx·Σqx with one more FMA.
//
// Activation row (made by quantize_row below): qs[k rounded up to 64] int8 (zero padding) |
// per block pair: dx spread over lanes 0-7 / 8-15 (16 f32) | -off·Σqx in lanes 0 / 8 (16
// i32; off of the weight type) | dx·Σqx in lanes 0 / 8 (16 f32). Spreading once per row saves
// a few permutes/shifts per block pair and weight row in the kernel.

// GCC 12's AVX-512 intrinsics pass "undefined" vectors made by self-initialisation
// (__Y = __Y), which -Wuninitialized reports once they are inlined here (GCC bug 105593).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <algorithm>

#include "backend/cpu/kernels/qdot_avx2.h"
#include "backend/cpu/kernels/qdot_kernels.h"

namespace unicorn::cpu::qdot {
namespace {

struct Layout {
    size_t dxv, init, xsv, bytes;
    int64_t npair;
    explicit Layout(int64_t k) {
        npair = (k / 32 + 1) / 2;
        dxv = align64(static_cast<size_t>(npair) * 64);  // qs, padded to whole pairs
        init = dxv + static_cast<size_t>(npair) * 64;
        xsv = init + static_cast<size_t>(npair) * 64;
        bytes = xsv + static_cast<size_t>(npair) * 64;
    }
};

size_t act_bytes(int64_t k) { return Layout(k).bytes; }

// kOffShift: the weight type's code offset is 1 << kOffShift (-1: none).
template <int kOffShift>
void quantize_row(const float* x, uint8_t* dst, int64_t k) {
    const Layout lay(k);
    const int64_t nb = k / 32;
    auto* qs = reinterpret_cast<int8_t*>(dst);
    auto* dxv = reinterpret_cast<float*>(dst + lay.dxv);
    auto* init = reinterpret_cast<int32_t*>(dst + lay.init);
    auto* xsv = reinterpret_cast<float*>(dst + lay.xsv);
    for (int64_t p = 0; p < lay.npair; ++p) {
        __m512 d16 = _mm512_setzero_ps(), xs16 = _mm512_setzero_ps();
        __m512i s16 = _mm512_setzero_si512();
        for (int h = 0; h < 2; ++h) {
            const int64_t b = 2 * p + h;
            if (b >= nb) {  // padding block: zero codes, zero scale
                std::memset(qs + 32 * b, 0, 32);
                continue;
            }
            const float amax = avx2::abs_max(x + 32 * b, 32);
            int lo, hi;
            avx2::quantize32(x + 32 * b, avx2::inv_scale(amax), qs + 32 * b, &lo, &hi);
            const avx2::BlockScales sc = avx2::legacy_block_scales(amax, lo + hi);
            const __mmask16 half = h == 0 ? 0x00FF : 0xFF00, first = h == 0 ? 0x0001 : 0x0100;
            d16 = _mm512_mask_mov_ps(d16, half, _mm512_set1_ps(sc.d));
            const int off = kOffShift >= 0 ? -((lo + hi) << (kOffShift & 31)) : 0;
            s16 = _mm512_mask_mov_epi32(s16, first, _mm512_set1_epi32(off));
            xs16 = _mm512_mask_mov_ps(xs16, first, _mm512_set1_ps(sc.d_sum));
        }
        _mm512_store_ps(dxv + 16 * p, d16);
        _mm512_store_si512(init + 16 * p, s16);
        _mm512_store_ps(xsv + 16 * p, xs16);
    }
}

// vpermw indices, as compile-time tables (building them on the stack per call would cost a
// store-forwarding stall each time).
struct WordIndex {
    alignas(64) int16_t v[32];
};
// The 8 words at w0 into 128-bit lanes 0 and 1, the 8 at w1 into lanes 2 and 3.
constexpr WordIndex make_code_index(int w0, int w1) {
    WordIndex r{};
    for (int i = 0; i < 8; ++i) {
        r.v[i] = r.v[8 + i] = static_cast<int16_t>(w0 + i);
        r.v[16 + i] = r.v[24 + i] = static_cast<int16_t>(w1 + i);
    }
    return r;
}
// Word w0 into words 0..7, w1 into 8..31 (vcvtph2ps reads the low 16).
constexpr WordIndex make_scale_index(int w0, int w1) {
    WordIndex r{};
    for (int i = 0; i < 32; ++i) r.v[i] = static_cast<int16_t>(i < 8 ? w0 : w1);
    return r;
}
template <int kW0, int kW1>
inline constexpr WordIndex kCodeIndex = make_code_index(kW0, kW1);
template <int kW0, int kW1>
inline constexpr WordIndex kScaleIndex = make_scale_index(kW0, kW1);

inline __m512i load_index(const WordIndex& i) { return _mm512_load_si512(i.v); }

inline __m512 spread_fp16(__m512i z, __m512i idx) {
    return _mm512_cvtph_ps(_mm512_castsi512_si256(_mm512_permutexvar_epi16(idx, z)));
}

// Low nibbles in lanes 0/2, high nibbles in lanes 1/3 (elements 0-15, 16-31 of each block).
inline __m512i split_nibbles(__m512i q) {
    const __m512i shift = _mm512_setr_epi64(0, 0, 0x0004000400040004, 0x0004000400040004, 0, 0,
                                            0x0004000400040004, 0x0004000400040004);
    return _mm512_and_si512(_mm512_srlv_epi16(q, shift), _mm512_set1_epi8(0x0F));
}

inline __mmask64 byte_mask(int n) { return n >= 64 ? ~__mmask64{0} : (__mmask64{1} << n) - 1; }

// How a step loads its weight bytes: a plain 64-byte load (reads past the pair, within the
// row), a load masked to the pair, or to the single last block of an odd row.
enum class Load { kWide, kPair, kSingle };

// Per type: block bytes, offset shift (off = 1 << shift; -1 none), min, and the unpack of a
// block pair (or the last single block) into codes q, scales dw, mins mw.
template <int kWD, int kWM, int kWQH, int kWQS, int kBlockBytes>
struct Nibble {  // word offsets (within a block) of d, m, qh, qs; -1 when absent
    static constexpr size_t kBytes = kBlockBytes;
    static constexpr bool kMin = kWM >= 0;
    static constexpr int kOffShift = kMin ? -1 : (kWQH >= 0 ? 4 : 3);
    template <Load kLoad>
    static void unpack(const uint8_t* p, __m512i* q, __m512* dw, __m512* mw) {
        constexpr int kW = kBlockBytes / 2;  // block 1 starts kW words in
        constexpr bool kTail = kLoad == Load::kSingle;
        const __m512i z =
            kLoad == Load::kWide
                ? _mm512_loadu_si512(p)
                : _mm512_maskz_loadu_epi8(byte_mask(kTail ? kBlockBytes : 2 * kBlockBytes), p);
        __m512i v =
            split_nibbles(_mm512_permutexvar_epi16(load_index(kCodeIndex<kWQS, kW + kWQS>), z));
        if constexpr (kWQH >= 0) {
            uint64_t bits = avx2::load_u32(p + 2 * kWQH);
            if constexpr (!kTail)
                bits |= static_cast<uint64_t>(avx2::load_u32(p + kBlockBytes + 2 * kWQH)) << 32;
            v = _mm512_mask_add_epi8(v, _cvtu64_mask64(bits), v, _mm512_set1_epi8(0x10));
        }
        *q = v;
        *dw = spread_fp16(z, load_index(kScaleIndex<kWD, kW + kWD>));
        if constexpr (kMin) *mw = spread_fp16(z, load_index(kScaleIndex<kWM, kW + kWM>));
    }
};
using Q4_0 = Nibble<0, -1, -1, 1, 18>;
using Q4_1 = Nibble<0, 1, -1, 2, 20>;
using Q5_0 = Nibble<0, -1, 1, 3, 22>;
using Q5_1 = Nibble<0, 1, 2, 4, 24>;

struct Q8_0 {
    static constexpr size_t kBytes = 34;
    static constexpr bool kMin = false;
    static constexpr int kOffShift = 7;  // codes flipped to u8 = q + 128
    template <Load kLoad>
    static void unpack(const uint8_t* p, __m512i* q, __m512* dw, __m512*) {
        constexpr bool kTail = kLoad == Load::kSingle;  // a pair is 68 bytes: 64 always fit
        const __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 2));
        const __m256i hi = kTail ? _mm256_setzero_si256()
                                 : _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 36));
        *q = _mm512_xor_si512(_mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1),
                              _mm512_set1_epi8(-128));
        const __m512i z =
            _mm512_maskz_loadu_epi8(byte_mask(kTail ? 34 : 64), p);  // d0 word 0, d1 word 17
        *dw = spread_fp16(z, load_index(kScaleIndex<0, 17>));
    }
};

template <class Ty, int kR, int kT>
void tile(const TileArgs& a) {
    const Layout lay(a.k);
    const int64_t nb = a.k / 32, nfull = nb / 2;
    // Pairs whose 64-byte load stays inside the row: 2p·B + 64 <= nb·B.
    const int64_t row_bytes = nb * static_cast<int64_t>(Ty::kBytes);
    const int64_t nwide = std::clamp<int64_t>(
        row_bytes >= 64 ? (row_bytes - 64) / (2 * static_cast<int64_t>(Ty::kBytes)) + 1 : 0, 0,
        nfull);
    for_each_block<kR, kT>(a.n_rows, a.n_tok, [&]<int R, int Tt>(int64_t r0, int64_t t0) {
        const uint8_t* wr[R];
        QDOT_UNROLL for (int r = 0; r < R; ++r) wr[r] = a.w + (r0 + r) * a.w_stride;
        const uint8_t* xr[Tt];
        QDOT_UNROLL for (int t = 0; t < Tt; ++t) xr[t] = a.act + (t0 + t) * a.act_stride;
        // One accumulator per (row, token) whatever the block shape, so an output's sum is
        // formed in the same order alone (decode, a remainder) and inside a register block:
        // the server's batching is exact only so. Alternating two accumulators for a lone
        // pair (against the FMA latency) measured no faster on the development machine.
        constexpr int U = 1;
        __m512 accs[U][R][Tt];
        QDOT_UNROLL for (int u = 0; u < U; ++u) {
            QDOT_UNROLL for (int r = 0; r < R; ++r) {
                QDOT_UNROLL for (int t = 0; t < Tt; ++t) accs[u][r][t] = _mm512_setzero_ps();
            }
        }
        const auto step = [&]<Load kLoad>(int64_t p, __m512(&acc)[R][Tt]) {
            __m512i q[R];
            __m512 dw[R], mw[R];
            QDOT_UNROLL for (int r = 0; r < R; ++r)
                Ty::template unpack<kLoad>(wr[r] + 2 * p * Ty::kBytes, &q[r], &dw[r], &mw[r]);
            QDOT_UNROLL for (int t = 0; t < Tt; ++t) {
                const __m512i x = _mm512_load_si512(xr[t] + 64 * p);
                const __m512 dx =
                    _mm512_load_ps(reinterpret_cast<const float*>(xr[t] + lay.dxv) + 16 * p);
                __m512i init = _mm512_setzero_si512();
                if constexpr (Ty::kOffShift >= 0)
                    init = _mm512_load_si512(reinterpret_cast<const int32_t*>(xr[t] + lay.init) +
                                             16 * p);
                __m512 xs = _mm512_setzero_ps();
                if constexpr (Ty::kMin)
                    xs = _mm512_load_ps(reinterpret_cast<const float*>(xr[t] + lay.xsv) + 16 * p);
                QDOT_UNROLL for (int r = 0; r < R; ++r) {
                    const __m512i s = _mm512_dpbusd_epi32(init, q[r], x);
                    acc[r][t] =
                        _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_mul_ps(dw[r], dx), acc[r][t]);
                    if constexpr (Ty::kMin) acc[r][t] = _mm512_fmadd_ps(mw[r], xs, acc[r][t]);
                }
            }
        };
        int64_t p = 0;
        for (; p + U <= nwide; p += U) QDOT_UNROLL for (int u = 0; u < U; ++u) {
                prefetch_weights<R, Tt>(wr[0] + 2 * (p + u) * Ty::kBytes);
                step.template operator()<Load::kWide>(p + u, accs[u]);
            }
        for (; p < nwide; ++p) step.template operator()<Load::kWide>(p, accs[0]);
        for (; p < nfull; ++p) step.template operator()<Load::kPair>(p, accs[0]);
        if (nb & 1) step.template operator()<Load::kSingle>(nfull, accs[0]);
        __m512(&acc)[R][Tt] = accs[0];
        QDOT_UNROLL for (int u = 1; u < U; ++u) {
            QDOT_UNROLL for (int r = 0; r < R; ++r) {
                QDOT_UNROLL for (int t = 0; t < Tt; ++t) acc[r][t] =
                    _mm512_add_ps(acc[r][t], accs[u][r][t]);
            }
        }
        QDOT_UNROLL for (int r = 0; r < R; ++r) {
            QDOT_UNROLL for (int t = 0; t < Tt; ++t) a.y[(t0 + t) * a.y_stride + r0 + r] =
                _mm512_reduce_add_ps(acc[r][t]);
        }
    });
}

}  // namespace

Kernel avx512_legacy_kernel(DType w) {
    Kernel k;
    // 4×4 register blocks (16 accumulators); 4×2 for the types that also hold mins (4 more
    // vectors per row: 4×3 spilled).
    switch (w) {
        case DType::kQ4_0:
            k = {tile<Q4_0, 4, 4>, quantize_row<Q4_0::kOffShift>};
            break;
        case DType::kQ4_1:
            k = {tile<Q4_1, 4, 2>, quantize_row<Q4_1::kOffShift>};
            break;
        case DType::kQ5_0:
            k = {tile<Q5_0, 4, 4>, quantize_row<Q5_0::kOffShift>};
            break;
        case DType::kQ5_1:
            k = {tile<Q5_1, 4, 2>, quantize_row<Q5_1::kOffShift>};
            break;
        case DType::kQ8_0:
            k = {tile<Q8_0, 4, 4>, quantize_row<Q8_0::kOffShift>};
            break;
        default:
            return k;
    }
    k.act_row_bytes = act_bytes;
    return k;
}

}  // namespace unicorn::cpu::qdot
