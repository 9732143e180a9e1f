// Block-wide sum for the per-row kernels (rms_norm, gaussian_topk, match_magnitude): one block
// per row, blockDim.x a multiple of 32 and at most 1024.
#pragma once

namespace unicorn::cuda::reduce {

// The sum of v over the block, returned to every thread (each adds the warp partials in the
// same order, so all get the same value). scratch: blockDim.x / 32 entries of shared memory;
// a call may reuse the previous call's scratch (it synchronizes before writing).
template <typename T>
__device__ T block_sum(T v, T* scratch) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    __syncthreads();
    if ((threadIdx.x & 31) == 0) scratch[threadIdx.x / 32] = v;
    __syncthreads();
    T s = 0;
    for (unsigned w = 0; w < blockDim.x / 32; ++w) s += scratch[w];
    return s;
}

}  // namespace unicorn::cuda::reduce
