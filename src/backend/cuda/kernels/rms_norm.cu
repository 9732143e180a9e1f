// RMSNorm, one block per row: sum of squares in fp32 by a block reduction, then
// x / sqrt(mean + eps) ⊙ w (the CPU kernel and ops/ref compute the same).
#include "backend/cuda/cuda_status.h"
#include "backend/cuda/kernels/kernels.h"

namespace unicorn::cuda {
namespace {

constexpr int kThreads = 256;

__global__ void rms_norm_kernel(const float* __restrict__ x, const float* __restrict__ w,
                                float* __restrict__ out, int64_t cols, float eps) {
    const float* xr = x + blockIdx.x * cols;
    float* orow = out + blockIdx.x * cols;
    float s = 0.0f;
    for (int64_t i = threadIdx.x; i < cols; i += kThreads) s += xr[i] * xr[i];
    __shared__ float partial[kThreads / 32];
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
    if ((threadIdx.x & 31) == 0) partial[threadIdx.x / 32] = s;
    __syncthreads();
    if (threadIdx.x < 32) {
        s = threadIdx.x < kThreads / 32 ? partial[threadIdx.x] : 0.0f;
#pragma unroll
        for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
        if (threadIdx.x == 0) partial[0] = s;
    }
    __syncthreads();
    const float inv = 1.0f / sqrtf(partial[0] / static_cast<float>(cols) + eps);
    for (int64_t i = threadIdx.x; i < cols; i += kThreads)
        orow[i] = w != nullptr ? xr[i] * inv * w[i] : xr[i] * inv;
}

}  // namespace

Status rms_norm(const float* x, const float* w, float* out, int64_t rows, int64_t cols, float eps,
                void* stream) {
    if (rows == 0) return ok_status();
    rms_norm_kernel<<<static_cast<unsigned>(rows), kThreads, 0,
                      static_cast<cudaStream_t>(stream)>>>(x, w, out, cols, eps);
    return last_launch("rms_norm");
}

}  // namespace unicorn::cuda
