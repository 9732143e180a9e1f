// AltUp (Gemma 3n) over A streams stacked by rows (stream i = rows i·T … i·T+T−1), formulas in
// exec/graph_ops.h. Arithmetic in double, as ops/ref does, rounded once to float at the end:
// the kernels are memory-bound and do only a handful of operations per element.
//   match_magnitude: one block per row, both mean squares by block reductions, then
//     out = x · sqrt(mean(target²)) / sqrt(max(mean(x²), floor)); in place (out = x) is allowed.
//   altup_predict: out[i][t] = X[i][t] + Σ_j coefs[t][i·A + j] · X[j][t], one element per thread.
//   altup_correct: out[i][t] = pred[i][t] + (coefs[t][i] + 1) · (actual[t] − pred[0][t]).
// predict and correct read other streams' rows, so out must not alias their inputs.
#include <algorithm>

#include "backend/cuda/cuda_status.h"
#include "backend/cuda/kernels/kernels.h"
#include "backend/cuda/kernels/launch.cuh"
#include "backend/cuda/kernels/reduce.cuh"

namespace unicorn::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int64_t kMaxGridY = 65535;

__global__ void match_magnitude_kernel(ConstView x, ConstView target, float floor, View out) {
    wait_for_inputs();
    __shared__ double scratch[kThreads / 32];
    const float* src = x.data + blockIdx.x * x.stride;
    const float* tgt = target.data + blockIdx.x * target.stride;
    double sx = 0, st = 0;
    for (int64_t j = threadIdx.x; j < x.cols; j += kThreads) {
        sx += static_cast<double>(src[j]) * src[j];
        st += static_cast<double>(tgt[j]) * tgt[j];
    }
    const double n = static_cast<double>(x.cols);
    const double mx = reduce::block_sum(sx, scratch) / n;
    const double mt = reduce::block_sum(st, scratch) / n;
    const double factor = sqrt(mt) / sqrt(fmax(mx, static_cast<double>(floor)));
    float* dst = out.data + blockIdx.x * out.stride;
    for (int64_t j = threadIdx.x; j < x.cols; j += kThreads)
        dst[j] = static_cast<float>(src[j] * factor);
}

// Element (r, k) of out, r = i·T + t; blockIdx.y (with its grid stride) walks r.
__global__ void altup_predict_kernel(ConstView streams, ConstView coefs, int a, View out) {
    wait_for_inputs();
    const int64_t k = static_cast<int64_t>(blockIdx.x) * kThreads + threadIdx.x;
    if (k >= streams.cols) return;
    const int64_t t_len = streams.rows / a;
    for (int64_t r = blockIdx.y; r < streams.rows; r += gridDim.y) {
        const int64_t i = r / t_len, t = r % t_len;
        const float* c = coefs.data + t * coefs.stride + i * a;  // row i of the A×A mix
        double acc = streams.data[r * streams.stride + k];
        for (int j = 0; j < a; ++j)
            acc += static_cast<double>(c[j]) * streams.data[(j * t_len + t) * streams.stride + k];
        out.data[r * out.stride + k] = static_cast<float>(acc);
    }
}

__global__ void altup_correct_kernel(ConstView pred, ConstView actual, ConstView coefs, int a,
                                     View out) {
    wait_for_inputs();
    const int64_t k = static_cast<int64_t>(blockIdx.x) * kThreads + threadIdx.x;
    if (k >= pred.cols) return;
    const int64_t t_len = pred.rows / a;
    for (int64_t r = blockIdx.y; r < pred.rows; r += gridDim.y) {
        const int64_t i = r / t_len, t = r % t_len;
        const double gain = static_cast<double>(coefs.data[t * coefs.stride + i]) + 1.0;
        const double innov = static_cast<double>(actual.data[t * actual.stride + k]) -
                             pred.data[t * pred.stride + k];  // pred[0][t]: the active stream
        out.data[r * out.stride + k] =
            static_cast<float>(pred.data[r * pred.stride + k] + gain * innov);
    }
}

dim3 rows_grid(int64_t rows, int64_t cols) {
    return dim3(static_cast<unsigned>((cols + kThreads - 1) / kThreads),
                static_cast<unsigned>(std::min(rows, kMaxGridY)));
}

}  // namespace

Status match_magnitude(ConstView x, ConstView target, float floor, View out, void* stream) {
    if (x.rows == 0 || x.cols == 0) return ok_status();
    launch_kernel(match_magnitude_kernel, static_cast<unsigned>(x.rows), kThreads, 0,
                  static_cast<cudaStream_t>(stream), x, target, floor, out);
    return last_launch("match_magnitude");
}

Status altup_predict(ConstView streams, ConstView coefs, int n_streams, View out, void* stream) {
    if (streams.rows == 0 || streams.cols == 0) return ok_status();
    launch_kernel(altup_predict_kernel, rows_grid(streams.rows, streams.cols), kThreads, 0,
                  static_cast<cudaStream_t>(stream), streams, coefs, n_streams, out);
    return last_launch("altup_predict");
}

Status altup_correct(ConstView pred, ConstView actual, ConstView coefs, int n_streams, View out,
                     void* stream) {
    if (pred.rows == 0 || pred.cols == 0) return ok_status();
    launch_kernel(altup_correct_kernel, rows_grid(pred.rows, pred.cols), kThreads, 0,
                  static_cast<cudaStream_t>(stream), pred, actual, coefs, n_streams, out);
    return last_launch("altup_correct");
}

}  // namespace unicorn::cuda
