// Kernel timing for the CUDA micro-benchmarks: `reps` calls of fn captured into one CUDA graph
// (so host launch overhead, tens of µs per launch in the GPU machine's VM, stays out of the
// kernel time), the GPU kept busy for `warm` first (an idle H200 sits at 345 MHz and needs
// sustained work to reach its boost clock), then `replays` replays timed with events.
#pragma once

#include <cuda_runtime.h>

#include <chrono>
#include <functional>

#include "backend/cuda/cuda_status.h"
#include "core/status.h"

namespace unicorn::bench {

// Milliseconds per call of fn(s); the first error (fn's or CUDA's) in *err, then 0.
inline double graph_time_ms(const std::function<Status(cudaStream_t)>& fn, cudaStream_t s, int reps,
                            std::chrono::milliseconds warm, int replays, Status* err) {
    *err = fn(s);  // warm-up outside the capture (grows gemm()'s scratch, loads modules)
    if (err->ok()) *err = cuda::cuda_status(cudaStreamSynchronize(s), "warm-up");
    if (!err->ok()) return 0;
    cudaGraph_t graph;
    cudaGraphExec_t exec;
    cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal);
    for (int i = 0; i < reps && err->ok(); ++i) *err = fn(s);
    const Status end = cuda::cuda_status(cudaStreamEndCapture(s, &graph), "stream capture");
    if (!err->ok()) return 0;
    if (*err = end; !err->ok()) return 0;
    if (*err = cuda::cuda_status(cudaGraphInstantiate(&exec, graph, 0), "cudaGraphInstantiate");
        !err->ok()) {
        cudaGraphDestroy(graph);
        return 0;
    }
    const auto t0 = std::chrono::steady_clock::now();
    do {
        cudaGraphLaunch(exec, s);
        cudaStreamSynchronize(s);
    } while (std::chrono::steady_clock::now() - t0 < warm);
    cudaEvent_t a, b;
    cudaEventCreate(&a);
    cudaEventCreate(&b);
    cudaEventRecord(a, s);
    for (int r = 0; r < replays; ++r) cudaGraphLaunch(exec, s);
    cudaEventRecord(b, s);
    cudaEventSynchronize(b);
    float ms = 0;
    cudaEventElapsedTime(&ms, a, b);
    *err = cuda::cuda_status(cudaGetLastError(), "graph replay");
    cudaEventDestroy(a);
    cudaEventDestroy(b);
    cudaGraphExecDestroy(exec);
    cudaGraphDestroy(graph);
    return static_cast<double>(ms) / reps / replays;
}

}  // namespace unicorn::bench
