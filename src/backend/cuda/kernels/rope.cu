// RoPE in place, one block per token: thread i owns pair i (< rot_dim/2), takes cos/sin of its
// angle once and rotates that pair in every head. As ops/ref: the angle is the fp32 product
// position × inv_freq[i] (HF's), its cos/sin and the rotation are computed in double and the
// results rounded once to float. Dimensions past rot_dim are left as they are.
#include <algorithm>
#include <string>

#include "backend/cuda/cuda_status.h"
#include "backend/cuda/kernels/kernels.h"
#include "backend/cuda/kernels/launch.cuh"

namespace unicorn::cuda {
namespace {

__global__ void rope_kernel(View x, const int32_t* __restrict__ positions, int n_heads,
                            int head_dim, int half, bool neox, const float* __restrict__ inv_freq) {
    wait_for_inputs();
    float* row = x.data + blockIdx.x * x.stride;
    const float pos = static_cast<float>(positions[blockIdx.x]);
    for (int i = threadIdx.x; i < half; i += blockDim.x) {
        const float theta = pos * inv_freq[i];  // fp32 product, then widened
        double s, c;
        sincos(static_cast<double>(theta), &s, &c);
        const int ia = neox ? i : 2 * i, ib = neox ? i + half : 2 * i + 1;
        for (int h = 0; h < n_heads; ++h) {
            float* v = row + static_cast<int64_t>(h) * head_dim;
            const double x0 = v[ia], x1 = v[ib];
            v[ia] = static_cast<float>(x0 * c - x1 * s);
            v[ib] = static_cast<float>(x1 * c + x0 * s);
        }
    }
}

}  // namespace

Status rope(View x, const int32_t* positions, int n_heads, int head_dim, int rot_dim, bool neox,
            const float* inv_freq, void* stream) {
    if (rot_dim % 2 != 0 || rot_dim > head_dim)
        return invalid_argument("CUDA rope: rot_dim " + std::to_string(rot_dim) +
                                " is odd or exceeds head_dim " + std::to_string(head_dim));
    const int half = rot_dim / 2;
    if (x.rows == 0 || n_heads == 0 || half == 0) return ok_status();
    const int threads = std::min(256, (half + 31) / 32 * 32);
    launch_kernel(rope_kernel, static_cast<unsigned>(x.rows), threads, 0,
                  static_cast<cudaStream_t>(stream), x, positions, n_heads, head_dim, half, neox,
                  inv_freq);
    return last_launch("rope");
}

}  // namespace unicorn::cuda
