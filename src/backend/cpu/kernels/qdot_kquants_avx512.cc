// AVX-512 VNNI kernels for the K-quants (Q2_K Q3_K Q4_K Q5_K Q6_K).
//
// Same arithmetic as qdot_kquants_avx2.cc, 64 codes per step: the weight codes of a chunk
// become unsigned bytes in element order (Q3_K/Q6_K shifted up by 4/32), vpmaddubsw (u8×s8
// -> i16 pairs, |pair| <= 2·63·127) meets the int8 activations, and vpdpwssd multiplies the
// pairs by the 16-element group scales (one per 128-bit lane, placed by vpermw) and adds
// them into exact int32 super-block sums. Per super-block: subtract the shifted-code offset
// Σ sc·off·bsum16 (int32), one cvt + FMA by d·dx, and for Q2_K/Q4_K/Q5_K the min term
// dmin·dx·Σ m·bsum. Activations: avx2::KActLayout (Q8_K-like).

// GCC 12's AVX-512 intrinsics pass "undefined" vectors made by self-initialisation
// (__Y = __Y), which -Wuninitialized reports once they are inlined here (GCC bug 105593).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include "backend/cpu/kernels/qdot_avx2.h"
#include "backend/cpu/kernels/qdot_kernels.h"

namespace unicorn::cpu::qdot {
namespace {

using avx2::KActLayout;

inline __m256i load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
inline __m128i load128(const void* p) { return _mm_loadu_si128(static_cast<const __m128i*>(p)); }
inline __m512i bcast256(const void* p) { return _mm512_broadcast_i64x4(load256(p)); }

// vpermw index giving 128-bit lane L the group scale 4c + L (8 int16 pair sums per group);
// compile-time tables, one per chunk.
struct WordIndex {
    alignas(64) int16_t v[32];
};
constexpr WordIndex make_group_index(int c) {
    WordIndex r{};
    for (int i = 0; i < 32; ++i) r.v[i] = static_cast<int16_t>(4 * c + i / 8);
    return r;
}
inline constexpr WordIndex kGroupIndex[4] = {make_group_index(0), make_group_index(1),
                                             make_group_index(2), make_group_index(3)};
inline __m512i group_index(int c) { return _mm512_load_si512(kGroupIndex[c].v); }

// Per-word shift counts: a for words 0..15 (elements 0..31), b for words 16..31.
inline __m512i two_counts(int a, int b) {
    return _mm512_inserti64x4(_mm512_set1_epi16(static_cast<int16_t>(a)),
                              _mm256_set1_epi16(static_cast<int16_t>(b)), 1);
}
// Byte pattern: bit a in bytes 0..31, bit b in bytes 32..63 (for vptestmb).
inline __m512i two_bits(int a, int b) {
    return _mm512_inserti64x4(_mm512_set1_epi8(static_cast<char>(1 << a)),
                              _mm256_set1_epi8(static_cast<char>(1 << b)), 1);
}

struct State {
    const uint8_t* b;
    float d, dmin;
    __m512i s16;  // 16 int16 group scales in the low 256 bits (per-32 scales duplicated)
    __m256i m16;  // mins: Q2_K 16 int16; Q4_K/Q5_K 8 int16 in the low 128 bits
};

inline __m256i dup_u8x8(uint64_t s8) {
    const __m128i v = _mm_cvtepu8_epi16(_mm_cvtsi64_si128(static_cast<long long>(s8)));
    return _mm256_set_m128i(_mm_unpackhi_epi16(v, v), _mm_unpacklo_epi16(v, v));
}

struct Q4K {
    static constexpr size_t kBytes = 144;
    static constexpr bool kMin = true, kMin32 = true;
    static constexpr int kOffShift = -1;
    static void prep(const uint8_t* b, State& s) {
        s.b = b;
        s.d = avx2::fp16(b);
        s.dmin = avx2::fp16(b + 2);
        uint64_t sc, mn;
        avx2::k4_scales(b + 4, &sc, &mn);
        s.s16 = _mm512_castsi256_si512(dup_u8x8(sc));
        s.m16 = _mm256_zextsi128_si256(
            _mm_cvtepu8_epi16(_mm_cvtsi64_si128(static_cast<long long>(mn))));
    }
    // Chunk c = sub-blocks 2c (low nibbles of qs[32c..]) and 2c+1 (high nibbles).
    static __m512i codes(const State& s, int c) {
        const __m256i v = load256(s.b + 16 + 32 * c);
        const __m512i z = _mm512_inserti64x4(_mm512_castsi256_si512(v), _mm256_srli_epi16(v, 4), 1);
        return _mm512_and_si512(z, _mm512_set1_epi8(0x0F));
    }
};

struct Q5K {
    static constexpr size_t kBytes = 176;
    static constexpr bool kMin = true, kMin32 = true;
    static constexpr int kOffShift = -1;
    static void prep(const uint8_t* b, State& s) { Q4K::prep(b, s); }
    // As Q4_K (qs at byte 48), 5th bits: bit 2c / 2c+1 of qh[l].
    static __m512i codes(const State& s, int c) {
        const __m256i v = load256(s.b + 48 + 32 * c);
        __m512i z = _mm512_inserti64x4(_mm512_castsi256_si512(v), _mm256_srli_epi16(v, 4), 1);
        z = _mm512_and_si512(z, _mm512_set1_epi8(0x0F));
        const __mmask64 hb = _mm512_test_epi8_mask(bcast256(s.b + 16), two_bits(2 * c, 2 * c + 1));
        return _mm512_mask_add_epi8(z, hb, z, _mm512_set1_epi8(0x10));
    }
};

struct Q6K {
    static constexpr size_t kBytes = 210;
    static constexpr bool kMin = false, kMin32 = false;
    static constexpr int kOffShift = 5;  // codes stored as q + 32
    static void prep(const uint8_t* b, State& s) {
        s.b = b;
        s.d = avx2::fp16(b + 208);
        s.s16 = _mm512_castsi256_si512(_mm256_cvtepi8_epi16(load128(b + 192)));
    }
    // Chunk c: half h = c/2; sub s = c%2 takes nibble s of ql[64h + i] and bits 4s+2·(i/32)
    // ..+1 of qh[32h + i%32], moved to bits 4..5 by a per-half word shift.
    static __m512i codes(const State& st, int c) {
        const int h = c / 2, s = c % 2;
        const __m512i ql = _mm512_loadu_si512(st.b + 64 * h);
        const __m512i lo =
            _mm512_and_si512(s ? _mm512_srli_epi16(ql, 4) : ql, _mm512_set1_epi8(0x0F));
        const __m512i qh = bcast256(st.b + 128 + 32 * h);
        const __m512i hs =
            s ? _mm512_srlv_epi16(qh, two_counts(0, 2)) : _mm512_sllv_epi16(qh, two_counts(4, 2));
        return _mm512_ternarylogic_epi32(lo, hs, _mm512_set1_epi8(0x30), 0xF8);  // lo | (hs & 0x30)
    }
};

struct Q3K {
    static constexpr size_t kBytes = 110;
    static constexpr bool kMin = false, kMin32 = false;
    static constexpr int kOffShift = 2;  // codes stored as q + 4
    static void prep(const uint8_t* b, State& s) {
        s.b = b;
        s.d = avx2::fp16(b + 108);
        s.s16 = _mm512_castsi256_si512(_mm256_cvtepi8_epi16(avx2::k3_scales(b + 96)));
    }
    // Chunk c: half h = c/2, j = 2(c%2) + i/32: bits 2j..2j+1 of qs[32h + i%32], plus 4 if
    // bit 4h + j of hmask[i%32] is set.
    static __m512i codes(const State& st, int c) {
        const int h = c / 2, j = 2 * (c % 2);
        const __m512i q =
            _mm512_srlv_epi16(bcast256(st.b + 32 + 32 * h), two_counts(2 * j, 2 * j + 2));
        const __m512i lo = _mm512_and_si512(q, _mm512_set1_epi8(0x03));
        const __mmask64 hb =
            _mm512_test_epi8_mask(bcast256(st.b), two_bits(4 * h + j, 4 * h + j + 1));
        return _mm512_mask_add_epi8(lo, hb, lo, _mm512_set1_epi8(0x04));
    }
};

struct Q2K {
    static constexpr size_t kBytes = 84;
    static constexpr bool kMin = true, kMin32 = false;
    static constexpr int kOffShift = -1;
    static void prep(const uint8_t* b, State& s) {
        s.b = b;
        s.d = avx2::fp16(b + 80);
        s.dmin = avx2::fp16(b + 82);
        const __m256i sc = _mm256_cvtepu8_epi16(load128(b));
        s.s16 = _mm512_castsi256_si512(_mm256_and_si256(sc, _mm256_set1_epi16(0x0F)));
        s.m16 = _mm256_srli_epi16(sc, 4);
    }
    // Chunk c: half h = c/2, j = 2(c%2) + i/32: bits 2j..2j+1 of qs[32h + i%32].
    static __m512i codes(const State& st, int c) {
        const int h = c / 2, j = 2 * (c % 2);
        const __m512i q =
            _mm512_srlv_epi16(bcast256(st.b + 16 + 32 * h), two_counts(2 * j, 2 * j + 2));
        return _mm512_and_si512(q, _mm512_set1_epi8(0x03));
    }
};

template <class Ty>
void tile(const TileArgs& a) {
    const KActLayout lay(a.k);
    const int64_t nsb = a.k / 256;
    // 2 rows × 4 tokens: 8 int32 + 8 f32 accumulators; unpacking a K-quant chunk costs more
    // than loading an activation chunk, so tokens get the larger share.
    for_each_block<2, 4>(a.n_rows, a.n_tok, [&]<int R, int Tt>(int64_t r0, int64_t t0) {
        const uint8_t* wr[R];
        QDOT_UNROLL for (int r = 0; r < R; ++r) wr[r] = a.w + (r0 + r) * a.w_stride;
        const uint8_t* xr[Tt];
        QDOT_UNROLL for (int t = 0; t < Tt; ++t) xr[t] = a.act + (t0 + t) * a.act_stride;
        __m512 acc[R][Tt];
        QDOT_UNROLL for (int r = 0; r < R; ++r) {
            QDOT_UNROLL for (int t = 0; t < Tt; ++t) acc[r][t] = _mm512_setzero_ps();
        }
        for (int64_t sb = 0; sb < nsb; ++sb) {
            for (size_t off = 0; off < Ty::kBytes; off += 64)
                prefetch_weights<R, Tt>(wr[0] + sb * Ty::kBytes + off);
            State st[R];
            QDOT_UNROLL for (int r = 0; r < R; ++r) Ty::prep(wr[r] + sb * Ty::kBytes, st[r]);
            // Small blocks alternate two integer chains over chunks (latency of the
            // multiply-accumulate); large ones have enough independent pairs.
            constexpr int NI = R * Tt <= 2 ? 2 : 1;
            __m512i isums[NI][R][Tt];
            QDOT_UNROLL for (int u = 0; u < NI; ++u) {
                QDOT_UNROLL for (int r = 0; r < R; ++r) {
                    QDOT_UNROLL for (int t = 0; t < Tt; ++t) isums[u][r][t] =
                        _mm512_setzero_si512();
                }
            }
            QDOT_UNROLL for (int c = 0; c < 4; ++c) {
                __m512i q[R], s[R];
                QDOT_UNROLL for (int r = 0; r < R; ++r) {
                    q[r] = Ty::codes(st[r], c);
                    s[r] = _mm512_permutexvar_epi16(group_index(c), st[r].s16);
                }
                QDOT_UNROLL for (int t = 0; t < Tt; ++t) {
                    const __m512i x = _mm512_load_si512(xr[t] + sb * 256 + 64 * c);
                    QDOT_UNROLL for (int r = 0; r < R; ++r) isums[c % NI][r][t] =
                        _mm512_dpwssd_epi32(isums[c % NI][r][t], _mm512_maddubs_epi16(q[r], x),
                                            s[r]);
                }
            }
            QDOT_UNROLL for (int t = 0; t < Tt; ++t) {
                const float d = reinterpret_cast<const float*>(xr[t] + lay.d)[sb];
                const int16_t* b16 = reinterpret_cast<const int16_t*>(xr[t] + lay.bsum16) + 16 * sb;
                const int16_t* b32 = reinterpret_cast<const int16_t*>(xr[t] + lay.bsum32) + 8 * sb;
                QDOT_UNROLL for (int r = 0; r < R; ++r) {
                    __m512i is = isums[0][r][t];
                    if constexpr (NI == 2) is = _mm512_add_epi32(is, isums[1][r][t]);
                    if constexpr (Ty::kOffShift >= 0) {  // codes were q + off: remove Σ sc·off·bsum
                        const __m256i o =
                            _mm256_madd_epi16(_mm512_castsi512_si256(st[r].s16), load256(b16));
                        is = _mm512_sub_epi32(
                            is, _mm512_zextsi256_si512(_mm256_slli_epi32(o, Ty::kOffShift)));
                    }
                    acc[r][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(is), _mm512_set1_ps(st[r].d * d),
                                                acc[r][t]);
                    if constexpr (Ty::kMin) {
                        __m256i m;
                        if constexpr (Ty::kMin32)
                            m = _mm256_zextsi128_si256(
                                _mm_madd_epi16(_mm256_castsi256_si128(st[r].m16), load128(b32)));
                        else
                            m = _mm256_madd_epi16(st[r].m16, load256(b16));
                        acc[r][t] = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(_mm512_zextsi256_si512(m)),
                                                     _mm512_set1_ps(st[r].dmin * d), acc[r][t]);
                    }
                }
            }
        }
        QDOT_UNROLL for (int r = 0; r < R; ++r) {
            QDOT_UNROLL for (int t = 0; t < Tt; ++t) a.y[(t0 + t) * a.y_stride + r0 + r] =
                _mm512_reduce_add_ps(acc[r][t]);
        }
    });
}

}  // namespace

Kernel avx512_kquant_kernel(DType w) {
    Kernel k;
    switch (w) {
        case DType::kQ2_K:
            k.tile = tile<Q2K>;
            break;
        case DType::kQ3_K:
            k.tile = tile<Q3K>;
            break;
        case DType::kQ4_K:
            k.tile = tile<Q4K>;
            break;
        case DType::kQ5_K:
            k.tile = tile<Q5K>;
            break;
        case DType::kQ6_K:
            k.tile = tile<Q6K>;
            break;
        default:
            return k;
    }
    k.quantize = avx2::quantize_k_row;
    k.act_row_bytes = avx2::k_act_row_bytes;
    return k;
}

}  // namespace unicorn::cpu::qdot
