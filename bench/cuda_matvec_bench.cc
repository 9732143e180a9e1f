// CUDA matvec bandwidth: for each weight type, y = W·x at decode shapes (T = 1 and 4 tokens)
// over a rotation of weight matrices totalling ≥ 2 GiB, so every call reads from device
// memory (the H200's L2 is 60 MB). Reports weight GB/s per call, timed with CUDA events over
// many calls replayed from a CUDA graph, next to a device-to-device copy (bytes read + written) as
// the ceiling.
//
// Tables: (1) the fp32-activation kernels (matvec_rows) for every type at 8192×2048; (2) the
// K-quants' int8 (dp4a) path (matvec_int8, what matvec() runs for them) against the fp32 one at
// Gemma 3n shapes: FFN 8192×2048 and 2048×8192, E4B-like 16384×2560, the 262144×2048 output head
// (Q6_K); (3) with --variants, the int8 path's launch knobs at the same shapes.
#include <cuda_runtime.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "backend/cuda/cuda_status.h"
#include "backend/cuda/device.h"
#include "backend/cuda/kernels/kernels.h"
#include "cuda_timing.h"
#include "quant/quantize.h"

namespace unicorn {
namespace {

int fail(const Status& s) {
    fmt::print(stderr, "cuda_matvec_bench: {}\n", s.to_string());
    return 1;
}

// Milliseconds per call of fn on a stream of its own (bench/cuda_timing.h): 0.3 s of warm-up
// before the first measurement, 0.1 s before later ones (they follow closely).
double time_ms(const std::function<Status(cudaStream_t)>& fn, int reps, Status* err) {
    cudaStream_t s;
    cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking);
    static bool first = true;
    const auto warm = std::chrono::milliseconds(first ? 300 : 100);
    first = false;
    const double ms = bench::graph_time_ms(fn, s, reps, warm, 5, err);
    cudaStreamDestroy(s);
    return ms;
}

// Device copies of one quantized [n, k] matrix, enough of them (≥ 2 GiB together) that a
// rotation through them always reads from device memory. Rows are 64 distinct quantized rows
// repeated (the host quantizer would take minutes for the 262144-row head).
struct Weights {
    std::vector<cuda::DeviceBuffer> copies;
    size_t row = 0, bytes = 0;
};

Result<Weights> make_weights(DType type, int64_t n, int64_t k) {
    std::mt19937 rng(7);
    std::normal_distribution<float> g(0.0f, 1.0f);
    Weights w;
    w.row = dtype_row_bytes(type, k);
    w.bytes = w.row * static_cast<size_t>(n);
    const int64_t distinct = std::min<int64_t>(n, 64);
    std::vector<float> wf(static_cast<size_t>(k));
    std::vector<uint8_t> host(w.bytes);
    for (int64_t r = 0; r < distinct; ++r) {
        for (float& v : wf) v = g(rng);
        quant::quantize_row(type, wf.data(), host.data() + r * w.row, k);
    }
    for (int64_t r = distinct; r < n; ++r)
        std::memcpy(host.data() + r * w.row, host.data() + (r % distinct) * w.row, w.row);
    const int copies = static_cast<int>(std::max<size_t>(2, (size_t{2} << 30) / w.bytes));
    for (int c = 0; c < copies; ++c) {
        auto b = cuda::DeviceBuffer::alloc(w.bytes);
        if (!b.ok()) return b.status();
        UNI_RETURN_IF_ERROR(b->upload(host.data(), w.bytes));
        w.copies.push_back(std::move(*b));
    }
    return w;
}

// One matvec call on weight copy `w` (device pointers), for timing.
using Call = std::function<Status(const void* w, const float* x, float* y, cudaStream_t s)>;

// Milliseconds per call of `call`, rotating through the copies. x [t, k], y [t, n] contiguous.
Result<double> time_call(const Weights& w, int64_t n, int64_t k, int64_t t, const Call& call) {
    std::mt19937 rng(11);
    std::normal_distribution<float> g(0.0f, 1.0f);
    std::vector<float> x(static_cast<size_t>(t * k));
    for (float& v : x) v = g(rng);
    auto dx = cuda::DeviceBuffer::alloc(x.size() * 4);
    auto dy = cuda::DeviceBuffer::alloc(static_cast<size_t>(t * n) * 4);
    if (!dx.ok()) return dx.status();
    if (!dy.ok()) return dy.status();
    UNI_RETURN_IF_ERROR(dx->upload(x.data(), x.size() * 4));
    const auto copies = w.copies.size();
    size_t i = 0;
    Status err;
    const double ms = time_ms(
        [&](cudaStream_t s) {
            return call(w.copies[i++ % copies].data(), static_cast<const float*>(dx->data()),
                        static_cast<float*>(dy->data()), s);
        },
        static_cast<int>(4 * copies), &err);
    if (!err.ok()) return err;
    return ms;
}

int run(bool variants) {
    auto devs = cuda::cuda_devices();
    if (!devs.ok()) return fail(devs.status());
    const auto& d = devs->front();
    fmt::print("device: {} (cc {}.{}, {} SMs, {:.0f} GiB)\n", d.name, d.cc_major, d.cc_minor,
               d.multiprocessors, static_cast<double>(d.total_bytes) / (1 << 30));
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
        if (Status err = cuda::cuda_status(cudaGetLastError(), "copy"); !err.ok()) return fail(err);
        ceiling = 2.0 * static_cast<double>(bytes) / ms / 1e6;
        fmt::print("copy d2d: {:.0f} GB/s (read + write)\n\n", ceiling);
    }
    const auto gbs = [](const Weights& w, double ms) {
        return static_cast<double>(w.bytes) / ms / 1e6;
    };

    // (1) fp32-activation kernels, Gemma 3n E2B FFN shape gate/up [8192, 2048].
    {
        const int64_t n = 8192, k = 2048;
        fmt::print(
            "fp32-activation kernels (matvec_rows), {}×{}\n"
            "| type | T | rows/warp | µs/call | weight GB/s | of copy ceiling |\n"
            "|---|---:|---:|---:|---:|---:|\n",
            n, k);
        for (DType type : {DType::kF16, DType::kBF16, DType::kQ8_0, DType::kQ4_0, DType::kQ4_1,
                           DType::kQ5_0, DType::kQ4_K, DType::kQ5_K, DType::kQ6_K, DType::kF32}) {
            auto w = make_weights(type, n, k);
            if (!w.ok()) return fail(w.status());
            for (auto [t, rows] : {std::pair<int64_t, int>{1, 1}, {1, 2}, {4, 1}, {4, 2}}) {
                auto ms = time_call(*w, n, k, t,
                                    [&, t = t, rows = rows](const void* wp, const float* x,
                                                            float* y, cudaStream_t s) {
                                        return cuda::matvec_rows(type, wp, n, k, w->row, x, t,
                                                                 static_cast<size_t>(k), y,
                                                                 static_cast<size_t>(n), rows, s);
                                    });
                if (!ms.ok()) return fail(ms.status());
                fmt::print("| {} | {} | {} | {:.1f} | {:.0f} | {:.0f}% |\n", dtype_name(type), t,
                           rows, *ms * 1e3, gbs(*w, *ms), 100.0 * gbs(*w, *ms) / ceiling);
                std::fflush(stdout);
            }
        }
    }

    // (2) and (3): K-quants, int8 path against fp32 path.
    struct Shape {
        int64_t n, k;
    };
    const Shape shapes[] = {{8192, 2048}, {2048, 8192}, {16384, 2560}, {262144, 2048}};
    std::vector<std::string> knob_rows;
    fmt::print(
        "\nK-quants: int8 path (matvec_int8 = matvec()) against the fp32-activation kernels "
        "(best of 1 and 2 rows/warp)\n"
        "| type | N×K | T | fp32 µs | fp32 GB/s | int8 µs | int8 GB/s | int8 of copy ceiling | "
        "speed-up |\n"
        "|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
    for (DType type : {DType::kQ4_K, DType::kQ5_K, DType::kQ6_K}) {
        for (const Shape& sh : shapes) {
            if (sh.n > 65536 && type != DType::kQ6_K) continue;  // the head is Q6_K in Q4_K_M
            const int64_t n = sh.n, k = sh.k;
            auto w = make_weights(type, n, k);
            if (!w.ok()) return fail(w.status());
            for (int64_t t : {1, 4}) {
                double f32 = 1e30;
                for (int rows : {1, 2}) {
                    auto ms = time_call(
                        *w, n, k, t, [&](const void* wp, const float* x, float* y, cudaStream_t s) {
                            return cuda::matvec_rows(type, wp, n, k, w->row, x, t,
                                                     static_cast<size_t>(k), y,
                                                     static_cast<size_t>(n), rows, s);
                        });
                    if (!ms.ok()) return fail(ms.status());
                    f32 = std::min(f32, *ms);
                }
                const auto int8 = [&](cuda::MatvecInt8Config c) {
                    return time_call(
                        *w, n, k, t,
                        [&, c](const void* wp, const float* x, float* y, cudaStream_t s) {
                            return cuda::matvec_int8(type, wp, n, k, w->row, x, t,
                                                     static_cast<size_t>(k), y,
                                                     static_cast<size_t>(n), c, s);
                        });
                };
                auto q = int8({});
                if (!q.ok()) return fail(q.status());
                fmt::print(
                    "| {} | {}×{} | {} | {:.1f} | {:.0f} | {:.1f} | {:.0f} | {:.0f}% | "
                    "{:.2f}× |\n",
                    dtype_name(type), n, k, t, f32 * 1e3, gbs(*w, f32), *q * 1e3, gbs(*w, *q),
                    100.0 * gbs(*w, *q) / ceiling, f32 / *q);
                std::fflush(stdout);
                if (!variants || type == DType::kQ5_K) continue;  // Q5_K: same code as Q4_K
                const auto knob = [](int v, const char* zero) {
                    return v == 0 ? std::string(zero) : std::to_string(v);
                };
                for (auto [warps, rows, ahead, bps] : {std::tuple<int, int, int, int>{8, 1, 1, 0},
                                                       {8, 1, 2, 0},
                                                       {8, 2, 1, 0},
                                                       {8, 2, 2, 0},
                                                       {16, 1, 2, 0},
                                                       {16, 2, 2, 0},
                                                       {8, 1, 4, 0},
                                                       {16, 1, 4, 0},
                                                       {8, 1, 8, 0},
                                                       {16, 1, 8, 0},
                                                       {8, 0, 0, 1},
                                                       {16, 0, 0, 1},
                                                       {8, 0, 0, 1 << 20}}) {
                    auto v = int8({rows, bps, ahead, warps});
                    if (!v.ok()) return fail(v.status());
                    knob_rows.push_back(fmt::format(
                        "| {} | {}×{} | {} | {} | {} | {} | {} | {:.1f} | {:.0f} |",
                        dtype_name(type), n, k, t, warps, knob(rows, "auto"), knob(ahead, "auto"),
                        bps >= (1 << 20) ? std::string("all") : knob(bps, "fit"), *v * 1e3,
                        gbs(*w, *v)));
                    fmt::print(stderr, "{}\n", knob_rows.back());  // progress, unbuffered
                }
            }
        }
    }
    if (variants) {
        fmt::print(
            "\nint8 path launch knobs (blocks/SM: fit = as many as fit at once, each looping over "
            "row groups; all = one block per row group)\n"
            "| type | N×K | T | warps/block | rows/warp | prefetch | blocks/SM | µs/call | "
            "weight GB/s |\n"
            "|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
        for (const std::string& r : knob_rows) fmt::print("{}\n", r);
    }
    return 0;
}

}  // namespace
}  // namespace unicorn

int main(int argc, char** argv) {
    bool variants = false;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--variants") == 0) {
            variants = true;
        } else {
            std::fprintf(stderr, "usage: %s [--variants]\n", argv[0]);
            return 2;
        }
    }
    return unicorn::run(variants);
}
