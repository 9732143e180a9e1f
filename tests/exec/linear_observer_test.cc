// ExecContext's linear observer: called once per linear with the weight and the exact input,
// before the op runs; not called once removed or after the context has failed.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "backend/cpu/cpu_backend.h"
#include "exec/exec_context.h"
#include "exec/graph_ops.h"
#include "test_util.h"

namespace unicorn {
namespace {

TEST(LinearObserver, SeesEachLinearsWeightAndInput) {
    ThreadPool pool(2);
    CpuBackend cpu(pool);
    ExecContext ctx(cpu, cpu);
    std::mt19937 rng(5);
    Tensor x = testing::random_f32(rng, 3, 16, 1.0f, /*pad_cols=*/4);  // strided [3, 16]
    Tensor w = testing::random_f32(rng, 8, 16);                        // [8, 16]
    struct Seen {
        const void* weight;
        Tensor input;  // a copy: the view is valid only during the call
    };
    std::vector<Seen> seen;
    ctx.set_linear_observer([&](const Tensor& weight, const Tensor& in) {
        Tensor copy = Tensor::empty(DType::kF32, in.shape());
        for (int64_t r = 0; r < in.rows(); ++r)
            std::copy_n(in.row<float>(r), in.cols(), copy.row<float>(r));
        seen.push_back({weight.data(), copy});
    });
    Tensor w2 = testing::random_f32(rng, 4, 8);  // [4, 8]
    Tensor y = ops::linear(ctx, x, w);           // [3, 8]
    ops::linear(ctx, y, w2);
    ASSERT_TRUE(ctx.status().ok());
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[0].weight, w.data());
    EXPECT_EQ(testing::max_abs_diff(seen[0].input, x), 0.0);
    EXPECT_EQ(seen[1].weight, w2.data());
    EXPECT_EQ(testing::max_abs_diff(seen[1].input, y), 0.0);

    ctx.set_linear_observer(nullptr);
    ops::linear(ctx, x, w);
    EXPECT_EQ(seen.size(), 2u);

    int calls = 0;
    ctx.set_linear_observer([&](const Tensor&, const Tensor&) { ++calls; });
    ctx.fail(invalid_argument("an earlier op failed"));
    ops::linear(ctx, x, w);
    EXPECT_EQ(calls, 0);  // a failed context runs nothing and observes nothing
}

}  // namespace
}  // namespace unicorn
