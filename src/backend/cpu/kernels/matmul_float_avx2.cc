// AVX2 kernels for float weights (F32, F16 via F16C vcvtph2ps, BF16 by a 16-bit shift).
// x stays F32; products and sums are F32 FMAs in 8 lanes per (row, token) pair, reduced
// horizontally at the end; the k % 8 tail is added in scalar.
#include <algorithm>

#include "backend/cpu/kernels/qdot_avx2.h"
#include "backend/cpu/kernels/qdot_kernels.h"
#include "core/half.h"

namespace unicorn::cpu::qdot {
namespace {

using namespace avx2;

struct F32 {
    static constexpr int kElemBytes = 4;
    static __m256 load8(const uint8_t* row, int64_t i) {
        return _mm256_loadu_ps(reinterpret_cast<const float*>(row) + i);
    }
    static float at(const uint8_t* row, int64_t i) {
        return reinterpret_cast<const float*>(row)[i];
    }
};
struct F16 {
    static constexpr int kElemBytes = 2;
    static __m256 load8(const uint8_t* row, int64_t i) {
        return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(row + 2 * i)));
    }
    static float at(const uint8_t* row, int64_t i) {
        return fp16_to_f32(reinterpret_cast<const uint16_t*>(row)[i]);
    }
};
struct BF16 {
    static constexpr int kElemBytes = 2;
    static __m256 load8(const uint8_t* row, int64_t i) {
        const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(row + 2 * i));
        return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
    }
    static float at(const uint8_t* row, int64_t i) {
        return bf16_to_f32(reinterpret_cast<const uint16_t*>(row)[i]);
    }
};

constexpr int64_t kKChunk = 512;  // elements: 2 KB of an F32 row

template <class Ty>
void tile(const TileArgs& a) {
    // 4×2 register block: 8 accumulators + 4 weight vectors + x.
    // Prefill: walk k in chunks so a register block's weight rows stay in L1 and the token
    // block's x chunk in L2 (partial dots are summed into y); decode reads each row once, in
    // one sequential pass.
    const int64_t kc = a.n_tok == 1 ? a.k : kKChunk;
    for (int64_t k0 = 0; k0 < a.k; k0 += kc) {
        const int64_t k1 = std::min(a.k, k0 + kc);
        const bool first = k0 == 0;
        const int64_t k8 = k0 + ((k1 - k0) & ~int64_t{7});  // the rest is added in scalar
        for_each_block<4, 2>(a.n_rows, a.n_tok, [&]<int R, int Tt>(int64_t r0, int64_t t0) {
            const uint8_t* wr[R];
            QDOT_UNROLL for (int r = 0; r < R; ++r) wr[r] = a.w + (r0 + r) * a.w_stride;
            const float* xr[Tt];
            QDOT_UNROLL for (int t = 0; t < Tt; ++t) xr[t] =
                reinterpret_cast<const float*>(a.act + (t0 + t) * a.act_stride);
            // Few (row, token) pairs: alternate U accumulator sets along k so FMA latency
            // does not serialize the loop.
            constexpr int U = R * Tt == 1 ? 4 : (R * Tt <= 3 ? 2 : 1);
            __m256 accs[U][R][Tt];
            QDOT_UNROLL for (int u = 0; u < U; ++u) {
                QDOT_UNROLL for (int r = 0; r < R; ++r) {
                    QDOT_UNROLL for (int t = 0; t < Tt; ++t) accs[u][r][t] = _mm256_setzero_ps();
                }
            }
            const auto step = [&](int64_t i, __m256(&acc)[R][Tt]) {
                __m256 w[R];
                QDOT_UNROLL for (int r = 0; r < R; ++r) w[r] = Ty::load8(wr[r], i);
                QDOT_UNROLL for (int t = 0; t < Tt; ++t) {
                    const __m256 x = _mm256_loadu_ps(xr[t] + i);
                    QDOT_UNROLL for (int r = 0; r < R; ++r) acc[r][t] =
                        _mm256_fmadd_ps(w[r], x, acc[r][t]);
                }
            };
            int64_t i = k0;
            for (; i + 8 * U <= k8; i += 8 * U) {
                for (int off = 0; off < 8 * U * Ty::kElemBytes; off += 64)
                    prefetch_weights<R, Tt>(wr[0] + i * Ty::kElemBytes + off);
                QDOT_UNROLL for (int u = 0; u < U; ++u) step(i + 8 * u, accs[u]);
            }
            for (; i < k8; i += 8) step(i, accs[0]);
            QDOT_UNROLL for (int r = 0; r < R; ++r) {
                QDOT_UNROLL for (int t = 0; t < Tt; ++t) {
                    __m256 v = accs[0][r][t];
                    QDOT_UNROLL for (int u = 1; u < U; ++u) v = _mm256_add_ps(v, accs[u][r][t]);
                    float s = hsum(v);
                    for (int64_t j = k8; j < k1; ++j) s += Ty::at(wr[r], j) * xr[t][j];
                    float& out = a.y[(t0 + t) * a.y_stride + r0 + r];
                    out = first ? s : out + s;
                }
            }
        });
    }
}

}  // namespace

Kernel avx2_float_kernel(DType w) {
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
