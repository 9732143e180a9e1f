// AVX-512 kernels for float weights (F32, F16 via vcvtph2ps, BF16 by a 16-bit shift).
// x stays F32 (no bf16 rounding of activations, so no vdpbf16ps); F32 FMAs in 16 lanes per
// (row, token) pair, reduced at the end; the k % 16 tail uses masked loads.
// GCC 12's AVX-512 intrinsics pass "undefined" vectors made by self-initialisation
// (__Y = __Y), which -Wuninitialized reports once they are inlined here (GCC bug 105593).
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <immintrin.h>

#include "backend/cpu/kernels/qdot_kernels.h"

namespace unicorn::cpu::qdot {
namespace {

struct F32 {
    static __m512 load(const uint8_t* row, int64_t i, __mmask16 m) {
        return _mm512_maskz_loadu_ps(m, reinterpret_cast<const float*>(row) + i);
    }
};
struct F16 {
    static __m512 load(const uint8_t* row, int64_t i, __mmask16 m) {
        return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, row + 2 * i));
    }
};
struct BF16 {
    static __m512 load(const uint8_t* row, int64_t i, __mmask16 m) {
        const __m256i h = _mm256_maskz_loadu_epi16(m, row + 2 * i);
        return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    }
};

template <class Ty>
void tile(const TileArgs& a) {
    // 4×4 register block: 16 accumulators + 4 weight vectors + x, of 32 zmm registers.
    for_each_block<4, 4>(a.n_rows, a.n_tok, [&]<int R, int Tt>(int64_t r0, int64_t t0) {
        const uint8_t* wr[R];
        for (int r = 0; r < R; ++r) wr[r] = a.w + (r0 + r) * a.w_stride;
        const float* xr[Tt];
        for (int t = 0; t < Tt; ++t) xr[t] = reinterpret_cast<const float*>(a.act + (t0 + t) * a.act_stride);
        // Few (row, token) pairs: alternate U accumulator sets along k so FMA latency
        // does not serialize the loop.
        constexpr int U = R * Tt == 1 ? 4 : (R * Tt <= 3 ? 2 : 1);
        __m512 accs[U][R][Tt];
        for (int u = 0; u < U; ++u)
            for (int r = 0; r < R; ++r)
                for (int t = 0; t < Tt; ++t) accs[u][r][t] = _mm512_setzero_ps();
        const auto step = [&](int64_t i, __mmask16 m, __m512 (&acc)[R][Tt]) {
            __m512 w[R];
            for (int r = 0; r < R; ++r) w[r] = Ty::load(wr[r], i, m);
            for (int t = 0; t < Tt; ++t) {
                const __m512 x = _mm512_maskz_loadu_ps(m, xr[t] + i);
                for (int r = 0; r < R; ++r) acc[r][t] = _mm512_fmadd_ps(w[r], x, acc[r][t]);
            }
        };
        int64_t i = 0;
        for (; i + 16 * U <= a.k; i += 16 * U)
            for (int u = 0; u < U; ++u) step(i + 16 * u, 0xFFFF, accs[u]);
        for (; i + 16 <= a.k; i += 16) step(i, 0xFFFF, accs[0]);
        if (i < a.k) step(i, static_cast<__mmask16>((1u << (a.k - i)) - 1), accs[0]);
        for (int r = 0; r < R; ++r)
            for (int t = 0; t < Tt; ++t) {
                __m512 v = accs[0][r][t];
                for (int u = 1; u < U; ++u) v = _mm512_add_ps(v, accs[u][r][t]);
                a.y[(t0 + t) * a.y_stride + r0 + r] = _mm512_reduce_add_ps(v);
            }
    });
}

}  // namespace

Kernel avx512_float_kernel(DType w) {
    Kernel k;
    switch (w) {
        case DType::kF32: k.tile = tile<F32>; break;
        case DType::kF16: k.tile = tile<F16>; break;
        case DType::kBF16: k.tile = tile<BF16>; break;
        default: break;
    }
    return k;
}

}  // namespace unicorn::cpu::qdot
