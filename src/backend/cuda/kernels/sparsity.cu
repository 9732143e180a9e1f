// gaussian_topk (Gemma 3n activation sparsity): out = relu(x − (mean + z·std)) per row, std the
// population standard deviation. One block per row, two passes over the row (mean, then the
// squared deviations from it) with both sums in double, as ops/ref does: the cutoff sits inside
// the bulk of the values, so its error shows directly in the small outputs near it. In place
// (out = x) is allowed.
#include "backend/cuda/cuda_status.h"
#include "backend/cuda/kernels/kernels.h"
#include "backend/cuda/kernels/launch.cuh"
#include "backend/cuda/kernels/reduce.cuh"

namespace unicorn::cuda {
namespace {

constexpr int kThreads = 256;

__global__ void gaussian_topk_kernel(ConstView x, float z, View out) {
    wait_for_inputs();
    __shared__ double scratch[kThreads / 32];
    const float* src = x.data + blockIdx.x * x.stride;
    float* dst = out.data + blockIdx.x * out.stride;
    const double n = static_cast<double>(x.cols);
    double sum = 0;
    for (int64_t j = threadIdx.x; j < x.cols; j += kThreads) sum += src[j];
    const double mean = reduce::block_sum(sum, scratch) / n;
    double ss = 0;
    for (int64_t j = threadIdx.x; j < x.cols; j += kThreads) {
        const double d = src[j] - mean;
        ss += d * d;
    }
    const double cutoff = mean + static_cast<double>(z) * sqrt(reduce::block_sum(ss, scratch) / n);
    for (int64_t j = threadIdx.x; j < x.cols; j += kThreads)
        dst[j] = static_cast<float>(fmax(0.0, src[j] - cutoff));
}

}  // namespace

Status gaussian_topk(ConstView x, float z, View out, void* stream) {
    if (x.rows == 0 || x.cols == 0) return ok_status();
    launch_kernel(gaussian_topk_kernel, static_cast<unsigned>(x.rows), kThreads, 0,
                  static_cast<cudaStream_t>(stream), x, z, out);
    return last_launch("gaussian_topk");
}

}  // namespace unicorn::cuda
