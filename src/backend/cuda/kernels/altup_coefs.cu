// Gemma 3n's AltUp coefficients in one launch: out = tanh(RMSNorm(x)·Wᵀ)·Cᵀ per token, where
// the model otherwise runs rms_norm, a matvec with A = 4 rows, softcap(·, 1) and a matvec with
// A·A or A rows — four launches of ~2 µs each on a GPU for a few thousand multiply-adds, twice per
// layer (the predict and the correct coefficients): ~14 % of a Gemma 3n decode step's launches.
//
// One block per token: the row's sum of squares by a block reduction, the normed row kept in
// shared memory (rounded to F32 as rms_norm writes it: x·inv·w), one warp per router row for the
// dot products (fp32, as matvec's fp32 path), tanhf as the softcap kernel computes c·tanh(v/c)
// for c = 1, then one thread per output coefficient. Weights F32, F16 or BF16 (the types
// converters and llama-quantize leave these tensors in).
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "backend/cuda/cuda_status.h"
#include "backend/cuda/kernels/kernels.h"
#include "backend/cuda/kernels/launch.cuh"
#include "backend/cuda/kernels/reduce.cuh"

namespace unicorn::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kMaxRouter = 32;                   // router rows (AltUp streams) held per block
constexpr int64_t kMaxCols = 48 * 1024 / 4 - 8;  // the normed row in 48 KiB of shared memory

enum WeightCode : int { kF32 = 0, kF16 = 1, kBF16 = 2 };

int code_of(DType t) { return t == DType::kF16 ? kF16 : t == DType::kBF16 ? kBF16 : kF32; }

__device__ __forceinline__ float weight_at(int code, const char* row, int64_t i) {
    if (code == kF16) return __half2float(reinterpret_cast<const __half*>(row)[i]);
    if (code == kBF16) return __bfloat162float(reinterpret_cast<const __nv_bfloat16*>(row)[i]);
    return reinterpret_cast<const float*>(row)[i];
}

__global__ void altup_coefs_kernel(ConstView x, const float* __restrict__ norm_w, float eps,
                                   int r_code, const char* __restrict__ router, size_t r_stride,
                                   int n_router, int c_code, const char* __restrict__ coef,
                                   size_t c_stride, View out) {
    wait_for_inputs();
    extern __shared__ float h[];  // the normed row, x.cols floats
    __shared__ float scratch[kThreads / 32];
    __shared__ float r[kMaxRouter];
    const float* xr = x.data + blockIdx.x * x.stride;
    const int64_t d = x.cols;
    float s = 0.0f;
    for (int64_t i = threadIdx.x; i < d; i += kThreads) s += xr[i] * xr[i];
    s = reduce::block_sum(s, scratch);
    const float inv = 1.0f / sqrtf(s / static_cast<float>(d) + eps);
    for (int64_t i = threadIdx.x; i < d; i += kThreads) h[i] = xr[i] * inv * norm_w[i];
    __syncthreads();
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    for (int k = warp; k < n_router; k += kThreads / 32) {
        const char* wrow = router + static_cast<size_t>(k) * r_stride;
        float acc = 0.0f;
        for (int64_t i = lane; i < d; i += 32) acc += weight_at(r_code, wrow, i) * h[i];
#pragma unroll
        for (int o = 16; o > 0; o >>= 1) acc += __shfl_xor_sync(0xffffffffu, acc, o);
        if (lane == 0) r[k] = tanhf(acc);
    }
    __syncthreads();
    float* orow = out.data + blockIdx.x * out.stride;
    for (int64_t q = threadIdx.x; q < out.cols; q += kThreads) {
        const char* crow = coef + static_cast<size_t>(q) * c_stride;
        float acc = 0.0f;
        for (int k = 0; k < n_router; ++k) acc += weight_at(c_code, crow, k) * r[k];
        orow[q] = acc;
    }
}

bool weight_type_ok(DType t) { return t == DType::kF32 || t == DType::kF16 || t == DType::kBF16; }

}  // namespace

bool altup_coefs_supports(DType router, DType coef, int64_t cols, int64_t router_rows) {
    return weight_type_ok(router) && weight_type_ok(coef) && cols <= kMaxCols &&
           router_rows <= kMaxRouter;
}

Status altup_coefs(ConstView x, const float* norm_w, float eps, DType router_type,
                   const void* router, size_t router_stride, int router_rows, DType coef_type,
                   const void* coef, size_t coef_stride, View out, void* stream) {
    if (!altup_coefs_supports(router_type, coef_type, x.cols, router_rows))
        return unsupported("CUDA altup_coefs: unsupported weight types or shape");
    if (x.rows == 0) return ok_status();
    const size_t smem = static_cast<size_t>(x.cols) * sizeof(float);
    launch_kernel(altup_coefs_kernel, static_cast<unsigned>(x.rows), kThreads, smem,
                  static_cast<cudaStream_t>(stream), x, norm_w, eps, code_of(router_type),
                  static_cast<const char*>(router), router_stride, router_rows, code_of(coef_type),
                  static_cast<const char*>(coef), coef_stride, out);
    return last_launch("altup_coefs");
}

}  // namespace unicorn::cuda
