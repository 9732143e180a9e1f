// Scalar matmul kernels: the fallback for CPUs without AVX2 and the baseline that the SIMD
// paths are compared with. Each weight row is dequantized once into a float buffer (the
// block formulas of formats §4.3 / ggml-quants.c dequantize_row_*), then dotted with every
// token of the tile in float; x is never quantized here, so this path carries only float
// rounding. Accumulation: eight interleaved float partial sums (shorter error chains than one
// running sum, and the compiler can keep them in SIMD lanes).
#include <cstring>
#include <vector>

#include "backend/cpu/kernels/qdot_kernels.h"
#include "core/half.h"
#include "quant/blocks.h"

namespace unicorn::cpu::qdot {
namespace {

using namespace unicorn::quant;

// fp16 -> f32 through a 65536-entry table (256 KB, built once): the bit-exact branchy
// conversion costs more than the dot product it feeds on the scalar path.
const float* fp16_table() {
    static const float* table = [] {
        auto* t = new float[65536];
        for (uint32_t i = 0; i < 65536; ++i) t[i] = fp16_to_f32(static_cast<uint16_t>(i));
        return t;
    }();
    return table;
}

float h2f(uint16_t h) { return fp16_table()[h]; }

void deq_q4_0(const uint8_t* src, float* y, int64_t k) {
    const auto* b = reinterpret_cast<const BlockQ4_0*>(src);
    for (int64_t i = 0; i < k / kQK; ++i, y += kQK) {
        const float d = h2f(b[i].d);
        for (int j = 0; j < kQK / 2; ++j) {
            y[j] = static_cast<float>((b[i].qs[j] & 15) - 8) * d;
            y[j + 16] = static_cast<float>((b[i].qs[j] >> 4) - 8) * d;
        }
    }
}

void deq_q4_1(const uint8_t* src, float* y, int64_t k) {
    const auto* b = reinterpret_cast<const BlockQ4_1*>(src);
    for (int64_t i = 0; i < k / kQK; ++i, y += kQK) {
        const float d = h2f(b[i].d), m = h2f(b[i].m);
        for (int j = 0; j < kQK / 2; ++j) {
            y[j] = static_cast<float>(b[i].qs[j] & 15) * d + m;
            y[j + 16] = static_cast<float>(b[i].qs[j] >> 4) * d + m;
        }
    }
}

// 5th bits: qh as a little-endian uint32, bit j -> element j.
uint32_t load_qh(const uint8_t* qh) {
    uint32_t v;
    std::memcpy(&v, qh, 4);
    return v;
}

void deq_q5_0(const uint8_t* src, float* y, int64_t k) {
    const auto* b = reinterpret_cast<const BlockQ5_0*>(src);
    for (int64_t i = 0; i < k / kQK; ++i, y += kQK) {
        const float d = h2f(b[i].d);
        const uint32_t qh = load_qh(b[i].qh);
        for (int j = 0; j < kQK / 2; ++j) {
            const int lo = (b[i].qs[j] & 15) | (((qh >> j) & 1) << 4);
            const int hi = (b[i].qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4);
            y[j] = static_cast<float>(lo - 16) * d;
            y[j + 16] = static_cast<float>(hi - 16) * d;
        }
    }
}

void deq_q5_1(const uint8_t* src, float* y, int64_t k) {
    const auto* b = reinterpret_cast<const BlockQ5_1*>(src);
    for (int64_t i = 0; i < k / kQK; ++i, y += kQK) {
        const float d = h2f(b[i].d), m = h2f(b[i].m);
        const uint32_t qh = load_qh(b[i].qh);
        for (int j = 0; j < kQK / 2; ++j) {
            const int lo = (b[i].qs[j] & 15) | (((qh >> j) & 1) << 4);
            const int hi = (b[i].qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4);
            y[j] = static_cast<float>(lo) * d + m;
            y[j + 16] = static_cast<float>(hi) * d + m;
        }
    }
}

void deq_q8_0(const uint8_t* src, float* y, int64_t k) {
    const auto* b = reinterpret_cast<const BlockQ8_0*>(src);
    for (int64_t i = 0; i < k / kQK; ++i, y += kQK) {
        const float d = h2f(b[i].d);
        for (int j = 0; j < kQK; ++j) y[j] = static_cast<float>(b[i].qs[j]) * d;
    }
}

// Q2_K: 16 groups of 16; group g uses scales[g] (low nibble scale, high nibble min). Within
// each 128-element half h, sub-block j (32 elements, groups 8h+2j, 8h+2j+1) takes bits
// 2j..2j+1 of the same 32 qs bytes.
void deq_q2_k(const uint8_t* src, float* y, int64_t k) {
    const auto* b = reinterpret_cast<const BlockQ2_K*>(src);
    for (int64_t i = 0; i < k / kQKK; ++i) {
        const float d = h2f(b[i].d), dmin = h2f(b[i].dmin);
        for (int h = 0; h < 2; ++h) {
            const uint8_t* q = b[i].qs + 32 * h;
            for (int j = 0; j < 4; ++j) {
                for (int g = 0; g < 2; ++g) {
                    const uint8_t sc = b[i].scales[8 * h + 2 * j + g];
                    const float dl = d * static_cast<float>(sc & 15),
                                ml = dmin * static_cast<float>(sc >> 4);
                    for (int l = 16 * g; l < 16 * g + 16; ++l)
                        *y++ = dl * static_cast<float>((q[l] >> (2 * j)) & 3) - ml;
                }
            }
        }
    }
}

// Q3_K scale j (0..15), 6 bits with a +32 bias: low 4 bits in byte j (j<8) or high nibble of
// byte j-8; high 2 bits in byte 8 + j%4 at bit 2·(j/4).
int q3k_scale(const uint8_t* s, int j) {
    const int low = j < 8 ? (s[j] & 15) : (s[j - 8] >> 4);
    const int high = (s[8 + j % 4] >> (2 * (j / 4))) & 3;
    return (low | (high << 4)) - 32;
}

// Q3_K: as Q2_K's layout for the low 2 bits; bit 4h+j of hmask[l] set means +0, clear -4.
void deq_q3_k(const uint8_t* src, float* y, int64_t k) {
    const auto* b = reinterpret_cast<const BlockQ3_K*>(src);
    for (int64_t i = 0; i < k / kQKK; ++i) {
        const float d = h2f(b[i].d);
        for (int h = 0; h < 2; ++h) {
            const uint8_t* q = b[i].qs + 32 * h;
            for (int j = 0; j < 4; ++j) {
                const int shift = 2 * j, hbit = 4 * h + j;
                for (int g = 0; g < 2; ++g) {
                    const float dl =
                        d * static_cast<float>(q3k_scale(b[i].scales, 8 * h + 2 * j + g));
                    for (int l = 16 * g; l < 16 * g + 16; ++l) {
                        const int v =
                            ((q[l] >> shift) & 3) - (((b[i].hmask[l] >> hbit) & 1) ? 0 : 4);
                        *y++ = dl * static_cast<float>(v);
                    }
                }
            }
        }
    }
}

// Q4_K/Q5_K 6-bit scale and min of sub-block j (0..7).
void k4_scale_min(const uint8_t* s, int j, int* sc, int* m) {
    if (j < 4) {
        *sc = s[j] & 63;
        *m = s[j + 4] & 63;
    } else {
        *sc = (s[j + 4] & 15) | ((s[j - 4] >> 6) << 4);
        *m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
    }
}

void deq_q4_k(const uint8_t* src, float* y, int64_t k) {
    const auto* b = reinterpret_cast<const BlockQ4_K*>(src);
    for (int64_t i = 0; i < k / kQKK; ++i) {
        const float d = h2f(b[i].d), dmin = h2f(b[i].dmin);
        for (int j = 0; j < 8; ++j) {  // sub-block j: nibble (j&1) of qs[32*(j/2) + l]
            int sc, m;
            k4_scale_min(b[i].scales, j, &sc, &m);
            const float d1 = d * static_cast<float>(sc), m1 = dmin * static_cast<float>(m);
            const uint8_t* q = b[i].qs + 32 * (j / 2);
            const int shift = 4 * (j & 1);
            for (int l = 0; l < 32; ++l) *y++ = d1 * static_cast<float>((q[l] >> shift) & 15) - m1;
        }
    }
}

void deq_q5_k(const uint8_t* src, float* y, int64_t k) {
    const auto* b = reinterpret_cast<const BlockQ5_K*>(src);
    for (int64_t i = 0; i < k / kQKK; ++i) {
        const float d = h2f(b[i].d), dmin = h2f(b[i].dmin);
        for (int j = 0; j < 8; ++j) {  // 5th bit of sub-block j: bit j of qh[l]
            int sc, m;
            k4_scale_min(b[i].scales, j, &sc, &m);
            const float d1 = d * static_cast<float>(sc), m1 = dmin * static_cast<float>(m);
            const uint8_t* q = b[i].qs + 32 * (j / 2);
            const int shift = 4 * (j & 1);
            for (int l = 0; l < 32; ++l) {
                const int v = ((q[l] >> shift) & 15) | (((b[i].qh[l] >> j) & 1) << 4);
                *y++ = d1 * static_cast<float>(v) - m1;
            }
        }
    }
}

// Q6_K: per 128-element half h, element 32g + l (g = 0..3) takes nibble (g/2) of
// ql[64h + 32(g&1) + l] and bits 2g..2g+1 of qh[32h + l]; value q - 32; scale per 16.
void deq_q6_k(const uint8_t* src, float* y, int64_t k) {
    const auto* b = reinterpret_cast<const BlockQ6_K*>(src);
    for (int64_t i = 0; i < k / kQKK; ++i) {
        const float d = h2f(b[i].d);
        for (int h = 0; h < 2; ++h) {
            const uint8_t* qh = b[i].qh + 32 * h;
            for (int g = 0; g < 4; ++g) {
                const uint8_t* ql = b[i].ql + 64 * h + 32 * (g & 1);
                const int shift = 4 * (g / 2);
                for (int half = 0; half < 2; ++half) {
                    const float dl = d * static_cast<float>(b[i].scales[8 * h + 2 * g + half]);
                    for (int l = 16 * half; l < 16 * half + 16; ++l) {
                        const int q =
                            (((ql[l] >> shift) & 15) | (((qh[l] >> (2 * g)) & 3) << 4)) - 32;
                        *y++ = dl * static_cast<float>(q);
                    }
                }
            }
        }
    }
}

void deq_f16(const uint8_t* src, float* y, int64_t k) {
    const auto* h = reinterpret_cast<const uint16_t*>(src);
    const float* table = fp16_table();
    for (int64_t i = 0; i < k; ++i) y[i] = table[h[i]];
}

void deq_bf16(const uint8_t* src, float* y, int64_t k) {
    const auto* h = reinterpret_cast<const uint16_t*>(src);
    for (int64_t i = 0; i < k; ++i) y[i] = bf16_to_f32(h[i]);
}

float dot_f32(const float* a, const float* b, int64_t k) {
    float s[8] = {};
    int64_t i = 0;
    for (; i + 8 <= k; i += 8)
        for (int j = 0; j < 8; ++j) s[j] += a[i + j] * b[i + j];
    for (; i < k; ++i) s[i & 7] += a[i] * b[i];
    return ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
}

using DeqFn = void (*)(const uint8_t*, float*, int64_t);

template <DeqFn kDeq>
void tile_deq(const TileArgs& a) {
    // One dequantized weight row, reused for every token of the tile.
    thread_local std::vector<float> row;
    if (static_cast<int64_t>(row.size()) < a.k) row.resize(a.k);
    for (int64_t r = 0; r < a.n_rows; ++r) {
        kDeq(a.w + r * a.w_stride, row.data(), a.k);
        for (int64_t t = 0; t < a.n_tok; ++t) {
            const auto* x = reinterpret_cast<const float*>(a.act + t * a.act_stride);
            a.y[t * a.y_stride + r] = dot_f32(row.data(), x, a.k);
        }
    }
}

void tile_f32(const TileArgs& a) {
    for (int64_t r = 0; r < a.n_rows; ++r) {
        const auto* w = reinterpret_cast<const float*>(a.w + r * a.w_stride);
        for (int64_t t = 0; t < a.n_tok; ++t) {
            const auto* x = reinterpret_cast<const float*>(a.act + t * a.act_stride);
            a.y[t * a.y_stride + r] = dot_f32(w, x, a.k);
        }
    }
}

}  // namespace

Kernel scalar_kernel(DType w) {
    Kernel k;
    switch (w) {
        case DType::kF32:
            k.tile = tile_f32;
            break;
        case DType::kF16:
            k.tile = tile_deq<deq_f16>;
            break;
        case DType::kBF16:
            k.tile = tile_deq<deq_bf16>;
            break;
        case DType::kQ4_0:
            k.tile = tile_deq<deq_q4_0>;
            break;
        case DType::kQ4_1:
            k.tile = tile_deq<deq_q4_1>;
            break;
        case DType::kQ5_0:
            k.tile = tile_deq<deq_q5_0>;
            break;
        case DType::kQ5_1:
            k.tile = tile_deq<deq_q5_1>;
            break;
        case DType::kQ8_0:
            k.tile = tile_deq<deq_q8_0>;
            break;
        case DType::kQ2_K:
            k.tile = tile_deq<deq_q2_k>;
            break;
        case DType::kQ3_K:
            k.tile = tile_deq<deq_q3_k>;
            break;
        case DType::kQ4_K:
            k.tile = tile_deq<deq_q4_k>;
            break;
        case DType::kQ5_K:
            k.tile = tile_deq<deq_q5_k>;
            break;
        case DType::kQ6_K:
            k.tile = tile_deq<deq_q6_k>;
            break;
        default:
            break;
    }
    return k;
}

}  // namespace unicorn::cpu::qdot
