// AVX-512 kernels for float weights (F32, F16 via vcvtph2ps, BF16 by a 16-bit shift).
// x stays F32 (no bf16 rounding of activations, so no vdpbf16ps); F32 FMAs in 16 lanes per
// (row, token) pair, reduced at the end; the k % 16 tail uses masked loads.

// GCC 12's AVX-512 intrinsics pass "undefined" vectors made by self-initialisation
// (__Y = __Y), which -Wuninitialized reports once they are inlined here (GCC bug 105593).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <immintrin.h>

#include <algorithm>

#include "backend/cpu/kernels/qdot_kernels.h"

namespace unicorn::cpu::qdot {
namespace {

struct F32 {
    static constexpr int kElemBytes = 4;
    static __m512 load(const uint8_t* row, int64_t i, __mmask16 m) {
        return _mm512_maskz_loadu_ps(m, reinterpret_cast<const float*>(row) + i);
    }
};
struct F16 {
    static constexpr int kElemBytes = 2;
    static __m512 load(const uint8_t* row, int64_t i, __mmask16 m) {
        return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, row + 2 * i));
    }
};
struct BF16 {
    static constexpr int kElemBytes = 2;
    static __m512 load(const uint8_t* row, int64_t i, __mmask16 m) {
        const __m256i h = _mm256_maskz_loadu_epi16(m, row + 2 * i);
        return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    }
};

constexpr int64_t kKChunk = 512;  // elements: 2 KB of an F32 row

// One register block: R weight rows × Tt tokens over k in [k0, k1), written (first chunk) or
// added into y. A plain function rather than a lambda: with the accumulators in a lambda
// body GCC kept a memory copy of all 16 zmm and stored it on every step.
template <class Ty, int R, int Tt>
void micro(const TileArgs& a, int64_t r0, int64_t t0, int64_t k0, int64_t k1, bool first) {
    const uint8_t* wr[R];
    QDOT_UNROLL for (int r = 0; r < R; ++r) wr[r] = a.w + (r0 + r) * a.w_stride;
    const float* xr[Tt];
    QDOT_UNROLL for (int t = 0; t < Tt; ++t) xr[t] =
        reinterpret_cast<const float*>(a.act + (t0 + t) * a.act_stride);
    // Few (row, token) pairs: alternate U accumulator sets along k so FMA latency does not
    // serialize the loop.
    constexpr int U = R * Tt == 1 ? 4 : (R * Tt <= 3 ? 2 : 1);
    __m512 acc[U][R][Tt];
    QDOT_UNROLL for (int u = 0; u < U; ++u) {
        QDOT_UNROLL for (int r = 0; r < R; ++r) {
            QDOT_UNROLL for (int t = 0; t < Tt; ++t) acc[u][r][t] = _mm512_setzero_ps();
        }
    }
    int64_t i = k0;
    for (; i + 16 * U <= k1; i += 16 * U) {
        for (int off = 0; off < 16 * U * Ty::kElemBytes; off += 64)
            prefetch_weights<R, Tt>(wr[0] + i * Ty::kElemBytes + off);
        QDOT_UNROLL for (int u = 0; u < U; ++u) {
            __m512 w[R];
            QDOT_UNROLL for (int r = 0; r < R; ++r) w[r] = Ty::load(wr[r], i + 16 * u, 0xFFFF);
            QDOT_UNROLL for (int t = 0; t < Tt; ++t) {
                const __m512 x = _mm512_loadu_ps(xr[t] + i + 16 * u);
                QDOT_UNROLL for (int r = 0; r < R; ++r) acc[u][r][t] =
                    _mm512_fmadd_ps(w[r], x, acc[u][r][t]);
            }
        }
    }
    for (; i < k1; i += 16) {
        const __mmask16 m =
            k1 - i >= 16 ? __mmask16{0xFFFF} : static_cast<__mmask16>((1u << (k1 - i)) - 1);
        __m512 w[R];
        QDOT_UNROLL for (int r = 0; r < R; ++r) w[r] = Ty::load(wr[r], i, m);
        QDOT_UNROLL for (int t = 0; t < Tt; ++t) {
            const __m512 x = _mm512_maskz_loadu_ps(m, xr[t] + i);
            QDOT_UNROLL for (int r = 0; r < R; ++r) acc[0][r][t] =
                _mm512_fmadd_ps(w[r], x, acc[0][r][t]);
        }
    }
    QDOT_UNROLL for (int r = 0; r < R; ++r) {
        QDOT_UNROLL for (int t = 0; t < Tt; ++t) {
            __m512 v = acc[0][r][t];
            QDOT_UNROLL for (int u = 1; u < U; ++u) v = _mm512_add_ps(v, acc[u][r][t]);
            const float s = _mm512_reduce_add_ps(v);
            float& out = a.y[(t0 + t) * a.y_stride + r0 + r];
            out = first ? s : out + s;
        }
    }
}

template <class Ty>
void tile(const TileArgs& a) {
    // 4×4 register block: 16 accumulators + 4 weight vectors + x, of 32 zmm registers.
    // Prefill: walk k in chunks so a register block's weight rows stay in L1 and the token
    // block's x chunk in L2 (partial dots are summed into y); decode reads each row once, in
    // one sequential pass.
    const int64_t kc = a.n_tok == 1 ? a.k : kKChunk;
    for (int64_t k0 = 0; k0 < a.k; k0 += kc) {
        const int64_t k1 = std::min(a.k, k0 + kc);
        for_each_block<4, 4>(a.n_rows, a.n_tok, [&]<int R, int Tt>(int64_t r0, int64_t t0) {
            micro<Ty, R, Tt>(a, r0, t0, k0, k1, k0 == 0);
        });
    }
}

}  // namespace

Kernel avx512_float_kernel(DType w) {
    Kernel k;
    switch (w) {
        case DType::kF32:
            k.tile = tile<F32>;
            break;
        case DType::kF16:
            k.tile = tile<F16>;
            break;
        case DType::kBF16:
            k.tile = tile<BF16>;
            break;
        default:
            break;
    }
    return k;
}

}  // namespace unicorn::cpu::qdot
