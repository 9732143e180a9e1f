#include "core/thread_pool.h"

#include <algorithm>
#include <fstream>
#include <set>
#include <string>
#include <utility>

#include "core/check.h"

namespace unicorn {

int ThreadPool::default_thread_count() {
    // Count distinct (physical id, core id) pairs: SMT siblings share SIMD units, and the
    // matmul kernels are SIMD-bound, so hyperthreads rarely help.
    std::ifstream in("/proc/cpuinfo");
    std::set<std::pair<int, int>> cores;
    std::string line;
    int phys = 0;
    while (std::getline(in, line)) {
        auto value = [&]() { return std::atoi(line.substr(line.find(':') + 1).c_str()); };
        if (line.rfind("physical id", 0) == 0) phys = value();
        if (line.rfind("core id", 0) == 0) cores.insert({phys, value()});
    }
    const int logical = static_cast<int>(std::thread::hardware_concurrency());
    const int physical = static_cast<int>(cores.size());
    if (physical > 0 && physical <= logical) return physical;
    return std::max(1, logical);
}

ThreadPool::ThreadPool(int n_threads) {
    n_threads_ = n_threads > 0 ? n_threads : default_thread_count();
    for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
    stop_.store(true);
    generation_.fetch_add(1);
    generation_.notify_all();
    for (auto& w : workers_) w.join();
}

void ThreadPool::run_chunks() {
    for (;;) {
        const int64_t begin = next_.fetch_add(grain_, std::memory_order_relaxed);
        if (begin >= n_) break;
        (*fn_)(begin, std::min(n_, begin + grain_));
    }
}

void ThreadPool::worker_loop(int /*index*/) {
    uint64_t seen = 0;
    for (;;) {
        uint64_t gen = generation_.load(std::memory_order_acquire);
        for (int spin = 0; gen == seen && spin < 20000; ++spin) {
#if defined(__x86_64__)
            __builtin_ia32_pause();
#endif
            gen = generation_.load(std::memory_order_acquire);
        }
        if (gen == seen) {
            generation_.wait(seen, std::memory_order_acquire);
            continue;
        }
        seen = gen;
        if (stop_.load()) return;
        run_chunks();
        active_.fetch_sub(1, std::memory_order_acq_rel);
    }
}

void ThreadPool::parallel_for(int64_t n, int64_t grain,
                              const std::function<void(int64_t, int64_t)>& fn) {
    if (n <= 0) return;
    grain = std::max<int64_t>(1, grain);
    if (n_threads_ == 1 || n <= grain) {
        fn(0, n);
        return;
    }
    n_ = n;
    grain_ = grain;
    fn_ = &fn;
    next_.store(0, std::memory_order_relaxed);
    active_.store(n_threads_ - 1, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_acq_rel);
    generation_.notify_all();
    run_chunks();
    while (active_.load(std::memory_order_acquire) != 0) {
#if defined(__x86_64__)
        __builtin_ia32_pause();
#endif
    }
    fn_ = nullptr;
}

}  // namespace unicorn
