// CUDA prefill GEMM (kernels/gemm.h) at T = 512 tokens, per shape (N, K):
//   - the GEMM alone on F32 weights: TF32 tensor cores (what every non-F32 type runs) and plain
//     fp32 (the F32-weight path), in µs and TFLOP/s (2·T·N·K flops);
//   - per weight type, the dequantization of all N rows to F32 (µs, and GB/s of weight bytes read
//     plus floats written) and the whole GemmContext::gemm() call (dequantize + GEMM per N tile);
//   - the decode matvec at the same T (what CudaBackend::linear ran for prefill before).
// Timed with CUDA events over calls captured into a CUDA graph and replayed (host launch
// overhead stays out; the capture also checks that gemm() is legal inside stream capture).
// Dequantization rotates over copies of W totalling ≥ 512 MiB, so it reads device memory, not
// the H200's 60 MB L2.
#include <cuda_runtime.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <random>
#include <vector>

#include "backend/cuda/cuda_status.h"
#include "backend/cuda/device.h"
#include "backend/cuda/kernels/gemm.h"
#include "backend/cuda/kernels/kernels.h"
#include "cuda_timing.h"
#include "quant/quantize.h"

namespace unicorn {
namespace {

int fail(const Status& s) {
    fmt::print(stderr, "cuda_gemm_bench: {}\n", s.to_string());
    return 1;
}

// Milliseconds per call of fn(stream) (bench/cuda_timing.h), after 0.2 s of warm-up.
double time_ms(const std::function<Status(cudaStream_t)>& fn, cudaStream_t s, int reps,
               Status* err) {
    return bench::graph_time_ms(fn, s, reps, std::chrono::milliseconds(200), 3, err);
}

Result<cuda::DeviceBuffer> device_copy(const void* host, size_t bytes) {
    UNI_ASSIGN_OR_RETURN(cuda::DeviceBuffer b, cuda::DeviceBuffer::alloc(bytes));
    UNI_RETURN_IF_ERROR(b.upload(host, bytes));
    return b;
}

int run() {
    auto devs = cuda::cuda_devices();
    if (!devs.ok()) return fail(devs.status());
    const auto& d = devs->front();
    fmt::print("device: {} (cc {}.{}, {} SMs)\n", d.name, d.cc_major, d.cc_minor,
               d.multiprocessors);
    cudaStream_t s;
    cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking);
    auto ctx = cuda::GemmContext::create(s);
    if (!ctx.ok()) return fail(ctx.status());
    Status err;
    constexpr int64_t t = 512;
    const std::pair<int64_t, int64_t> shapes[] = {
        {2048, 2048}, {8192, 2048}, {2048, 8192}, {16384, 2560}};
    const DType types[] = {DType::kF16,  DType::kBF16, DType::kQ8_0, DType::kQ4_0, DType::kQ4_1,
                           DType::kQ5_0, DType::kQ4_K, DType::kQ5_K, DType::kQ6_K};
    std::mt19937 rng(7);
    std::normal_distribution<float> g(0.0f, 1.0f);
    for (auto [n, k] : shapes) {
        const double flop = 2.0 * t * n * k;
        const auto tflops = [&](double ms) { return flop / ms / 1e9; };
        std::vector<float> wf(static_cast<size_t>(n * k)), x(static_cast<size_t>(t * k));
        for (float& v : wf) v = g(rng);
        for (float& v : x) v = g(rng);
        auto dwf = device_copy(wf.data(), wf.size() * 4), dx = device_copy(x.data(), x.size() * 4);
        auto dy = cuda::DeviceBuffer::alloc(static_cast<size_t>(t * n) * 4);
        if (!dwf.ok() || !dx.ok() || !dy.ok())
            return fail(!dwf.ok() ? dwf.status() : !dx.ok() ? dx.status() : dy.status());
        const auto* xp = static_cast<const float*>(dx->data());
        auto* yp = static_cast<float*>(dy->data());
        const auto* wp = static_cast<const float*>(dwf->data());

        fmt::print("\n## T = {}, N = {}, K = {} ({:.1f} GFLOP)\n\n", t, n, k, flop / 1e9);
        fmt::print("| GEMM on F32 weights | µs | TFLOP/s |\n|---|---:|---:|\n");
        for (bool tf32 : {true, false}) {
            const double ms = time_ms(
                [&](cudaStream_t) {
                    return (*ctx)->gemm_f32(wp, n, k, static_cast<size_t>(k), xp, t,
                                            static_cast<size_t>(k), yp, static_cast<size_t>(n),
                                            tf32);
                },
                s, 10, &err);
            if (!err.ok()) return fail(err);
            fmt::print("| {} | {:.1f} | {:.1f} |\n", tf32 ? "TF32" : "FP32", ms * 1e3, tflops(ms));
        }

        fmt::print(
            "\n| type | dequant µs | dequant GB/s | gemm() µs | gemm() TFLOP/s | "
            "matvec µs (T = {}) |\n|---|---:|---:|---:|---:|---:|\n",
            t);
        auto dq = cuda::DeviceBuffer::alloc(static_cast<size_t>(n * k) * 4);
        if (!dq.ok()) return fail(dq.status());
        for (DType type : types) {
            const size_t row = dtype_row_bytes(type, k), mat = row * static_cast<size_t>(n);
            std::vector<uint8_t> host(mat);
            for (int64_t r = 0; r < n; ++r)
                quant::quantize_row(type, wf.data() + r * k, host.data() + r * row, k);
            const int copies =
                static_cast<int>(std::clamp<size_t>((size_t{512} << 20) / mat, 2, 64));
            std::vector<cuda::DeviceBuffer> ws;
            for (int c = 0; c < copies; ++c) {
                auto b = device_copy(host.data(), mat);
                if (!b.ok()) return fail(b.status());
                ws.push_back(std::move(*b));
            }
            int i = 0;
            const double dq_ms = time_ms(
                [&](cudaStream_t st) {
                    return cuda::dequantize_rows(type, ws[static_cast<size_t>(i++ % copies)].data(),
                                                 n, k, row, static_cast<float*>(dq->data()),
                                                 static_cast<size_t>(k), st);
                },
                s, copies, &err);
            if (!err.ok()) return fail(err);
            const double gemm_ms = time_ms(
                [&](cudaStream_t) {
                    return (*ctx)->gemm(type, ws[static_cast<size_t>(i++ % copies)].data(), n, k,
                                        row, xp, t, static_cast<size_t>(k), yp,
                                        static_cast<size_t>(n));
                },
                s, std::min(copies, 10), &err);
            if (!err.ok()) return fail(err);
            const double mv_ms = time_ms(
                [&](cudaStream_t st) {
                    return cuda::matvec(type, ws[0].data(), n, k, row, xp, t,
                                        static_cast<size_t>(k), yp, static_cast<size_t>(n), st);
                },
                s, 2, &err);
            if (!err.ok()) return fail(err);
            const double bytes = static_cast<double>(mat) + 4.0 * static_cast<double>(n * k);
            fmt::print("| {} | {:.1f} | {:.0f} | {:.1f} | {:.1f} | {:.0f} |\n", dtype_name(type),
                       dq_ms * 1e3, bytes / dq_ms / 1e6, gemm_ms * 1e3, tflops(gemm_ms),
                       mv_ms * 1e3);
        }
    }
    ctx->reset();
    cudaStreamDestroy(s);
    return 0;
}

}  // namespace
}  // namespace unicorn

int main() { return unicorn::run(); }
