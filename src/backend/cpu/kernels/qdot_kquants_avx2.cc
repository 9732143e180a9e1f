// AVX2 kernels for the K-quants (Q2_K Q3_K Q4_K Q5_K Q6_K), 256-element super-blocks.
//
// Activations: Q8_K-like rows (qdot_avx2.h KActLayout): int8 codes with one float scale dx
// per super-block plus the sums of every 16 and 32 codes. Per 32-element chunk the kernel
// forms the weight codes as unsigned bytes (Q3_K/Q6_K codes shifted up by 4/32 to make them
// unsigned), multiplies with vpmaddubsw (u8×s8 -> i16 pairs, |pair| <= 2·63·127: no
// saturation) and applies the sub-block scale with vpmaddwd (i16×i16 -> i32, exact), so a
// whole super-block is one exact int32 sum Σ_g sc_g·Σ q·qx. The shifted-code offsets
// (Σ_g sc_g·off·bsum_g) are subtracted in int32 too. Then one float FMA per super-block adds
// d·dx·isum, and for Q2_K/Q4_K/Q5_K the min term dmin·dx·Σ_g m_g·bsum_g (int32 dot, scaled
// in float). Accumulators are f32 lanes, reduced horizontally at the end.
#include "backend/cpu/kernels/qdot_avx2.h"
#include "backend/cpu/kernels/qdot_kernels.h"

namespace unicorn::cpu::qdot {
namespace {

using namespace avx2;

inline __m256i load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
inline __m128i load128(const void* p) { return _mm_loadu_si128(static_cast<const __m128i*>(p)); }

// Scale vector for chunk c (32 elements = groups 2c, 2c+1 of 16) from 16 int16 group scales:
// the group 2c scale in lanes 0..7 (pair sums of elements 0..15), group 2c+1 in lanes 8..15.
inline __m256i chunk_scales(__m256i s16, int c) {
    const __m256i v = _mm256_permutevar8x32_epi32(s16, _mm256_set1_epi32(c));
    const __m256i pick = _mm256_setr_epi8(0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1,  //
                                          2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3);
    return _mm256_shuffle_epi8(v, pick);
}

// 16 int16 from 16 int8 (sign-extended) or 8 uint8 each duplicated (scales per 32).
inline __m256i widen_i8(const int8_t* s) { return _mm256_cvtepi8_epi16(load128(s)); }
inline __m256i dup_u8x8(uint64_t s8) {
    const __m128i v = _mm_cvtepu8_epi16(_mm_cvtsi64_si128(static_cast<long long>(s8)));
    return _mm256_set_m128i(_mm_unpackhi_epi16(v, v), _mm_unpacklo_epi16(v, v));
}

// Per-row state for one super-block: float scales, group scales for vpmaddwd, and (types with
// mins) the min vector for the bsum dot.
struct State {
    const uint8_t* b;
    float d, dmin;
    __m256i s16;  // 16 int16 group scales (per-32 scales duplicated)
    __m256i m16;  // mins per group (Q2_K: 16 int16; Q4_K/Q5_K: 8 int16 in the low half)
};

struct Q4K {
    static constexpr size_t kBytes = 144;
    static constexpr bool kMin = true, kMin32 = true;
    static constexpr int kOffShift = -1;
    static void prep(const uint8_t* b, State& s) {
        s.b = b;
        s.d = fp16(b);
        s.dmin = fp16(b + 2);
        uint64_t sc, mn;
        k4_scales(b + 4, &sc, &mn);
        s.s16 = dup_u8x8(sc);
        s.m16 = _mm256_zextsi128_si256(
            _mm_cvtepu8_epi16(_mm_cvtsi64_si128(static_cast<long long>(mn))));
    }
    // Chunk c = sub-block c: nibble (c&1) of qs[32·(c/2) + l].
    static __m256i codes(const State& s, int c) {
        const __m256i v = load256(s.b + 16 + 32 * (c / 2));
        return _mm256_and_si256(_mm256_srli_epi16(v, 4 * (c & 1)), _mm256_set1_epi8(0x0F));
    }
};

struct Q5K {
    static constexpr size_t kBytes = 176;
    static constexpr bool kMin = true, kMin32 = true;
    static constexpr int kOffShift = -1;
    static void prep(const uint8_t* b, State& s) { Q4K::prep(b, s); }
    // As Q4_K (qs at byte 48) plus bit c of qh[l] as the 5th bit.
    static __m256i codes(const State& s, int c) {
        const __m256i v = load256(s.b + 48 + 32 * (c / 2));
        const __m256i lo =
            _mm256_and_si256(_mm256_srli_epi16(v, 4 * (c & 1)), _mm256_set1_epi8(0x0F));
        const __m256i hb = _mm256_slli_epi16(_mm256_srli_epi16(load256(s.b + 16), c), 4);
        return _mm256_or_si256(lo, _mm256_and_si256(hb, _mm256_set1_epi8(0x10)));
    }
};

struct Q6K {
    static constexpr size_t kBytes = 210;
    static constexpr bool kMin = false, kMin32 = false;
    static constexpr int kOffShift = 5;  // codes stored as q+32
    static void prep(const uint8_t* b, State& s) {
        s.b = b;
        s.d = fp16(b + 208);
        s.s16 = widen_i8(reinterpret_cast<const int8_t*>(b + 192));
    }
    // Chunk c: half h = c/4, group g = c%4 of that half: nibble g/2 of ql[64h + 32(g&1) + l],
    // bits 2g..2g+1 of qh[32h + l] on top.
    static __m256i codes(const State& s, int c) {
        const int h = c / 4, g = c % 4;
        const __m256i ql = load256(s.b + 64 * h + 32 * (g & 1));
        const __m256i lo =
            _mm256_and_si256(_mm256_srli_epi16(ql, 4 * (g / 2)), _mm256_set1_epi8(0x0F));
        const __m256i qh = _mm256_srli_epi16(load256(s.b + 128 + 32 * h), 2 * g);
        const __m256i hi = _mm256_slli_epi16(_mm256_and_si256(qh, _mm256_set1_epi8(0x03)), 4);
        return _mm256_or_si256(lo, hi);
    }
};

struct Q3K {
    static constexpr size_t kBytes = 110;
    static constexpr bool kMin = false, kMin32 = false;
    static constexpr int kOffShift = 2;  // codes stored as q+4 (hmask bit set = +4)
    static void prep(const uint8_t* b, State& s) {
        s.b = b;
        s.d = fp16(b + 108);
        s.s16 = _mm256_cvtepi8_epi16(k3_scales(b + 96));
    }
    // Chunk c: half h = c/4, j = c%4: bits 2j..2j+1 of qs[32h + l], plus 4 if bit 4h+j of
    // hmask[l] is set.
    static __m256i codes(const State& s, int c) {
        const int h = c / 4, j = c % 4;
        const __m256i lo = _mm256_and_si256(_mm256_srli_epi16(load256(s.b + 32 + 32 * h), 2 * j),
                                            _mm256_set1_epi8(0x03));
        const __m256i hm = _mm256_srli_epi16(load256(s.b), 4 * h + j);
        const __m256i hi = _mm256_slli_epi16(_mm256_and_si256(hm, _mm256_set1_epi8(0x01)), 2);
        return _mm256_or_si256(lo, hi);
    }
};

struct Q2K {
    static constexpr size_t kBytes = 84;
    static constexpr bool kMin = true, kMin32 = false;
    static constexpr int kOffShift = -1;
    static void prep(const uint8_t* b, State& s) {
        s.b = b;
        s.d = fp16(b + 80);
        s.dmin = fp16(b + 82);
        const __m256i sc = _mm256_cvtepu8_epi16(load128(b));
        s.s16 = _mm256_and_si256(sc, _mm256_set1_epi16(0x0F));
        s.m16 = _mm256_srli_epi16(sc, 4);
    }
    // Chunk c: half h = c/4, j = c%4: bits 2j..2j+1 of qs[32h + l].
    static __m256i codes(const State& s, int c) {
        const int h = c / 4, j = c % 4;
        return _mm256_and_si256(_mm256_srli_epi16(load256(s.b + 16 + 32 * h), 2 * j),
                                _mm256_set1_epi8(0x03));
    }
};

template <class Ty>
void tile(const TileArgs& a) {
    const KActLayout lay(a.k);
    const int64_t nsb = a.k / 256;
    // 1 row × 4 tokens: unpacking a K-quant chunk costs more than loading an activation chunk,
    // so it is shared by 4 tokens (2×2 and 1×3 measured slower on 16 ymm registers).
    for_each_block<1, 4>(a.n_rows, a.n_tok, [&]<int R, int Tt>(int64_t r0, int64_t t0) {
        const uint8_t* wr[R];
        QDOT_UNROLL for (int r = 0; r < R; ++r) wr[r] = a.w + (r0 + r) * a.w_stride;
        const int8_t* xq[Tt];
        const float* dx[Tt];
        const int16_t *b16[Tt], *b32[Tt];
        QDOT_UNROLL for (int t = 0; t < Tt; ++t) {
            const uint8_t* row = a.act + (t0 + t) * a.act_stride;
            xq[t] = reinterpret_cast<const int8_t*>(row);
            dx[t] = reinterpret_cast<const float*>(row + lay.d);
            b16[t] = reinterpret_cast<const int16_t*>(row + lay.bsum16);
            b32[t] = reinterpret_cast<const int16_t*>(row + lay.bsum32);
        }
        __m256 acc[R][Tt];
        QDOT_UNROLL for (int r = 0; r < R; ++r) {
            QDOT_UNROLL for (int t = 0; t < Tt; ++t) acc[r][t] = _mm256_setzero_ps();
        }
        for (int64_t sb = 0; sb < nsb; ++sb) {
            for (size_t off = 0; off < Ty::kBytes; off += 64)
                prefetch_weights<R, Tt>(wr[0] + sb * Ty::kBytes + off);
            State st[R];
            QDOT_UNROLL for (int r = 0; r < R; ++r) Ty::prep(wr[r] + sb * Ty::kBytes, st[r]);
            // Small blocks alternate two integer chains over chunks (latency of the
            // multiply-accumulate); large ones have enough independent pairs.
            constexpr int NI = R * Tt <= 2 ? 2 : 1;
            __m256i isums[NI][R][Tt];
            QDOT_UNROLL for (int u = 0; u < NI; ++u) {
                QDOT_UNROLL for (int r = 0; r < R; ++r) {
                    QDOT_UNROLL for (int t = 0; t < Tt; ++t) isums[u][r][t] =
                        _mm256_setzero_si256();
                }
            }
            QDOT_UNROLL for (int c = 0; c < 8; ++c) {
                __m256i q[R], s[R];
                QDOT_UNROLL for (int r = 0; r < R; ++r) {
                    q[r] = Ty::codes(st[r], c);
                    s[r] = chunk_scales(st[r].s16, c);
                }
                QDOT_UNROLL for (int t = 0; t < Tt; ++t) {
                    const __m256i x = load256(xq[t] + sb * 256 + 32 * c);
                    QDOT_UNROLL for (int r = 0; r < R; ++r) {
                        const __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(q[r], x), s[r]);
                        isums[c % NI][r][t] = _mm256_add_epi32(isums[c % NI][r][t], p);
                    }
                }
            }
            QDOT_UNROLL for (int t = 0; t < Tt; ++t) {
                const float d = dx[t][sb];
                QDOT_UNROLL for (int r = 0; r < R; ++r) {
                    __m256i is = isums[0][r][t];
                    if constexpr (NI == 2) is = _mm256_add_epi32(is, isums[1][r][t]);
                    if constexpr (Ty::kOffShift >= 0) {  // codes were q + off: remove Σ sc·off·bsum
                        const __m256i o = _mm256_madd_epi16(st[r].s16, load256(b16[t] + 16 * sb));
                        is = _mm256_sub_epi32(is, _mm256_slli_epi32(o, Ty::kOffShift));
                    }
                    acc[r][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(is), _mm256_set1_ps(st[r].d * d),
                                                acc[r][t]);
                    if constexpr (Ty::kMin) {
                        __m256i m;
                        if constexpr (Ty::kMin32)
                            m = _mm256_zextsi128_si256(_mm_madd_epi16(
                                _mm256_castsi256_si128(st[r].m16), load128(b32[t] + 8 * sb)));
                        else
                            m = _mm256_madd_epi16(st[r].m16, load256(b16[t] + 16 * sb));
                        acc[r][t] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(m),
                                                     _mm256_set1_ps(st[r].dmin * d), acc[r][t]);
                    }
                }
            }
        }
        QDOT_UNROLL for (int r = 0; r < R; ++r) {
            QDOT_UNROLL for (int t = 0; t < Tt; ++t) a.y[(t0 + t) * a.y_stride + r0 + r] =
                hsum(acc[r][t]);
        }
    });
}

}  // namespace

Kernel avx2_kquant_kernel(DType w) {
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
    k.quantize = quantize_k_row;
    k.act_row_bytes = k_act_row_bytes;
    return k;
}

}  // namespace unicorn::cpu::qdot
