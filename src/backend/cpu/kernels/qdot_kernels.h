// Internal interface between matmul.cc (validation, dispatch, blocking, threading) and the
// per-ISA, per-type-family kernels (qdot_*_{avx2,avx512}.cc, qdot_scalar.cc,
// matmul_float_*.cc). Not for use outside src/backend/cpu/kernels/.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/dtype.h"

// Fully unrolls a loop over a register block's rows/tokens/chunks. Needed, not cosmetic:
// GCC's scalar replacement runs before it would unroll these loops itself, so without it the
// accumulator arrays stay in memory and every step stores them back (measured: 16 zmm
// stores per step of the 4×4 float kernel).
#define QDOT_UNROLL _Pragma("GCC unroll 16")

namespace unicorn::cpu::qdot {

// One tile: y[t * y_stride + r] = dot(W row r, x row t) for r < n_rows, t < n_tok.
// `act` is what Kernel::quantize produced (one row per token, act_stride bytes apart), or the
// F32 x rows themselves when the kernel has no quantize step. Kernels register-block the tile
// internally (a few weight rows × a few tokens per inner loop), so callers should hand over
// tiles whose weight rows fit in L1/L2 and whose activation rows fit in L2.
struct TileArgs {
    const uint8_t* w;  // first weight row
    size_t w_stride;   // bytes between weight rows
    int64_t n_rows;
    const uint8_t* act;  // first activation row
    size_t act_stride;   // bytes between activation rows
    int64_t n_tok;
    float* y;         // output for (row 0, token 0)
    size_t y_stride;  // floats between tokens' outputs
    int64_t k;        // reduction length (elements)
};

struct Kernel {
    void (*tile)(const TileArgs&) = nullptr;
    // Converts one F32 row of k elements into the kernel's activation layout (act_row_bytes(k)
    // bytes, 64-byte aligned destination). nullptr: the kernel reads F32 x directly.
    void (*quantize)(const float* x, uint8_t* dst, int64_t k) = nullptr;
    size_t (*act_row_bytes)(int64_t k) = nullptr;
    explicit operator bool() const { return tile != nullptr; }
};

// Each returns an empty Kernel for types the family does not handle.
Kernel scalar_kernel(DType w);         // qdot_scalar.cc: every supported type
Kernel avx2_float_kernel(DType w);     // matmul_float_avx2.cc: F32 F16 BF16
Kernel avx2_legacy_kernel(DType w);    // qdot_legacy_avx2.cc: Q4_0 Q4_1 Q5_0 Q5_1 Q8_0
Kernel avx2_kquant_kernel(DType w);    // qdot_kquants_avx2.cc: Q2_K..Q6_K
Kernel avx512_float_kernel(DType w);   // matmul_float_avx512.cc
Kernel avx512_legacy_kernel(DType w);  // qdot_legacy_avx512.cc (needs AVX512-VNNI)
Kernel avx512_kquant_kernel(DType w);  // qdot_kquants_avx512.cc (needs AVX512-VNNI)

inline size_t align64(size_t n) { return (n + 63) & ~size_t{63}; }

// Decode (one weight row × one token at a time) streams each weight byte once, so its speed
// is how many cache misses are in flight. The hardware prefetchers alone left single-core
// matvec well under the machine's read bandwidth whenever the kernel does real work per
// byte (the loads then issue too late), so the 1×1 kernels also prefetch this far ahead of
// their weight pointer; rows are contiguous, so it runs on into the next rows. Measured on a
// 16-core Xeon (DRAM read floor 12.7 GB/s per core): Q4_0 matvec 6.1 -> 11.2 GB/s on one
// thread, Q8_0 7.9 -> 12.7, F16 9.4 -> 12.7; 512/1024/2048 bytes gained less.
#ifndef QDOT_PREFETCH_BYTES
#define QDOT_PREFETCH_BYTES 4096
#endif
template <int R, int Tt>
inline void prefetch_weights(const uint8_t* p) {
    if constexpr (R * Tt == 1 && QDOT_PREFETCH_BYTES > 0)
        __builtin_prefetch(p + QDOT_PREFETCH_BYTES, 0, 3);
}

// Walks a tile in register blocks of R weight rows × Tt tokens, with 1-row / 1-token
// remainders: f.template operator()<r, t>(row0, tok0) for r ∈ {R, 1}, t ∈ {Tt, 1}. Each
// group of R weight rows is swept over all tokens while it sits in L1.
template <int R, int Tt, class F>
inline void for_each_block(int64_t n_rows, int64_t n_tok, F&& f) {
    if (n_tok == 1) {
        // Decode: one weight row at a time keeps the weight read a single sequential stream;
        // interleaving R rows (R streams 1 row apart) cut DRAM throughput to a third on the
        // development machine's prefetchers, and a lone token has no reuse to gain from it.
        for (int64_t r = 0; r < n_rows; ++r) f.template operator()<1, 1>(r, 0);
        return;
    }
    int64_t r = 0;
    for (; r + R <= n_rows; r += R) {
        int64_t t = 0;
        for (; t + Tt <= n_tok; t += Tt) f.template operator()<R, Tt>(r, t);
        for (; t < n_tok; ++t) f.template operator()<R, 1>(r, t);
    }
    for (; r < n_rows; ++r) {
        int64_t t = 0;
        for (; t + Tt <= n_tok; t += Tt) f.template operator()<1, Tt>(r, t);
        for (; t < n_tok; ++t) f.template operator()<1, 1>(r, t);
    }
}

}  // namespace unicorn::cpu::qdot
