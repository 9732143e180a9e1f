// cpu::matmul benchmarks.
//
//   matvec/<type>/<isa>/t<threads>/N<n>xK<k>[/hot]  T = 1 (decode). Counter GBps = weight
//       bytes read per second. By default each iteration uses the next of several weight
//       copies totalling >= 1 GiB, so the weights come from DRAM as in a real decode step
//       (a model's layers do not fit in L3); /hot reuses one copy (cache-resident: the
//       kernel's compute ceiling).
//   prefill/<type>/<isa>/t<threads>/T512xN2048xK2048  Counter GFLOPs = 2·T·N·K per second.
//   floor/read/t<threads>/<MiB>MiB, floor/memcpy/t<threads>/<MiB>MiB  the bandwidth a
//       weight stream can at best reach on this machine (GBps of bytes read).
//
// Flags: the usual --benchmark_filter=... etc., plus --threads=1,2 (the thread counts to
// register; default 1,2). ISA paths the CPU lacks are skipped.
#include <benchmark/benchmark.h>
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "backend/cpu/kernels/matmul.h"
#include "core/cpu_features.h"
#include "core/dtype.h"
#include "core/tensor.h"
#include "core/thread_pool.h"
#include "quant/quantize.h"

namespace {

using namespace unicorn;

constexpr size_t kColdBytes = size_t{1} << 30;  // > any L3 (a 300 MiB one was seen)

// One weight matrix [n, k] of `type` from random normal values, replicated `copies` times.
struct WeightSet {
    std::vector<Tensor> copies;
    size_t bytes = 0;  // of one copy
};

WeightSet make_weights(DType type, int64_t n, int64_t k, int copies) {
    WeightSet ws;
    ws.bytes = dtype_row_bytes(type, k) * static_cast<size_t>(n);
    Tensor first = Tensor::empty(type, Shape{n, k});
    std::mt19937 rng(7);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::vector<float> row(static_cast<size_t>(k));
    for (int64_t o = 0; o < n; ++o) {
        for (auto& v : row) v = normal(rng);
        quant::quantize_row(type, row.data(), first.row_bytes_ptr(o), k);
    }
    ws.copies.push_back(first);
    for (int c = 1; c < copies; ++c) {
        Tensor t = Tensor::empty(type, Shape{n, k});
        std::memcpy(t.data(), first.data(), ws.bytes);
        ws.copies.push_back(t);
    }
    return ws;
}

Tensor random_x(int64_t t, int64_t k) {
    Tensor x = Tensor::empty(DType::kF32, Shape{t, k});
    std::mt19937 rng(11);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    for (int64_t i = 0; i < t * k; ++i) x.data_as<float>()[i] = normal(rng);
    return x;
}

bool use_isa(benchmark::State& state, IsaLevel isa) {
    if (static_cast<int>(isa) > static_cast<int>(detected_isa())) {
        state.SkipWithError("CPU lacks this ISA");
        return false;
    }
    set_isa_override(isa);
    return true;
}

void bm_matvec(benchmark::State& state, DType type, IsaLevel isa, int threads, int64_t n, int64_t k,
               bool hot) {
    if (!use_isa(state, isa)) return;
    const size_t one = dtype_row_bytes(type, k) * static_cast<size_t>(n);
    const int copies =
        hot ? 1 : static_cast<int>(std::clamp<size_t>((kColdBytes + one - 1) / one, 2, 512));
    const WeightSet ws = make_weights(type, n, k, copies);
    const Tensor x = random_x(1, k);
    const Tensor y = Tensor::empty(DType::kF32, Shape{1, n});
    ThreadPool pool(threads);
    size_t i = 0;
    for (auto _ : state) {
        cpu::matmul(pool, x, ws.copies[i], y);
        if (++i == ws.copies.size()) i = 0;
        benchmark::DoNotOptimize(y.data());
        benchmark::ClobberMemory();
    }
    state.counters["GBps"] = benchmark::Counter(static_cast<double>(ws.bytes) / 1e9,
                                                benchmark::Counter::kIsIterationInvariantRate);
}

void bm_prefill(benchmark::State& state, DType type, IsaLevel isa, int threads, int64_t t,
                int64_t n, int64_t k) {
    if (!use_isa(state, isa)) return;
    const WeightSet ws = make_weights(type, n, k, 1);
    const Tensor x = random_x(t, k);
    const Tensor y = Tensor::empty(DType::kF32, Shape{t, n});
    ThreadPool pool(threads);
    for (auto _ : state) {
        cpu::matmul(pool, x, ws.copies[0], y);
        benchmark::DoNotOptimize(y.data());
        benchmark::ClobberMemory();
    }
    state.counters["GFLOPs"] = benchmark::Counter(2.0 * static_cast<double>(t * n * k) / 1e9,
                                                  benchmark::Counter::kIsIterationInvariantRate);
}

// Sum of 64-bit words with four independent 256-bit accumulators: a pure load stream (the
// baseline SSE2 build of a plain loop is ALU-bound below DRAM speed on fast machines).
__attribute__((target("avx2"))) uint64_t read_avx2(const uint64_t* p, size_t n) {
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        a0 = _mm256_add_epi64(a0, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i)));
        a1 = _mm256_add_epi64(a1, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i + 4)));
        a2 = _mm256_add_epi64(a2, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i + 8)));
        a3 = _mm256_add_epi64(a3, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + i + 12)));
    }
    const __m256i s = _mm256_add_epi64(_mm256_add_epi64(a0, a1), _mm256_add_epi64(a2, a3));
    uint64_t out = static_cast<uint64_t>(_mm256_extract_epi64(s, 0) + _mm256_extract_epi64(s, 3));
    for (; i < n; ++i) out += p[i];
    return out;
}

uint64_t read_words(const uint64_t* p, size_t n) {
    if (detected_isa() >= IsaLevel::kAvx2) return read_avx2(p, n);
    uint64_t s[8] = {};
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; ++j) s[j] += p[i + j];
    for (; i < n; ++i) s[0] += p[i];
    return s[0] + s[1] + s[2] + s[3] + s[4] + s[5] + s[6] + s[7];
}

// Reads `bytes` with `threads` threads, or memcpy's them (GBps counts the bytes read).
void bm_floor(benchmark::State& state, bool copy, int threads, size_t bytes) {
    const size_t words = bytes / 8;
    std::unique_ptr<uint64_t[]> src(new uint64_t[words]), dst(copy ? new uint64_t[words] : nullptr);
    for (size_t i = 0; i < words; ++i) src[i] = i;
    if (copy) std::memset(dst.get(), 0, bytes);
    ThreadPool pool(threads);
    std::vector<uint64_t> sink(static_cast<size_t>(threads) * 8);
    for (auto _ : state) {
        pool.parallel_for(threads, 1, [&](int64_t b, int64_t e) {
            for (int64_t p = b; p < e; ++p) {
                const size_t lo = words * p / threads, hi = words * (p + 1) / threads;
                if (copy) {
                    std::memcpy(dst.get() + lo, src.get() + lo, (hi - lo) * 8);
                    continue;
                }
                sink[p * 8] += read_words(src.get() + lo, hi - lo);
            }
        });
        benchmark::ClobberMemory();
    }
    benchmark::DoNotOptimize(sink.data());
    state.counters["GBps"] = benchmark::Counter(static_cast<double>(bytes) / 1e9,
                                                benchmark::Counter::kIsIterationInvariantRate);
}

const DType kTypes[] = {DType::kF32,  DType::kF16,  DType::kBF16, DType::kQ4_0, DType::kQ4_1,
                        DType::kQ5_0, DType::kQ5_1, DType::kQ8_0, DType::kQ2_K, DType::kQ3_K,
                        DType::kQ4_K, DType::kQ5_K, DType::kQ6_K};
const IsaLevel kIsas[] = {IsaLevel::kScalar, IsaLevel::kAvx2, IsaLevel::kAvx512};

void register_all(const std::vector<int>& thread_counts) {
    for (int threads : thread_counts) {
        for (size_t mib : {2, 12, 64, 1024}) {
            for (bool copy : {false, true}) {
                const std::string name = std::string("floor/") + (copy ? "memcpy" : "read") + "/t" +
                                         std::to_string(threads) + "/" + std::to_string(mib) +
                                         "MiB";
                benchmark::RegisterBenchmark(name.c_str(), bm_floor, copy, threads, mib << 20)
                    ->UseRealTime()
                    ->Unit(benchmark::kMillisecond);
            }
        }
    }
    struct Shape2 {
        int64_t n, k;
    };
    for (DType type : kTypes)
        for (IsaLevel isa : kIsas)
            for (int threads : thread_counts) {
                const std::string base = std::string(dtype_name(type)) + "/" + isa_name(isa) +
                                         "/t" + std::to_string(threads);
                // Llama-style square projection; a Gemma-3-270M-like vocabulary head
                // (262144 × 640) / 8 rows — K = 768 for the K-quants, whose 256-blocks do not
                // divide 640.
                const int64_t head_k = dtype_block_size(type) == 256 ? 768 : 640;
                const Shape2 matvec_shapes[] = {{2048, 2048}, {262144 / 8, head_k}};
                for (const Shape2& s : matvec_shapes)
                    for (bool hot : {false, true}) {
                        const std::string name = "matvec/" + base + "/N" + std::to_string(s.n) +
                                                 "xK" + std::to_string(s.k) + (hot ? "/hot" : "");
                        benchmark::RegisterBenchmark(name.c_str(), bm_matvec, type, isa, threads,
                                                     s.n, s.k, hot)
                            ->UseRealTime()
                            ->Unit(benchmark::kMicrosecond);
                    }
                const std::string name = "prefill/" + base + "/T512xN2048xK2048";
                benchmark::RegisterBenchmark(name.c_str(), bm_prefill, type, isa, threads, 512,
                                             2048, 2048)
                    ->UseRealTime()
                    ->Unit(benchmark::kMillisecond);
            }
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<int> thread_counts = {1, 2};
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg.rfind("--threads=", 0) != 0) continue;
        thread_counts.clear();
        for (size_t pos = 10; pos < arg.size();) {
            const size_t comma = std::min(arg.find(',', pos), arg.size());
            thread_counts.push_back(std::max(1, std::atoi(arg.substr(pos, comma - pos).c_str())));
            pos = comma + 1;
        }
        for (int j = i; j + 1 < argc; ++j) argv[j] = argv[j + 1];  // hide it from benchmark
        --argc;
        --i;
    }
    register_all(thread_counts);
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
