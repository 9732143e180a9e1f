// A kernel test run once per ISA level (scalar, AVX2, AVX-512): skips levels this CPU lacks and
// restores the widest path afterwards.
#pragma once

#include <gtest/gtest.h>

#include <random>

#include "core/cpu_features.h"
#include "core/thread_pool.h"

namespace unicorn::testing {

class IsaTest : public ::testing::TestWithParam<IsaLevel> {
  protected:
    explicit IsaTest(uint32_t seed) : rng_(seed) {}
    void SetUp() override {
        if (static_cast<int>(GetParam()) > static_cast<int>(detected_isa()))
            GTEST_SKIP() << "this CPU lacks " << isa_name(GetParam());
        set_isa_override(GetParam());
    }
    void TearDown() override { set_isa_override(IsaLevel::kAvx512); }
    ThreadPool pool_{3};
    std::mt19937 rng_;
};

}  // namespace unicorn::testing
