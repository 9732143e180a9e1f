// Loading the transformers fixtures (tools/make_fixtures.py) and running models on them.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "backend/registry.h"
#include "exec/exec_context.h"
#include "io/npy.h"
#include "models/registry.h"
#include "runtime/session.h"

namespace unicorn::testing {

// UNICORN_TEST_DATA in the environment overrides the build's path (the GPU machine runs these
// binaries from another checkout path, tools/gpu/check.sh).
inline std::string test_data_dir() {
    const char* env = std::getenv("UNICORN_TEST_DATA");
    return env != nullptr && *env != 0 ? env : UNICORN_TEST_DATA;
}

inline std::string fixture_dir(const std::string& name) {
    return test_data_dir() + "/models/" + name;
}

struct Golden {
    std::vector<int32_t> prompt;
    std::vector<int32_t> greedy;
    io::NpyArray logits;  // [T, V]
};

inline Golden load_golden(const std::string& name) {
    Golden g;
    std::ifstream in(fixture_dir(name) + "/golden.json");
    nlohmann::json j = nlohmann::json::parse(in);
    g.prompt = j["prompt"].get<std::vector<int32_t>>();
    g.greedy = j["greedy"].get<std::vector<int32_t>>();
    auto l = io::read_npy_f32(fixture_dir(name) + "/logits.npy");
    EXPECT_TRUE(l.ok()) << l.status().to_string();
    if (l.ok()) g.logits = std::move(*l);
    return g;
}

// A model with its own backend and context, ready for sessions.
struct Runner {
    ThreadPool pool{2};
    std::unique_ptr<Backend> cpu, device;
    std::unique_ptr<ExecContext> ctx;
    std::unique_ptr<Model> model;

    // `device` "cpu" or a GPU backend ("cuda"); the caller checks it exists first.
    explicit Runner(const std::string& path, const LoadOptions& options = {},
                    const std::string& device_name = "cpu") {
        cpu = std::move(create_backend("cpu", pool).value());
        device =
            device_name == "cpu" ? nullptr : std::move(create_backend(device_name, pool).value());
        ctx = std::make_unique<ExecContext>(device ? *device : *cpu, *cpu);
        auto m = load_model(path, options);
        EXPECT_TRUE(m.ok()) << m.status().to_string();
        if (m.ok()) model = std::move(*m);
    }
    Session session(int32_t chunk = 256, int32_t context = 64) {
        return Session(*model, *ctx, SessionOptions{context, chunk});
    }
    // The golden prompt prefilled in chunks of `chunk`, then as many greedy tokens as the
    // golden has; empty (with a test failure recorded) on an error.
    std::vector<int32_t> greedy_after(const Golden& g, int32_t chunk = 256) {
        Session s = session(chunk);
        auto logits = s.prefill(g.prompt, false);
        EXPECT_TRUE(logits.ok()) << logits.status().to_string();
        if (!logits.ok()) return {};
        auto next = s.greedy(*logits, static_cast<int>(g.greedy.size()));
        EXPECT_TRUE(next.ok()) << next.status().to_string();
        return next.ok() ? *next : std::vector<int32_t>{};
    }
    // Teacher-forced logits of `tokens` in chunks of `chunk`.
    Tensor logits(const std::vector<int32_t>& tokens, int32_t chunk = 256) {
        Session s = session(chunk);
        auto r = s.prefill(tokens, true);
        EXPECT_TRUE(r.ok()) << r.status().to_string();
        return r.ok() ? *r : Tensor();
    }
};

// Worst position of max_v |a - b| / max_v |ref|.
inline double worst_relative_row_error(const Tensor& got, const float* ref, int64_t rows,
                                       int64_t cols) {
    double worst = 0;
    for (int64_t r = 0; r < rows; ++r) {
        double err = 0, scale = 0;
        for (int64_t c = 0; c < cols; ++c) {
            const double want = ref[r * cols + c];
            const double d = std::fabs(static_cast<double>(got.row<float>(r)[c]) - want);
            err = std::isnan(d) ? INFINITY : std::max(err, d);
            scale = std::max(scale, std::fabs(want));
        }
        worst = std::max(worst, err / std::max(scale, 1e-30));
    }
    return worst;
}

inline double worst_relative_row_error(const Tensor& got, const Tensor& ref) {
    std::vector<float> flat(static_cast<size_t>(ref.numel()));
    for (int64_t r = 0; r < ref.rows(); ++r)
        std::memcpy(flat.data() + r * ref.cols(), ref.row<float>(r), ref.row_bytes());
    return worst_relative_row_error(got, flat.data(), ref.rows(), ref.cols());
}

}  // namespace unicorn::testing
