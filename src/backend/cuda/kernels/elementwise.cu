// Elementwise ops over contiguous F32, one element per thread. GELU uses tanh-approximation
// with tanhf (as transformers' gelu_pytorch_tanh), SiLU x·sigmoid(x).
#include "backend/cuda/cuda_status.h"
#include "backend/cuda/kernels/kernels.h"

namespace unicorn::cuda {
namespace {

constexpr int kThreads = 256;

template <typename F>
__global__ void map_kernel(int64_t n, F f) {
    const int64_t i = static_cast<int64_t>(blockIdx.x) * kThreads + threadIdx.x;
    if (i < n) f(i);
}

template <typename F>
Status launch(int64_t n, void* stream, const char* name, F f) {
    if (n == 0) return ok_status();
    const int64_t blocks = (n + kThreads - 1) / kThreads;
    map_kernel<<<static_cast<unsigned>(blocks), kThreads, 0, static_cast<cudaStream_t>(stream)>>>(
        n, f);
    return last_launch(name);
}

}  // namespace

Status add(const float* a, const float* b, float* out, int64_t n, void* stream) {
    return launch(n, stream, "add", [=] __device__(int64_t i) { out[i] = a[i] + b[i]; });
}

Status gelu_tanh_mul(const float* g, const float* u, float* out, int64_t n, void* stream) {
    return launch(n, stream, "gelu_tanh_mul", [=] __device__(int64_t i) {
        const float x = g[i];
        const float inner = 0.7978845608028654f * (x + 0.044715f * x * x * x);
        out[i] = 0.5f * x * (1.0f + tanhf(inner)) * u[i];
    });
}

Status silu_mul(const float* g, const float* u, float* out, int64_t n, void* stream) {
    return launch(n, stream, "silu_mul", [=] __device__(int64_t i) {
        const float x = g[i];
        out[i] = x / (1.0f + expf(-x)) * u[i];
    });
}

Status softcap(const float* x, float cap, float* out, int64_t n, void* stream) {
    return launch(n, stream, "softcap",
                  [=] __device__(int64_t i) { out[i] = cap * tanhf(x[i] / cap); });
}

}  // namespace unicorn::cuda
