// AVX2 kernels for the 32-element legacy types (Q4_0 Q4_1 Q5_0 Q5_1 Q8_0).
//
// Activations are quantized per 32-block to int8 with a scale dx held to fp16 precision, as in
// llama.cpp's Q8_0/Q8_1 (see LegacyLayout and legacy_block_scales).
// Per weight block the kernel forms the 32 weight codes as unsigned bytes q (0..15 or 0..31;
// Q8_0 stays signed) and computes the exact integer dot Σ q·qx with vpmaddubsw (u8×s8 pairs
// -> i16; |pair| <= 2·31·127, no saturation) and vpmaddwd (-> i32). The code offset of the
// _0 types (q - 8, q - 16) is removed in the same integer sum by adding -offset·Σqx, so the
// block value is exactly d_w·dx·Σ (q-off)·qx; it is then scaled once in float and accumulated
// in f32 lanes (reduced horizontally at the end). The _1 types add m·dx·Σqx in float.
// Q8_0 codes are signed: the sign is moved onto x (vpsignb) so maddubs sees |w| (<= 128).
#include "backend/cpu/kernels/qdot_avx2.h"
#include "backend/cpu/kernels/qdot_kernels.h"

namespace unicorn::cpu::qdot {
namespace {

using namespace avx2;

// Activation row: qs[k] int8 | dx[k/32] f32 | init[k/32] i32 (-off·Σqs of the block, the
// code offset of the weight type, precomputed per type) | xs[k/32] f32 (= dx·Σqs, for the
// min term of Q4_1/Q5_1).
struct LegacyLayout {
    size_t d, init, xs, bytes;
    explicit LegacyLayout(int64_t k) {
        const size_t nb = static_cast<size_t>(k / 32);
        d = align64(static_cast<size_t>(k));
        init = d + align64(nb * 4);
        xs = init + align64(nb * 4);
        bytes = xs + align64(nb * 4);
    }
};

size_t legacy_act_bytes(int64_t k) { return LegacyLayout(k).bytes; }

// kOffShift: the weight type's code offset is 1 << kOffShift (-1: none).
template <int kOffShift>
void quantize_legacy(const float* x, uint8_t* dst, int64_t k) {
    const LegacyLayout lay(k);
    auto* qs = reinterpret_cast<int8_t*>(dst);
    auto* d = reinterpret_cast<float*>(dst + lay.d);
    auto* init = reinterpret_cast<int32_t*>(dst + lay.init);
    auto* xs = reinterpret_cast<float*>(dst + lay.xs);
    for (int64_t b = 0; b < k / 32; ++b) {
        const float amax = abs_max(x + 32 * b, 32);
        int lo, hi;
        quantize32(x + 32 * b, inv_scale(amax), qs + 32 * b, &lo, &hi);
        const BlockScales sc = legacy_block_scales(amax, lo + hi);
        d[b] = sc.d;
        init[b] = kOffShift >= 0 ? -((lo + hi) << (kOffShift & 31)) : 0;
        xs[b] = sc.d_sum;
    }
}

// Unsigned nibbles of 16 bytes: element j = low nibble of qs[j], element j+16 = high nibble.
inline __m256i nibbles(const uint8_t* qs) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
    return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(v, 4), v), _mm256_set1_epi8(0x0F));
}

// 0x10 in byte j where bit j of the little-endian 32-bit qh is set (the 5th bit of code j).
inline __m256i fifth_bits(const uint8_t* qh) {
    const __m256i shuf =
        _mm256_setr_epi64x(0, 0x0101010101010101, 0x0202020202020202, 0x0303030303030303);
    __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<int>(load_u32(qh))), shuf);
    v = _mm256_or_si256(v, _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe));  // all bits but bit j%8
    v = _mm256_cmpeq_epi8(v, _mm256_set1_epi64x(-1));
    return _mm256_and_si256(v, _mm256_set1_epi8(0x10));
}

// Per type: block bytes, code offset as a shift (off = 1 << kOffShift; -1: none), whether it
// has a min (m), whether codes are signed, and the unpack of one block.
struct Q4_0 {
    static constexpr size_t kBytes = 18;
    static constexpr int kOffShift = 3;
    static constexpr bool kMin = false, kSigned = false;
    static __m256i codes(const uint8_t* b) { return nibbles(b + 2); }
};
struct Q4_1 {
    static constexpr size_t kBytes = 20;
    static constexpr int kOffShift = -1;
    static constexpr bool kMin = true, kSigned = false;
    static __m256i codes(const uint8_t* b) { return nibbles(b + 4); }
};
struct Q5_0 {
    static constexpr size_t kBytes = 22;
    static constexpr int kOffShift = 4;
    static constexpr bool kMin = false, kSigned = false;
    static __m256i codes(const uint8_t* b) {
        return _mm256_or_si256(nibbles(b + 6), fifth_bits(b + 2));
    }
};
struct Q5_1 {
    static constexpr size_t kBytes = 24;
    static constexpr int kOffShift = -1;
    static constexpr bool kMin = true, kSigned = false;
    static __m256i codes(const uint8_t* b) {
        return _mm256_or_si256(nibbles(b + 8), fifth_bits(b + 4));
    }
};
struct Q8_0 {
    static constexpr size_t kBytes = 34;
    static constexpr int kOffShift = -1;
    static constexpr bool kMin = false, kSigned = true;
    static __m256i codes(const uint8_t* b) {
        return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 2));
    }
};

template <class Ty>
void tile(const TileArgs& a) {
    const LegacyLayout lay(a.k);
    const int64_t nb = a.k / 32;
    // 2×2 register block: 4 accumulators + 2 code vectors + 2 scales + temporaries fit the
    // 16 ymm registers (at most a few spills, in the _1 types).
    for_each_block<2, 2>(a.n_rows, a.n_tok, [&]<int R, int Tt>(int64_t r0, int64_t t0) {
        const uint8_t* wr[R];
        QDOT_UNROLL for (int r = 0; r < R; ++r) wr[r] = a.w + (r0 + r) * a.w_stride;
        const int8_t* xq[Tt];
        const float *dx[Tt], *xs[Tt];
        const int32_t* xinit[Tt];
        QDOT_UNROLL for (int t = 0; t < Tt; ++t) {
            const uint8_t* row = a.act + (t0 + t) * a.act_stride;
            xq[t] = reinterpret_cast<const int8_t*>(row);
            dx[t] = reinterpret_cast<const float*>(row + lay.d);
            xinit[t] = reinterpret_cast<const int32_t*>(row + lay.init);
            xs[t] = reinterpret_cast<const float*>(row + lay.xs);
        }
        const __m256i ones = _mm256_set1_epi16(1);
        // Two accumulators per (row, token), alternating over blocks, in EVERY block shape: a
        // lone pair needs two against the FMA latency (Q8_0 matvec 39 -> 47 GB/s in cache), and
        // the same order everywhere keeps an output's sum independent of the block it is
        // computed in (decode alone or a register block of a batch): the server's batching is
        // exact only so. 2×2 blocks then hold 8 accumulators; prefill measured no slower.
        constexpr int U = 2;
        __m256 accs[U][R][Tt];
        QDOT_UNROLL for (int u = 0; u < U; ++u) {
            QDOT_UNROLL for (int r = 0; r < R; ++r) {
                QDOT_UNROLL for (int t = 0; t < Tt; ++t) accs[u][r][t] = _mm256_setzero_ps();
            }
        }
        const auto step = [&](int64_t b, __m256(&acc)[R][Tt]) {
            __m256i q[R];
            __m256 dw[R], mw[R];
            QDOT_UNROLL for (int r = 0; r < R; ++r) {
                const uint8_t* blk = wr[r] + b * Ty::kBytes;
                q[r] = Ty::codes(blk);
                dw[r] = _mm256_set1_ps(fp16(blk));
                if constexpr (Ty::kMin) mw[r] = _mm256_set1_ps(fp16(blk + 2));
            }
            QDOT_UNROLL for (int t = 0; t < Tt; ++t) {
                const __m256i x =
                    _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xq[t] + 32 * b));
                const __m256 d = _mm256_broadcast_ss(dx[t] + b);
                __m256i init = _mm256_setzero_si256();
                if constexpr (Ty::kOffShift >= 0)  // -off·Σqx in lane 0: the code offset
                    init = _mm256_zextsi128_si256(_mm_cvtsi32_si128(xinit[t][b]));
                __m256 s = _mm256_setzero_ps();
                if constexpr (Ty::kMin) s = _mm256_zextps128_ps256(_mm_set_ss(xs[t][b]));
                QDOT_UNROLL for (int r = 0; r < R; ++r) {
                    __m256i p16;
                    if constexpr (Ty::kSigned)
                        p16 = _mm256_maddubs_epi16(_mm256_sign_epi8(q[r], q[r]),
                                                   _mm256_sign_epi8(x, q[r]));
                    else
                        p16 = _mm256_maddubs_epi16(q[r], x);
                    __m256i p = _mm256_madd_epi16(p16, ones);
                    if constexpr (Ty::kOffShift >= 0) p = _mm256_add_epi32(p, init);
                    acc[r][t] =
                        _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_mul_ps(dw[r], d), acc[r][t]);
                    if constexpr (Ty::kMin) acc[r][t] = _mm256_fmadd_ps(mw[r], s, acc[r][t]);
                }
            }
        };
        int64_t b = 0;
        for (; b + U <= nb; b += U) {
            prefetch_weights<R, Tt>(wr[0] + b * Ty::kBytes);
            QDOT_UNROLL for (int u = 0; u < U; ++u) step(b + u, accs[u]);
        }
        for (; b < nb; ++b) step(b, accs[0]);
        __m256(&acc)[R][Tt] = accs[0];
        QDOT_UNROLL for (int u = 1; u < U; ++u) {
            QDOT_UNROLL for (int r = 0; r < R; ++r) {
                QDOT_UNROLL for (int t = 0; t < Tt; ++t) acc[r][t] =
                    _mm256_add_ps(acc[r][t], accs[u][r][t]);
            }
        }
        QDOT_UNROLL for (int r = 0; r < R; ++r) {
            QDOT_UNROLL for (int t = 0; t < Tt; ++t) a.y[(t0 + t) * a.y_stride + r0 + r] =
                hsum(acc[r][t]);
        }
    });
}

}  // namespace

Kernel avx2_legacy_kernel(DType w) {
    Kernel k;
    switch (w) {
        case DType::kQ4_0:
            k = {tile<Q4_0>, quantize_legacy<Q4_0::kOffShift>};
            break;
        case DType::kQ4_1:
            k = {tile<Q4_1>, quantize_legacy<Q4_1::kOffShift>};
            break;
        case DType::kQ5_0:
            k = {tile<Q5_0>, quantize_legacy<Q5_0::kOffShift>};
            break;
        case DType::kQ5_1:
            k = {tile<Q5_1>, quantize_legacy<Q5_1::kOffShift>};
            break;
        case DType::kQ8_0:
            k = {tile<Q8_0>, quantize_legacy<Q8_0::kOffShift>};
            break;
        default:
            return k;
    }
    k.act_row_bytes = legacy_act_bytes;
    return k;
}

}  // namespace unicorn::cpu::qdot
