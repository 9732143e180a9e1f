// CUDA matvec bandwidth: for each weight type, y = W·x at decode shapes (T = 1 and 4 tokens)
// over a rotation of weight matrices totalling ≥ 2 GiB, so every call reads from device
// memory (the H200's L2 is 60 MB). Reports weight GB/s per call, timed with CUDA events over
// many calls replayed from a CUDA graph, next to a device-to-device copy (bytes read + written) as
// the ceiling.
#include <cuda_runtime.h>
#include <fmt/format.h>

#include <chrono>
#include <functional>
#include <random>
#include <vector>

#include "backend/cuda/cuda_status.h"
#include "backend/cuda/device.h"
#include "backend/cuda/kernels/kernels.h"
#include "quant/quantize.h"

namespace unicorn {
namespace {

int fail(const Status& s) {
    fmt::print(stderr, "cuda_matvec_bench: {}\n", s.to_string());
    return 1;
}

// Milliseconds per call of fn, from `reps` calls captured into one CUDA graph and replayed
// (so host launch overhead, tens of µs per launch in this VM, stays out of the kernel time).
double time_ms(const std::function<Status(cudaStream_t)>& fn, int reps, Status* err) {
    cudaStream_t s;
    cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking);
    *err = fn(s);  // warm-up outside the capture
    cudaStreamSynchronize(s);
    cudaGraph_t graph;
    cudaGraphExec_t exec;
    cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal);
    for (int i = 0; i < reps && err->ok(); ++i) *err = fn(s);
    cudaStreamEndCapture(s, &graph);
    if (!err->ok()) return 0;
    cudaGraphInstantiate(&exec, graph, 0);
    cudaGraphLaunch(exec, s);  // first replay uploads the graph
    cudaEvent_t a, b;
    cudaEventCreate(&a);
    cudaEventCreate(&b);
    // Keep the GPU busy for ~0.3 s first: an idle H200 sits at 345 MHz and needs sustained work
    // to reach its boost clock.
    const auto t0 = std::chrono::steady_clock::now();
    while (std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(300)) {
        cudaGraphLaunch(exec, s);
        cudaStreamSynchronize(s);
    }
    constexpr int kReplays = 5;
    cudaEventRecord(a, s);
    for (int r = 0; r < kReplays; ++r) cudaGraphLaunch(exec, s);
    cudaEventRecord(b, s);
    cudaEventSynchronize(b);
    float ms = 0;
    cudaEventElapsedTime(&ms, a, b);
    *err = cuda::cuda_status(cudaGetLastError(), "graph replay");
    cudaEventDestroy(a);
    cudaEventDestroy(b);
    cudaGraphExecDestroy(exec);
    cudaGraphDestroy(graph);
    cudaStreamDestroy(s);
    return static_cast<double>(ms) / reps / kReplays;
}

int run() {
    auto devs = cuda::cuda_devices();
    if (!devs.ok()) return fail(devs.status());
    const auto& d = devs->front();
    fmt::print("device: {} (cc {}.{}, {} SMs, {:.0f} GiB)\n", d.name, d.cc_major, d.cc_minor,
               d.multiprocessors, static_cast<double>(d.total_bytes) / (1 << 30));
    Status err;
    double ceiling = 0;
    {  // ceiling: device-to-device copy of 2 GiB
        const size_t bytes = size_t{2} << 30;
        auto a = cuda::DeviceBuffer::alloc(bytes), b = cuda::DeviceBuffer::alloc(bytes);
        if (!a.ok() || !b.ok()) return fail(a.ok() ? b.status() : a.status());
        // Plain back-to-back copies timed with events (a graph of large copies ran slower).
        cudaEvent_t e0, e1;
        cudaEventCreate(&e0);
        cudaEventCreate(&e1);
        for (int i = 0; i < 3; ++i)
            cudaMemcpy(b->data(), a->data(), bytes, cudaMemcpyDeviceToDevice);
        cudaEventRecord(e0);
        for (int i = 0; i < 10; ++i)
            cudaMemcpy(b->data(), a->data(), bytes, cudaMemcpyDeviceToDevice);
        cudaEventRecord(e1);
        cudaEventSynchronize(e1);
        float total = 0;
        cudaEventElapsedTime(&total, e0, e1);
        const double ms = static_cast<double>(total) / 10;
        err = cuda::cuda_status(cudaGetLastError(), "copy");
        ceiling = 2.0 * static_cast<double>(bytes) / ms / 1e6;
        fmt::print("copy d2d: {:.0f} GB/s (read + write)\n\n", ceiling);
    }
    // Gemma 3n E2B FFN shapes: gate/up [8192, 2048], down [2048, 8192].
    const int64_t n = 8192, k = 2048;
    std::mt19937 rng(7);
    std::normal_distribution<float> g(0.0f, 1.0f);
    std::vector<float> wf(static_cast<size_t>(n * k));
    for (float& v : wf) v = g(rng);
    fmt::print(
        "| type | T | rows/warp | µs/call | weight GB/s | of copy ceiling |\n"
        "|---|---:|---:|---:|---:|---:|\n");
    for (DType type : {DType::kF16, DType::kBF16, DType::kQ8_0, DType::kQ4_0, DType::kQ4_1,
                       DType::kQ5_0, DType::kQ4_K, DType::kQ5_K, DType::kQ6_K, DType::kF32}) {
        const size_t row = dtype_row_bytes(type, k), mat = row * static_cast<size_t>(n);
        std::vector<uint8_t> host(mat);
        for (int64_t r = 0; r < n; ++r)
            quant::quantize_row(type, wf.data() + r * k, host.data() + r * row, k);
        const int copies = static_cast<int>(std::max<size_t>(2, (size_t{2} << 30) / mat));
        std::vector<cuda::DeviceBuffer> ws;
        for (int c = 0; c < copies; ++c) {
            auto b = cuda::DeviceBuffer::alloc(mat);
            if (!b.ok()) return fail(b.status());
            if (Status s = b->upload(host.data(), mat); !s.ok()) return fail(s);
            ws.push_back(std::move(*b));
        }
        for (auto [t, rows] : {std::pair<int64_t, int>{1, 1}, {1, 2}, {4, 1}, {4, 2}}) {
            std::vector<float> x(static_cast<size_t>(t * k), 0.5f);
            auto dx = cuda::DeviceBuffer::alloc(x.size() * 4);
            auto dy = cuda::DeviceBuffer::alloc(static_cast<size_t>(t * n) * 4);
            if (!dx.ok() || !dy.ok()) return fail(dx.ok() ? dy.status() : dx.status());
            (void)dx->upload(x.data(), x.size() * 4);
            int i = 0;
            const int reps = 4 * copies;
            const double ms = time_ms(
                [&](cudaStream_t s) {
                    return cuda::matvec_rows(
                        type, ws[static_cast<size_t>(i++ % copies)].data(), n, k, row,
                        static_cast<const float*>(dx->data()), t, static_cast<size_t>(k),
                        static_cast<float*>(dy->data()), static_cast<size_t>(n), rows, s);
                },
                reps, &err);
            if (!err.ok()) return fail(err);
            const double gbs = static_cast<double>(mat) / ms / 1e6;
            fmt::print("| {} | {} | {} | {:.1f} | {:.0f} | {:.0f}% |\n", dtype_name(type), t, rows,
                       ms * 1e3, gbs, 100.0 * gbs / ceiling);
        }
    }
    return 0;
}

}  // namespace
}  // namespace unicorn

int main() { return unicorn::run(); }
