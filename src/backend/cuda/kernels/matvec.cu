// Matrix × few vectors for every weight type (decode). Two kernels, both one warp per one or two
// output rows with a warp reduction at the end, x read from global memory (served by L1):
//
// F32 / F16 / BF16 (matvec_kernel, Quad<T>): in each 128-element step lane l takes elements
// 4l … 4l+3 of each row and the tokens' x (one coalesced 512-byte load per token). These run
// near the copy ceiling (~3.4 TB/s on the H200) and are left as they were.
//
// Quantized types (matvec_q_kernel, Oct<T>): the Quad path spent ~12 instructions per weight
// element (block index arithmetic, a byte load per element, per-element scale decoding, I2F
// conversions at 16/clk/SM, a dequantizing multiply) and reached only 0.5-1.1 TB/s, i.e. it
// was bound by instruction issue and load count, not bandwidth (Q4_K 8192×2048: 19 µs against
// a ~2.2 µs floor). Per 256-element step lane l now takes eight elements, two runs of four,
// laid out so that
//   - one 32-bit load of packed quants serves all eight (ggml packs element j in the low nibble
//     and j + 16 / j + 32 in the high nibble of the same byte: the two runs are those halves);
//   - nibbles are unpacked four at a time with 32-bit masks (w & 0x0F0F0F0F, w >> 4 & …, the
//     Q5/Q6 high bits merged in with one shift+mask per four elements);
//   - a quant becomes an exact float with one PRMT (the byte under the exponent of 2^23) and one
//     FADD (removing 2^23 and the format's offset), instead of I2F;
//   - block scales/mins are decoded once per lane per step (K-quants: the 16-byte header as one
//     broadcast 128-bit load; the 6-bit scales of four sub-blocks per 32-bit word);
//   - for formats without a min the scale multiplies the 4-element partial dot product, not
//     each element; with a min (Q4_1, Q4_K, Q5_K) the value d·q + m is one fma per element;
//   - x loads stay coalesced: for the K-quants eight neighbouring lanes read one whole 128-byte
//     line per run (a warp's float4 load is four full lines, the minimum); for the 32-element
//     nibble formats the four lanes of a block read a half line per run (eight half lines per
//     load; Q8_0, whose runs need not share a word, reads four full lines);
//   - all rows' dequantized values are formed before the token loop, so each x float4 is
//     loaded once per step and reused for both rows, and x registers do not grow with T.
// That is ~4 instructions per element plus ~3-4 per element of per-step overhead (T = 1),
// about a third of before (estimated from the PTX, not yet measured), and far fewer L1
// requests (one weight word per lane per step instead of a byte load per element); x stays
// fp32 (the test compares against the exact dequantized-weight product). The fast path
// needs the row base and stride aligned to Oct<T>::kAlign (2, 4 or 16 bytes); otherwise the
// Quad kernel runs as before.
//
// History (tools/gpu/check.sh, H200, E2B FFN shape 8192×2048): a first version gave each lane
// whole 32-element chunks, so a warp's x loads were 32 separate 128-byte lines; it ran in
// ~26 µs per call whatever the weight type (344 GB/s on Q4_K), bound by those loads. Oct<T>
// keeps x loads on whole (K-quants) or half (32-element blocks) lines for that reason, rather
// than giving a lane 16-byte weight loads, which would spread its x over 64-byte strides.
//
// Dequantization (Quad<T>, Oct<T>, ggml's block layouts) lives in dequant.cuh; Quad<T> is
// shared with embedding.cu.
//
// K-quant weights (Q4_K, Q5_K, Q6_K) go by default to the integer path of matvec_q8.cu (x
// quantized to int8 inside the kernel, dp4a against the packed quants); these kernels remain
// their fallback (shapes or alignments it does not take) and the exact reference path
// (matvec_rows).
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <string>
#include <tuple>

#include "backend/cuda/cuda_status.h"
#include "backend/cuda/kernels/dequant.cuh"
#include "backend/cuda/kernels/kernels.h"
#include "backend/cuda/kernels/launch.cuh"

namespace unicorn::cuda {
namespace {

using dequant::Oct;
using dequant::OctScales;
using dequant::Quad;

constexpr int kMaxTokens = 8;  // tokens per pass; more are handled in further passes

// Sums each lane's partial dot products across the warp and writes y[t][row0 + r].
template <int kRows, int kTokens>
__device__ inline void store_rows(const float (&acc)[kRows][kTokens], int t_count, int lane,
                                  int64_t row0, int64_t n, float* __restrict__ y, size_t y_stride) {
#pragma unroll
    for (int r = 0; r < kRows; ++r) {
#pragma unroll
        for (int i = 0; i < kTokens; ++i) {
            if (i >= t_count) break;
            float s = acc[r][i];
#pragma unroll
            for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
            if (lane == 0 && row0 + r < n) y[i * y_stride + row0 + r] = s;
        }
    }
}

// kTokens (1, 2, 4 or 8) is a compile-time bound so the accumulators and x registers are only
// as many as the call needs: with a fixed 8 the decode (T = 1) kernel used 94 registers, which
// capped occupancy at 31 % and left the loads latency-bound (ncu on the H200).
template <DType T, int kRows, int kTokens>
__global__ void matvec_kernel(const uint8_t* __restrict__ w, int64_t n, int64_t k, size_t w_stride,
                              const float* __restrict__ x, int t_count, size_t x_stride,
                              float* __restrict__ y, size_t y_stride) {
    wait_for_inputs();
    const int lane = threadIdx.x & 31;
    const int64_t row0 = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / 32 * kRows;
    if (row0 >= n) return;
    float acc[kRows][kTokens];
#pragma unroll
    for (int r = 0; r < kRows; ++r)
#pragma unroll
        for (int i = 0; i < kTokens; ++i) acc[r][i] = 0.0f;
#pragma unroll 4
    for (int64_t e = 4 * lane; e < k; e += 128) {
        float4 xv[kTokens];
#pragma unroll
        for (int i = 0; i < kTokens; ++i)
            xv[i] = i < t_count ? __ldg(reinterpret_cast<const float4*>(x + i * x_stride + e))
                                : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
#pragma unroll
        for (int r = 0; r < kRows; ++r) {
            if (row0 + r >= n) break;
            float v[4];
            Quad<T>::get(w + (row0 + r) * w_stride, e, v);
#pragma unroll
            for (int i = 0; i < kTokens; ++i)
                acc[r][i] += v[0] * xv[i].x + v[1] * xv[i].y + v[2] * xv[i].z + v[3] * xv[i].w;
        }
    }
    store_rows<kRows, kTokens>(acc, t_count, lane, row0, n, y, y_stride);
}

// Quantized weights: each lane takes eight elements of each 256-element step (Oct<T> in
// dequant.cuh), formed from one 32-bit word of packed quants; a run's scale is applied once to
// its dot product (formats without a min) or fused into one fma per element (with a min: the
// d·Σq·x − m·Σx form would need an extra Σx per token, which costs more than it saves for T > 1).
// All rows of the warp are dequantized first, then each token's x (two float4 per lane) is read
// once and used for every row, so x registers do not grow with kTokens.
template <DType T, int kRows, int kTokens>
__global__ void matvec_q_kernel(const uint8_t* __restrict__ w, int64_t n, int64_t k,
                                size_t w_stride, const float* __restrict__ x, int t_count,
                                size_t x_stride, float* __restrict__ y, size_t y_stride) {
    wait_for_inputs();
    using O = Oct<T>;
    const int lane = threadIdx.x & 31;
    const int64_t row0 = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / 32 * kRows;
    if (row0 >= n) return;
    const int off0 = O::off0(lane), off1 = O::off1(lane);
    float acc[kRows][kTokens];
#pragma unroll
    for (int r = 0; r < kRows; ++r)
#pragma unroll
        for (int i = 0; i < kTokens; ++i) acc[r][i] = 0.0f;
    const int64_t steps = (k + 255) / 256;
#pragma unroll 2
    for (int64_t st = 0; st < steps; ++st) {
        const int64_t e = st * 256;
        // 32-element formats: the last step may cover blocks past K (K a multiple of 32 only).
        if constexpr (O::kBlock < 256)
            if (e + off0 >= k) continue;
        bool ok1 = true;  // second run inside K (only Q8_0 can have it past K with the first in)
        if constexpr (O::kSplitRuns) ok1 = e + off1 < k;
        float q[kRows][8];
        OctScales sc[kRows];
#pragma unroll
        for (int r = 0; r < kRows; ++r) {
            if (r > 0 && row0 + r >= n) {
#pragma unroll
                for (int j = 0; j < 8; ++j) q[r][j] = 0.0f;
                sc[r] = OctScales{0.0f, 0.0f, 0.0f, 0.0f};
                continue;
            }
            if constexpr (O::kSplitRuns)
                O::get(w + (row0 + r) * w_stride, st, lane, q[r], sc[r], ok1);
            else
                O::get(w + (row0 + r) * w_stride, st, lane, q[r], sc[r]);
            if constexpr (O::kMin) {
#pragma unroll
                for (int j = 0; j < 4; ++j) {
                    q[r][j] = fmaf(sc[r].d0, q[r][j], sc[r].m0);
                    q[r][j + 4] = fmaf(sc[r].d1, q[r][j + 4], sc[r].m1);
                }
            }
        }
#pragma unroll
        for (int i = 0; i < kTokens; ++i) {
            if (i > 0 && i >= t_count) break;
            const float4 a = __ldg(reinterpret_cast<const float4*>(x + i * x_stride + e + off0));
            float4 b = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
            if (!O::kSplitRuns || ok1)
                b = __ldg(reinterpret_cast<const float4*>(x + i * x_stride + e + off1));
#pragma unroll
            for (int r = 0; r < kRows; ++r) {
                const float* v = q[r];
                float s0 = v[0] * a.x;
                s0 = fmaf(v[1], a.y, s0);
                s0 = fmaf(v[2], a.z, s0);
                s0 = fmaf(v[3], a.w, s0);
                float s1 = v[4] * b.x;
                s1 = fmaf(v[5], b.y, s1);
                s1 = fmaf(v[6], b.z, s1);
                s1 = fmaf(v[7], b.w, s1);
                if constexpr (O::kMin)
                    acc[r][i] += s0 + s1;
                else
                    acc[r][i] = fmaf(sc[r].d1, s1, fmaf(sc[r].d0, s0, acc[r][i]));
            }
        }
    }
    store_rows<kRows, kTokens>(acc, t_count, lane, row0, n, y, y_stride);
}

template <DType T>
constexpr bool kHasOct =
    T == DType::kQ4_0 || T == DType::kQ4_1 || T == DType::kQ5_0 || T == DType::kQ8_0 ||
    T == DType::kQ4_K || T == DType::kQ5_K || T == DType::kQ6_K;

template <DType T, int kRows>
Status launch_rows(const void* w, int64_t n, int64_t k, size_t w_stride, const float* x, int64_t t,
                   size_t x_stride, float* y, size_t y_stride, cudaStream_t s) {
    constexpr int kThreads = 128;  // 4 warps
    const int64_t warps = (n + kRows - 1) / kRows;
    const int64_t blocks = (warps * 32 + kThreads - 1) / kThreads;
    for (int64_t t0 = 0; t0 < t; t0 += kMaxTokens) {
        const int tc = static_cast<int>(std::min<int64_t>(kMaxTokens, t - t0));
        const auto args =
            std::make_tuple(static_cast<const uint8_t*>(w), n, k, w_stride, x + t0 * x_stride, tc,
                            x_stride, y + t0 * y_stride, y_stride);
        const auto go = [&](auto kernel) {
            std::apply(
                [&](auto... a) {
                    launch_kernel(kernel, static_cast<unsigned>(blocks), kThreads, 0, s, a...);
                },
                args);
        };
        bool fast = false;
        if constexpr (kHasOct<T>) {
            constexpr size_t a = static_cast<size_t>(Oct<T>::kAlign);
            fast = reinterpret_cast<uintptr_t>(w) % a == 0 && w_stride % a == 0;
        }
        if (fast) {
            if constexpr (kHasOct<T>) {
                if (tc == 1)
                    go(matvec_q_kernel<T, kRows, 1>);
                else if (tc == 2)
                    go(matvec_q_kernel<T, kRows, 2>);
                else if (tc <= 4)
                    go(matvec_q_kernel<T, kRows, 4>);
                else
                    go(matvec_q_kernel<T, kRows, 8>);
            }
        } else if (tc == 1)
            go(matvec_kernel<T, kRows, 1>);
        else if (tc == 2)
            go(matvec_kernel<T, kRows, 2>);
        else if (tc <= 4)
            go(matvec_kernel<T, kRows, 4>);
        else
            go(matvec_kernel<T, kRows, 8>);
        UNI_RETURN_IF_ERROR(last_launch("matvec"));
    }
    return ok_status();
}

// Output rows per warp: more rows reuse each x load, fewer rows put more warps in flight.
template <DType T>
Status launch(const void* w, int64_t n, int64_t k, size_t w_stride, const float* x, int64_t t,
              size_t x_stride, float* y, size_t y_stride, cudaStream_t s, int rows) {
    switch (rows) {
        case 1:
            return launch_rows<T, 1>(w, n, k, w_stride, x, t, x_stride, y, y_stride, s);
        default:
            return launch_rows<T, 2>(w, n, k, w_stride, x, t, x_stride, y, y_stride, s);
    }
}

// F32 weights whose rows are not whole 32-element chunks (Gemma 3n's AltUp coefficient
// matrices: K = number of streams): one thread per output, a plain fp32 dot product.
__global__ void small_k_kernel(const float* __restrict__ w, int64_t n, int64_t k, int64_t w_stride,
                               const float* __restrict__ x, int64_t t, int64_t x_stride,
                               float* __restrict__ y, int64_t y_stride) {
    wait_for_inputs();
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= t * n) return;
    const int64_t r = i / n, c = i % n;
    float s = 0.0f;
    for (int64_t j = 0; j < k; ++j) s += x[r * x_stride + j] * w[c * w_stride + j];
    y[r * y_stride + c] = s;
}

}  // namespace

bool matvec_supports(DType type) {
    switch (type) {
        case DType::kF32:
        case DType::kF16:
        case DType::kBF16:
        case DType::kQ4_0:
        case DType::kQ4_1:
        case DType::kQ5_0:
        case DType::kQ8_0:
        case DType::kQ4_K:
        case DType::kQ5_K:
        case DType::kQ6_K:
            return true;
        default:
            return false;
    }
}

Status matvec(DType type, const void* w, int64_t n, int64_t k, size_t w_stride, const float* x,
              int64_t t, size_t x_stride, float* y, size_t y_stride, void* stream) {
    // K-quants: the int8 (dp4a) path of matvec_q8.cu where it applies; the rest, and K-quant
    // shapes it cannot take, on the fp32-activation kernels below.
    if (matvec_int8_supports(type, k, w, w_stride))
        return matvec_int8(type, w, n, k, w_stride, x, t, x_stride, y, y_stride, {}, stream);
    return matvec_rows(type, w, n, k, w_stride, x, t, x_stride, y, y_stride, 1, stream);
}

Status matvec_rows(DType type, const void* w, int64_t n, int64_t k, size_t w_stride, const float* x,
                   int64_t t, size_t x_stride, float* y, size_t y_stride, int rows_per_warp,
                   void* stream) {
    if (k % 32 != 0 && type == DType::kF32) {
        if (n == 0 || t == 0) return ok_status();
        const int64_t total = t * n;
        launch_kernel(small_k_kernel, static_cast<unsigned>((total + 255) / 256), 256, 0,
                      static_cast<cudaStream_t>(stream), static_cast<const float*>(w), n, k,
                      static_cast<int64_t>(w_stride / sizeof(float)), x, t,
                      static_cast<int64_t>(x_stride), y, static_cast<int64_t>(y_stride));
        return last_launch("matvec (small K)");
    }
    if (k % 32 != 0 ||
        (k % 256 != 0 && (type == DType::kQ4_K || type == DType::kQ5_K || type == DType::kQ6_K)))
        return invalid_argument("CUDA matvec: K = " + std::to_string(k) + " is not whole " +
                                dtype_name(type) + " blocks");
    if (n == 0 || t == 0) return ok_status();
    auto s = static_cast<cudaStream_t>(stream);
    switch (type) {
#define UNICORN_MATVEC_CASE(T) \
    case T:                    \
        return launch<T>(w, n, k, w_stride, x, t, x_stride, y, y_stride, s, rows_per_warp);
        UNICORN_MATVEC_CASE(DType::kF32)
        UNICORN_MATVEC_CASE(DType::kF16)
        UNICORN_MATVEC_CASE(DType::kBF16)
        UNICORN_MATVEC_CASE(DType::kQ4_0)
        UNICORN_MATVEC_CASE(DType::kQ4_1)
        UNICORN_MATVEC_CASE(DType::kQ5_0)
        UNICORN_MATVEC_CASE(DType::kQ8_0)
        UNICORN_MATVEC_CASE(DType::kQ4_K)
        UNICORN_MATVEC_CASE(DType::kQ5_K)
        UNICORN_MATVEC_CASE(DType::kQ6_K)
#undef UNICORN_MATVEC_CASE
        default:
            return unsupported(std::string("CUDA matvec: weight type ") + dtype_name(type) +
                               " is not supported");
    }
}

}  // namespace unicorn::cuda
