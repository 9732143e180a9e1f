// Elementwise ops over row-strided F32 views, one element per thread: blockIdx.x covers 256
// columns, blockIdx.y (and its grid stride) the rows. Arithmetic in fp32: add, mul and scale
// round once, as ops/ref's double computation rounded to float does; GELU (tanh approximation,
// as transformers' gelu_pytorch_tanh), SiLU (x·sigmoid(x)) and softcap use tanhf/expf, within
// a few ulp of the reference. out may be one of the inputs (same index read, then written).
#include <algorithm>

#include "backend/cuda/cuda_status.h"
#include "backend/cuda/kernels/kernels.h"
#include "backend/cuda/kernels/launch.cuh"

namespace unicorn::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int64_t kMaxGridY = 65535;

template <typename F>
__global__ void map_kernel(int64_t rows, int64_t cols, F f) {
    wait_for_inputs();
    const int64_t c = static_cast<int64_t>(blockIdx.x) * kThreads + threadIdx.x;
    if (c >= cols) return;
    for (int64_t r = blockIdx.y; r < rows; r += gridDim.y) f(r, c);
}

template <typename F>
Status launch(int64_t rows, int64_t cols, void* stream, const char* name, F f) {
    if (rows == 0 || cols == 0) return ok_status();
    const dim3 grid(static_cast<unsigned>((cols + kThreads - 1) / kThreads),
                    static_cast<unsigned>(std::min(rows, kMaxGridY)));
    launch_kernel(map_kernel<F>, grid, kThreads, 0, static_cast<cudaStream_t>(stream), rows, cols,
                  f);
    return last_launch(name);
}

// Element (r, c) of a view.
__device__ inline float at(const ConstView& v, int64_t r, int64_t c) {
    return v.data[r * v.stride + c];
}
__device__ inline float& at(const View& v, int64_t r, int64_t c) {
    return v.data[r * v.stride + c];
}

}  // namespace

Status add(ConstView a, ConstView b, View out, void* stream) {
    return launch(a.rows, a.cols, stream, "add", [=] __device__(int64_t r, int64_t c) {
        at(out, r, c) = at(a, r, c) + at(b, r % b.rows, c);  // b repeats every b.rows rows
    });
}

Status gelu_tanh_mul(ConstView g, ConstView u, View out, void* stream) {
    return launch(g.rows, g.cols, stream, "gelu_tanh_mul", [=] __device__(int64_t r, int64_t c) {
        const float x = at(g, r, c);
        const float inner = 0.7978845608028654f * (x + 0.044715f * x * x * x);
        at(out, r, c) = 0.5f * x * (1.0f + tanhf(inner)) * at(u, r, c);
    });
}

Status silu_mul(ConstView g, ConstView u, View out, void* stream) {
    return launch(g.rows, g.cols, stream, "silu_mul", [=] __device__(int64_t r, int64_t c) {
        const float x = at(g, r, c);
        at(out, r, c) = x / (1.0f + expf(-x)) * at(u, r, c);
    });
}

Status softcap(ConstView x, float cap, View out, void* stream) {
    return launch(x.rows, x.cols, stream, "softcap", [=] __device__(int64_t r, int64_t c) {
        at(out, r, c) = cap * tanhf(at(x, r, c) / cap);
    });
}

Status mul(ConstView a, ConstView b, View out, void* stream) {
    // One row of b broadcasts over a's rows (stride 0 reads row 0 for every r).
    const ConstView bb{b.data, b.rows, b.cols, b.rows == 1 ? 0 : b.stride};
    return launch(a.rows, a.cols, stream, "mul", [=] __device__(int64_t r, int64_t c) {
        at(out, r, c) = at(a, r, c) * at(bb, r, c);
    });
}

Status scale(ConstView x, float s, View out, void* stream) {
    return launch(x.rows, x.cols, stream, "scale",
                  [=] __device__(int64_t r, int64_t c) { at(out, r, c) = at(x, r, c) * s; });
}

}  // namespace unicorn::cuda
