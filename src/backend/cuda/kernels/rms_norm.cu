// RMSNorm, one block per row: sum of squares in fp32 by a block reduction, then
// x / sqrt(mean + eps) ⊙ w in fp32 (ops/ref accumulates in double; over a few thousand columns
// the fp32 sum is within ~1e-6 relative). In place (out = x) is allowed: each thread writes only
// the elements it read, after the reduction.
#include "backend/cuda/cuda_status.h"
#include "backend/cuda/kernels/kernels.h"
#include "backend/cuda/kernels/launch.cuh"
#include "backend/cuda/kernels/reduce.cuh"

namespace unicorn::cuda {
namespace {

constexpr int kThreads = 256;

__global__ void rms_norm_kernel(ConstView x, const float* w, ConstView res, View out, float eps) {
    wait_for_inputs();
    __shared__ float scratch[kThreads / 32];
    const float* xr = x.data + blockIdx.x * x.stride;
    float* orow = out.data + blockIdx.x * out.stride;
    float s = 0.0f;
    for (int64_t i = threadIdx.x; i < x.cols; i += kThreads) s += xr[i] * xr[i];
    s = reduce::block_sum(s, scratch);
    const float inv = 1.0f / sqrtf(s / static_cast<float>(x.cols) + eps);
    const float* rr = res.data != nullptr ? res.data + blockIdx.x * res.stride : nullptr;
    for (int64_t i = threadIdx.x; i < x.cols; i += kThreads) {
        const float v = w != nullptr ? xr[i] * inv * w[i] : xr[i] * inv;
        // __fadd_rn: the normed value is rounded before the add (no fma), as two ops would.
        orow[i] = rr != nullptr ? __fadd_rn(rr[i], v) : v;
    }
}

}  // namespace

Status rms_norm(ConstView x, const float* w, View out, float eps, void* stream) {
    return rms_norm_add(x, w, ConstView{}, out, eps, stream);
}

Status rms_norm_add(ConstView x, const float* w, ConstView residual, View out, float eps,
                    void* stream) {
    if (x.rows == 0 || x.cols == 0) return ok_status();
    launch_kernel(rms_norm_kernel, static_cast<unsigned>(x.rows), kThreads, 0,
                  static_cast<cudaStream_t>(stream), x, w, residual, out, eps);
    return last_launch("rms_norm");
}

}  // namespace unicorn::cuda
