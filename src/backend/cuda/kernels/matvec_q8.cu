// Integer matvec for K-quant weights (Q4_K, Q5_K, Q6_K): x is quantized to int8 and each weight
// word meets its activations in a dp4a, as llama.cpp's mmvq does, instead of every weight being
// turned into a float (matvec.cu's fp32 path, instruction-bound at 0.85-1.2 TB/s on the H200).
//
// One kernel launch does it all (decode runs ~1000 launches per token, so no separate
// quantization kernel):
//  1. The block's first weight loads are issued, then its threads quantize x [tc, K] into shared
//     memory: per 32-element block d8 = amax/127, q8 = round(x/d8), plus Σq8 per 16-element
//     chunk (for the mins of Q4_K/Q5_K and Q6_K's +32 offset), in the lane-permuted layout of
//     matvec_q8.cuh. This is done once per block, and the grid is persistent: at most one
//     16-warp block per SM (N ≥ 2048) or as many 8-warp blocks as fit, each looping over
//     groups of rows (warps × R rows), so the quantization is amortized over ~N/SMs rows.
//  2. Each warp walks its rows four super-blocks (one step) at a time, eight lanes per
//     super-block; a lane reads 16 bytes of quants (one 128-bit load; Q6_K: five aligned words,
//     its blocks being 2-byte aligned) and its scales, unpacks 32 quants into eight words, and
//     per token does two 128-bit shared loads of x, one of meta and eight dp4a: ~3.3
//     instructions per weight element at T = 1 (SASS: ~105 per lane and step of 32 elements)
//     against ~7 on the fp32 path. The next one or two steps' weights are loaded before the
//     current one is computed (a ring of registers), across row boundaries.
//  3. A warp reduction per row and token writes y.
//
// Measured on the H200 (bench/cuda_matvec_bench, copy ceiling 4.28 TB/s), T = 1 / T = 4, µs:
// Q4_K 8192×2048 5.8 / 9.5 (fp32 path 11.2 / 21.7), 2048×8192 7.9 / 14.6 (17.2 / 34.3); Q6_K
// 2048×8192 9.4 / 16.4 (24.8 / 33.2), output head 262144×2048 136.8 / 190.3 (258 / 467, 3.2
// TB/s at T = 1). Small matrices stay latency-bound (~3.5 µs of fixed cost per call against
// ~1.2 µs for the F16 kernel: launch, the x quantization before the first dot product, and
// only two rounds of loads in flight per warp); T > 1 is bound by shared-memory loads of x
// and the per-token dot-product instructions.
//
// Accuracy: x is rounded to 8 bits per 32-element block (step d8 = amax/127), the same trade the
// CPU backend makes with its Q8_K activations (one scale per 256 there). Each x then carries an
// error of ~d8/sqrt(12), so for normal x (amax ≈ 2.4σ over 32) an output's error is ~0.55 % of a
// typical |y| and the worst over a few hundred outputs ~0.5 % of max|y|; blocks holding an
// outlier (8σ) have a coarser step, ~1.5 % of max|y| on such data (host emulation of this
// kernel's arithmetic). tests/backend/cuda/cuda_matvec_q8_test.cc bounds both, and checks the
// kernel exact (to fp32 rounding) on integer x that int8 represents without error.
//
// Shared memory is 1.5 bytes per token and element (T·K int8 + 128 bytes of meta per 256
// elements), at most kMaxSmem (96 KiB: two blocks still fit on an SM): tokens run in passes of
// as many as fit (8 for K ≤ 8192), and a K where one token does not fit (> 65536) stays on the
// fp32 path (matvec() asks matvec_int8_supports()).
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <string>
#include <type_traits>

#include "backend/cuda/cuda_status.h"
#include "backend/cuda/kernels/kernels.h"
#include "backend/cuda/kernels/launch.cuh"
#include "backend/cuda/kernels/matvec_q8.cuh"

namespace unicorn::cuda {
namespace {

using q8::Dec;
using q8::F4;
using q8::kSbPerStep;
using q8::kSuper;
using q8::U4;

constexpr int kMaxTokens = 8;
constexpr size_t kMaxSmem = 96 * 1024;

size_t smem_bytes(int64_t tokens, int64_t k) {
    return static_cast<size_t>(tokens * k) * q8::kSmemNum / q8::kSmemDen;
}

// Quantizes x [tc, k] into xq / meta (layout: matvec_q8.cuh) with the block's kT threads.
// Thread i takes four consecutive elements per pass; the eight threads of a 32-element block
// (aligned lanes of one warp) find its amax with three shuffles, the four of a 16-element chunk
// its Σq8 with two. K/4 is a multiple of 64, so a warp's 32 items are all in one token's row.
template <typename F, int kT>
__device__ void quantize_x(const float* __restrict__ x, int tc, size_t x_stride, bool x_vec, int k,
                           int nsb, uint8_t* xq, F4* meta) {
    const int per_tok = k / 4;
    for (int t = 0; t < tc; ++t) {
        const float* xt = x + t * x_stride;
        uint8_t* qt = xq + t * k;
        F4* mt = meta + t * nsb * 8;
        for (int it = threadIdx.x; it < per_tok; it += kT) {  // warp-uniform bound
            const int e = 4 * it;
            float v0, v1, v2, v3;
            if (x_vec) {
                const float4 f = __ldg(reinterpret_cast<const float4*>(xt + e));
                v0 = f.x, v1 = f.y, v2 = f.z, v3 = f.w;
            } else {
                v0 = __ldg(xt + e), v1 = __ldg(xt + e + 1), v2 = __ldg(xt + e + 2),
                v3 = __ldg(xt + e + 3);
            }
            float amax = fmaxf(fmaxf(fabsf(v0), fabsf(v1)), fmaxf(fabsf(v2), fabsf(v3)));
            amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, 1));
            amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, 2));
            amax = fmaxf(amax, __shfl_xor_sync(0xffffffffu, amax, 4));
            // d8 within an ulp of amax/127 (exactly 1 for amax = 127); inv to ~2 ulp, which
            // moves x·inv (|·| ≤ 127) by < 1e-4: integers stay integers. NaN amax: q = 0, d8 NaN.
            const float d8 = amax * (1.0f / 127.0f);
            const float inv = amax > 0.0f ? __fdividef(127.0f, amax) : 0.0f;
            const uint32_t q = q8::quant4(v0, v1, v2, v3, inv);
            int s = q8::dp4a(q, 0x01010101u, 0);
            s += __shfl_xor_sync(0xffffffffu, s, 1);
            s += __shfl_xor_sync(0xffffffffu, s, 2);
            const int sb = e / kSuper, slot = F::slot((e % kSuper) / 16);
            *reinterpret_cast<uint32_t*>(qt + sb * kSuper + slot * 16 + e % 16) = q;
            if (e % 16 == 0) {
                float* m = reinterpret_cast<float*>(mt + sb * 8 + slot % 8);
                m[slot / 8] = d8;
                m[2 + slot / 8] = static_cast<float>(s);
            }
        }
    }
}

// F: q8::Q4K / Q5K / Q6K. kW warps per block, R rows per warp, NT ≥ tc tokens (registers sized
// for NT), kAhead (1, 2, 4 or 8) steps of weights loaded ahead of the one being computed. At most
// 128 registers per thread (two 8-warp blocks, or one 16-warp block, per SM at least).
template <typename F, int kW, int R, int NT, int kAhead>
__global__ void __launch_bounds__(32 * kW, 16 / kW)
    matvec_q8_kernel(const uint8_t* __restrict__ w, int n, int nsb, size_t w_stride,
                     const float* __restrict__ x, int tc, size_t x_stride, bool x_vec,
                     float* __restrict__ y, size_t y_stride, int groups) {
    static_assert(kAhead >= 1 && kAhead <= 8);
    extern __shared__ __align__(16) uint8_t smem[];
    const int k = nsb * kSuper;
    uint8_t* xq = smem;
    F4* meta = reinterpret_cast<F4*>(smem + static_cast<size_t>(tc) * k);
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int g = lane / q8::kLanesPerSb, l8 = lane % q8::kLanesPerSb;
    const int steps = (nsb + kSbPerStep - 1) / kSbPerStep;
    const int mine = static_cast<int>(blockIdx.x) < groups
                         ? (groups - 1 - static_cast<int>(blockIdx.x)) / gridDim.x + 1
                         : 0;        // groups of rows this block takes
    const int total = mine * steps;  // (group, step) items, the same for every warp

    // Load cursor: the item whose weights are loaded next, with its rows' base pointers (rows
    // past n are clamped to the last row: loaded, never stored). Lanes past the last
    // super-block load the last one again and get zero factors in compute.
    using Raw = typename F::Raw;
    int ld_grp = blockIdx.x, ld_step = 0;
    const uint8_t* rows[R];
    const auto set_rows = [&](int grp) {
#pragma unroll
        for (int r = 0; r < R; ++r)
            rows[r] = w + static_cast<size_t>(min(grp * (kW * R) + warp * R + r, n - 1)) * w_stride;
    };
    const auto load_next = [&](Raw(&raw)[R]) {
        const int sb = min(ld_step * kSbPerStep + g, nsb - 1);
#pragma unroll
        for (int r = 0; r < R; ++r) F::load(rows[r] + sb * F::kBytes, l8, raw[r]);
        if (++ld_step == steps) {
            ld_step = 0;
            ld_grp += gridDim.x;
            set_rows(ld_grp);
        }
    };

    // Weights of kAhead + 1 steps in registers, a ring: the step computed and kAhead loaded
    // ahead. The ring turns by unrolling, so every index is a compile-time one (no copies).
    Raw buf[kAhead + 1][R];
    if (total > 0) {  // in flight while x is quantized
        set_rows(ld_grp);
#pragma unroll
        for (int j = 0; j < kAhead; ++j)
            if (j < total) load_next(buf[j]);
    }
    // x is the previous kernel's output: under programmatic dependent launch (launch.cuh), wait
    // for it here, after the weight loads are on their way — weights are never written.
    wait_for_inputs();
    quantize_x<F, 32 * kW>(x, tc, x_stride, x_vec, k, nsb, xq, meta);
    __syncthreads();

    float acc[R][NT];
#pragma unroll
    for (int r = 0; r < R; ++r)
#pragma unroll
        for (int i = 0; i < NT; ++i) acc[r][i] = 0.0f;

    int it = 0, grp = blockIdx.x, step = 0;  // compute cursor
    // Loads item it + kAhead into `fill`, then computes item it from `cur`.
    const auto body = [&](Raw(&cur)[R], Raw(&fill)[R]) {
        if (it + kAhead < total) load_next(fill);
        Dec d[R];
        const bool valid = step * kSbPerStep + g < nsb;
        const int sb = min(step * kSbPerStep + g, nsb - 1);
#pragma unroll
        for (int r = 0; r < R; ++r) {
            F::decode(cur[r], l8, d[r]);
            if (!valid) d[r].af = d[r].as = d[r].bf = d[r].bs = 0.0f;
        }
#pragma unroll
        for (int i = 0; i < NT; ++i) {
            if (i > 0 && i >= tc) break;
            const uint8_t* xt = xq + i * k + sb * kSuper + 16 * l8;
            const U4 xf = *reinterpret_cast<const U4*>(xt);
            const U4 xs = *reinterpret_cast<const U4*>(xt + 128);
            const F4 m = meta[(i * nsb + sb) * 8 + l8];
#pragma unroll
            for (int r = 0; r < R; ++r) acc[r][i] += q8::contrib(d[r], xf, xs, m);
        }
        if (++step == steps) {  // the group's rows are done: reduce and store
            const int row0 = grp * (kW * R) + warp * R;
#pragma unroll
            for (int r = 0; r < R; ++r) {
#pragma unroll
                for (int i = 0; i < NT; ++i) {
                    if (i > 0 && i >= tc) break;
                    float v = acc[r][i];
#pragma unroll
                    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
                    if (lane == 0 && row0 + r < n) y[i * y_stride + row0 + r] = v;
                    acc[r][i] = 0.0f;
                }
            }
            step = 0;
            grp += gridDim.x;
        }
        ++it;
    };
    while (it < total) {
#pragma unroll
        for (int j = 0; j <= kAhead; ++j)
            if (it < total) body(buf[j], buf[(j + kAhead) % (kAhead + 1)]);
    }
}

int current_device() {
    int dev = 0;
    cudaGetDevice(&dev);
    return dev;
}

int sm_count(int dev) {
    static std::atomic<int> cache[64] = {};
    if (dev < 0 || dev >= 64) dev = 0;
    int v = cache[dev].load(std::memory_order_relaxed);
    if (v == 0) {
        if (cudaDeviceGetAttribute(&v, cudaDevAttrMultiProcessorCount, dev) != cudaSuccess ||
            v <= 0)
            v = 1;
        cache[dev].store(v, std::memory_order_relaxed);
    }
    return v;
}

// The launch knobs, resolved (MatvecInt8Config with its zeros replaced).
struct Knobs {
    int warps, rows, blocks_per_sm, ahead;
};

template <typename F, int kW, int R, int NT, int kAhead>
Status launch_pass(const void* w, int64_t n, int64_t k, size_t w_stride, const float* x, int tc,
                   size_t x_stride, float* y, size_t y_stride, int blocks_per_sm, cudaStream_t s) {
    const auto kernel = matvec_q8_kernel<F, kW, R, NT, kAhead>;
    constexpr int kThreads = 32 * kW;
    const int dev = current_device();
    {  // allow more than 48 KiB of dynamic shared memory, once per device
        static std::atomic<uint64_t> done{0};
        const uint64_t bit = uint64_t{1} << (dev & 63);
        if ((done.load(std::memory_order_relaxed) & bit) == 0) {
            UNI_RETURN_IF_ERROR(cuda_status(
                cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                     static_cast<int>(kMaxSmem)),
                "cudaFuncSetAttribute (matvec int8)"));
            done.fetch_or(bit, std::memory_order_relaxed);
        }
    }
    const size_t smem = smem_bytes(tc, k);
    const int64_t groups = (n + kW * R - 1) / (kW * R);
    int per_sm = blocks_per_sm;
    if (per_sm <= 0) {
        UNI_RETURN_IF_ERROR(cuda_status(
            cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel, kThreads, smem),
            "cudaOccupancyMaxActiveBlocksPerMultiprocessor"));
        per_sm = std::max(per_sm, 1);
    }
    const int64_t grid = std::min<int64_t>(
        groups, std::min<int64_t>(int64_t{sm_count(dev)} * per_sm, int64_t{1} << 30));
    const bool x_vec = reinterpret_cast<uintptr_t>(x) % 16 == 0 && x_stride % 4 == 0;
    launch_kernel(kernel, static_cast<unsigned>(grid), kThreads, smem, s,
                  static_cast<const uint8_t*>(w), static_cast<int>(n), static_cast<int>(k / kSuper),
                  w_stride, x, tc, x_stride, x_vec, y, y_stride, static_cast<int>(groups));
    return last_launch("matvec (int8)");
}

template <typename F, int kW, int R, int kAhead>
Status launch_tokens(const void* w, int64_t n, int64_t k, size_t w_stride, const float* x, int tc,
                     size_t x_stride, float* y, size_t y_stride, int bps, cudaStream_t s) {
    if (tc == 1)
        return launch_pass<F, kW, R, 1, kAhead>(w, n, k, w_stride, x, tc, x_stride, y, y_stride,
                                                bps, s);
    if (tc == 2)
        return launch_pass<F, kW, R, 2, kAhead>(w, n, k, w_stride, x, tc, x_stride, y, y_stride,
                                                bps, s);
    if (tc <= 4)
        return launch_pass<F, kW, R, 4, kAhead>(w, n, k, w_stride, x, tc, x_stride, y, y_stride,
                                                bps, s);
    return launch_pass<F, kW, R, 8, kAhead>(w, n, k, w_stride, x, tc, x_stride, y, y_stride, bps,
                                            s);
}

// Steps loaded ahead: 1 or 2 with two rows per warp, up to 8 (Q4_K) or 4 (Q5_K, Q6_K, whose
// steps take more registers) with one; deeper rings would spill under the 128-register cap.
template <typename F, int kW, int R>
Status launch_rows(const void* w, int64_t n, int64_t k, size_t w_stride, const float* x, int tc,
                   size_t x_stride, float* y, size_t y_stride, const Knobs& c, cudaStream_t s) {
    const int bps = c.blocks_per_sm;
    if (c.ahead == 1)
        return launch_tokens<F, kW, R, 1>(w, n, k, w_stride, x, tc, x_stride, y, y_stride, bps, s);
    if constexpr (R == 1) {
        if constexpr (std::is_same_v<F, q8::Q4K>)
            if (c.ahead >= 8)
                return launch_tokens<F, kW, R, 8>(w, n, k, w_stride, x, tc, x_stride, y, y_stride,
                                                  bps, s);
        if (c.ahead >= 4)
            return launch_tokens<F, kW, R, 4>(w, n, k, w_stride, x, tc, x_stride, y, y_stride, bps,
                                              s);
    }
    return launch_tokens<F, kW, R, 2>(w, n, k, w_stride, x, tc, x_stride, y, y_stride, bps, s);
}

template <typename F, int kW>
Status launch_warps(const void* w, int64_t n, int64_t k, size_t w_stride, const float* x, int tc,
                    size_t x_stride, float* y, size_t y_stride, const Knobs& c, cudaStream_t s) {
    if (c.rows == 1)
        return launch_rows<F, kW, 1>(w, n, k, w_stride, x, tc, x_stride, y, y_stride, c, s);
    return launch_rows<F, kW, 2>(w, n, k, w_stride, x, tc, x_stride, y, y_stride, c, s);
}

template <typename F>
Status launch_knobs(const void* w, int64_t n, int64_t k, size_t w_stride, const float* x, int tc,
                    size_t x_stride, float* y, size_t y_stride, const Knobs& c, cudaStream_t s) {
    if (c.warps == 16)
        return launch_warps<F, 16>(w, n, k, w_stride, x, tc, x_stride, y, y_stride, c, s);
    return launch_warps<F, 8>(w, n, k, w_stride, x, tc, x_stride, y, y_stride, c, s);
}

template <typename F>
Status launch(const void* w, int64_t n, int64_t k, size_t w_stride, const float* x, int64_t t,
              size_t x_stride, float* y, size_t y_stride, const MatvecInt8Config& cfg,
              cudaStream_t s) {
    // Automatic knobs, from the H200 knob tables of bench/cuda_matvec_bench --variants (µs at
    // T = 1 / T = 4):
    //  - 16-warp blocks, one per SM, for N ≥ 2048: x is quantized once per SM for the most rows
    //    (Q4_K 2048×8192 7.9 / 14.6 against 9.2 / 20.5 with 8-warp blocks; Q6_K 16384×2560
    //    16.6 / 23.5 against 16.8 / 26.1; the Q6_K head 262144×2048 136.8 / 190.3 against
    //    137.9 / 198.1); fewer rows (not measured) keep 8-warp blocks, to spread over more SMs;
    //  - two rows per warp above 4096 rows, sharing each shared-memory load of x between them
    //    (Q4_K 8192×2048 5.8 / 9.5 against 5.9 / 10.6 with one), one below (2048×8192: 7.9 /
    //    14.6 against 9.0 / 16.7 with two);
    //  - two steps of weights loaded ahead, one for Q6_K with two rows per warp, whose larger
    //    register footprint otherwise costs occupancy (head 137.9 against 145.2 with two; rings
    //    of 4 or 8 steps gained nothing measurable).
    // Q5_K (not in the knob table) follows Q4_K, whose code it shares.
    Knobs c{cfg.warps_per_block, cfg.rows_per_warp, cfg.blocks_per_sm, cfg.prefetch};
    if (c.warps <= 0) c.warps = n >= 2048 ? 16 : 8;
    c.warps = c.warps >= 16 ? 16 : 8;
    if (c.blocks_per_sm <= 0 && cfg.warps_per_block <= 0 && c.warps == 16) c.blocks_per_sm = 1;
    if (c.rows <= 0) c.rows = n > 4096 ? 2 : 1;
    c.rows = std::clamp(c.rows, 1, 2);
    if (c.ahead <= 0) c.ahead = std::is_same_v<F, q8::Q6K> && c.rows == 2 ? 1 : 2;
    c.ahead = c.ahead <= 1 ? 1 : c.ahead == 2 ? 2 : c.ahead <= 4 ? 4 : 8;
    const int64_t per_pass =
        std::min<int64_t>(kMaxTokens, static_cast<int64_t>(kMaxSmem / smem_bytes(1, k)));
    for (int64_t t0 = 0; t0 < t; t0 += per_pass) {
        const int tc = static_cast<int>(std::min(per_pass, t - t0));
        const Status st = launch_knobs<F>(w, n, k, w_stride, x + t0 * x_stride, tc, x_stride,
                                          y + t0 * y_stride, y_stride, c, s);
        UNI_RETURN_IF_ERROR(st);
    }
    return ok_status();
}

int align_of(DType type) {
    switch (type) {
        case DType::kQ4_K:
            return q8::Q4K::kAlign;
        case DType::kQ5_K:
            return q8::Q5K::kAlign;
        case DType::kQ6_K:
            return q8::Q6K::kAlign;
        default:
            return 0;
    }
}

}  // namespace

bool matvec_int8_supports(DType type, int64_t k, const void* w, size_t w_stride) {
    const int a = align_of(type);
    if (a == 0 || k <= 0 || k % kSuper != 0 || smem_bytes(1, k) > kMaxSmem) return false;
    return reinterpret_cast<uintptr_t>(w) % a == 0 && w_stride % a == 0;
}

Status matvec_int8(DType type, const void* w, int64_t n, int64_t k, size_t w_stride, const float* x,
                   int64_t t, size_t x_stride, float* y, size_t y_stride,
                   const MatvecInt8Config& config, void* stream) {
    if (!matvec_int8_supports(type, k, w, w_stride))
        return unsupported(std::string("CUDA int8 matvec: ") + dtype_name(type) + " with K = " +
                           std::to_string(k) + " (or this weight alignment) is not supported");
    if (n >= (int64_t{1} << 31) - 64)
        return invalid_argument("CUDA int8 matvec: N = " + std::to_string(n) + " is too large");
    if (n <= 0 || t <= 0) return ok_status();
    const auto s = static_cast<cudaStream_t>(stream);
    switch (type) {
        case DType::kQ4_K:
            return launch<q8::Q4K>(w, n, k, w_stride, x, t, x_stride, y, y_stride, config, s);
        case DType::kQ5_K:
            return launch<q8::Q5K>(w, n, k, w_stride, x, t, x_stride, y, y_stride, config, s);
        case DType::kQ6_K:
            return launch<q8::Q6K>(w, n, k, w_stride, x, t, x_stride, y, y_stride, config, s);
        default:
            return unsupported("CUDA int8 matvec: unreachable");
    }
}

}  // namespace unicorn::cuda
