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
    for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this] { worker_loop(); });
}

ThreadPool::~ThreadPool() {
    stop_.store(true);
    generation_.fetch_add(1);
    generation_.notify_all();
    for (auto& w : workers_) w.join();
}

void ThreadPool::run_chunks(Job& job) {
    for (;;) {
        const int64_t begin = job.next.fetch_add(job.grain);
        if (begin >= job.n) break;
        const int64_t end = std::min(job.n, begin + job.grain);
        (*job.fn)(begin, end);
        job.done.fetch_add(end - begin);
    }
}

void ThreadPool::worker_loop() {
    uint64_t seen = 0;
    for (;;) {
        uint64_t gen = generation_.load();
        for (int spin = 0; gen == seen && spin < 20000; ++spin) {
#if defined(__x86_64__)
            __builtin_ia32_pause();
#endif
            gen = generation_.load();
        }
        if (gen == seen) {
            generation_.wait(seen);
            continue;
        }
        if (stop_.load()) return;
        // Enter the job's slot, then confirm it is still the published job; if the caller has
        // moved on, leave and look again.
        Job& job = jobs_[gen % 2];
        job.in_flight.fetch_add(1);
        if (generation_.load() == gen) run_chunks(job);
        job.in_flight.fetch_sub(1);
        seen = gen;
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
    const uint64_t gen = generation_.load() + 1;
    Job& job = jobs_[gen % 2];
    while (job.in_flight.load() != 0) {
#if defined(__x86_64__)
        __builtin_ia32_pause();
#endif
    }
    job.n = n;
    job.grain = grain;
    job.fn = &fn;
    job.next.store(0);
    job.done.store(0);
    generation_.store(gen);
    generation_.notify_all();
    run_chunks(job);
    while (job.done.load() != n) {
#if defined(__x86_64__)
        __builtin_ia32_pause();
#endif
    }
}

}  // namespace unicorn
