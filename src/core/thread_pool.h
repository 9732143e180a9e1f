// A fixed pool of worker threads for data-parallel kernels. The calling thread takes part,
// so a pool of N threads has N-1 workers. Workers spin briefly before sleeping because a
// decode step issues hundreds of short parallel regions; a futex round trip for each would
// dominate small models.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <thread>
#include <vector>

namespace unicorn {

class ThreadPool {
  public:
    // n_threads <= 0: one per hardware core (see default_thread_count()).
    explicit ThreadPool(int n_threads = 0);
    ~ThreadPool();
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    int size() const { return n_threads_; }

    // Calls fn(begin, end) over [0, n) in chunks of about `grain` items, on all threads.
    // Returns when every chunk is done. Not re-entrant: fn must not call parallel_for.
    void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

    // Physical cores where the OS tells them apart, else logical CPUs.
    static int default_thread_count();

  private:
    // Jobs alternate between two slots so a late worker never reads a job while the caller
    // writes the next one: the caller reuses a slot only when no worker is inside it.
    // Completion counts finished items, not workers, so the caller never waits for a worker
    // that is asleep or descheduled (it just takes the remaining chunks itself).
    struct Job {
        std::atomic<int> in_flight{0};
        std::atomic<int64_t> next{0};
        std::atomic<int64_t> done{0};
        int64_t n = 0;
        int64_t grain = 1;
        const std::function<void(int64_t, int64_t)>* fn = nullptr;
    };
    void worker_loop();
    static void run_chunks(Job& job);

    int n_threads_ = 1;
    std::vector<std::thread> workers_;
    std::atomic<uint64_t> generation_{0};
    std::atomic<bool> stop_{false};
    Job jobs_[2];
};

}  // namespace unicorn
