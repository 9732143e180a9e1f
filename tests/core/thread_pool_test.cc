#include "core/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <vector>

namespace unicorn {
namespace {

// Every index visited exactly once, across many back-to-back jobs of varying size and grain
// (the pattern of a decode step), with more threads than cores so workers get descheduled.
TEST(ThreadPool, EveryIndexExactlyOnceAcrossManyJobs) {
    for (int threads : {1, 2, 5}) {
        ThreadPool pool(threads);
        for (int job = 0; job < 2000; ++job) {
            const int64_t n = (job * 37) % 301;
            const int64_t grain = 1 + job % 7;
            std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
            pool.parallel_for(n, grain, [&](int64_t b, int64_t e) {
                for (int64_t i = b; i < e; ++i) hits[i].fetch_add(1);
            });
            for (int64_t i = 0; i < n; ++i)
                ASSERT_EQ(hits[i].load(), 1) << "job " << job << " index " << i;
        }
    }
}

TEST(ThreadPool, DefaultSizeIsPositive) {
    EXPECT_GE(ThreadPool::default_thread_count(), 1);
    ThreadPool pool;
    EXPECT_EQ(pool.size(), ThreadPool::default_thread_count());
}

}  // namespace
}  // namespace unicorn
