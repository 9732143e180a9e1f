// The sampling flags shared by run and chat, with llama.cpp's names and defaults.
#pragma once

#include <CLI/CLI.hpp>

#include "runtime/sampler.h"

namespace unicorn::cli {

inline void add_sampling_flags(CLI::App& app, SamplingParams& p, int64_t& seed) {
    app.add_option("--temp", p.temperature, "Temperature; 0 = greedy")->capture_default_str();
    app.add_option("--top-k", p.top_k, "Top-k; 0 = off")->capture_default_str();
    app.add_option("--top-p", p.top_p, "Top-p (nucleus); 1 = off")->capture_default_str();
    app.add_option("--min-p", p.min_p, "Min-p; 0 = off")->capture_default_str();
    app.add_option("--repeat-penalty", p.repeat_penalty, "Repetition penalty; 1 = off")
        ->capture_default_str();
    app.add_option("--repeat-last-n", p.repeat_last_n, "Tokens the repetition penalty looks back")
        ->capture_default_str();
    app.add_option("-s,--seed", seed, "Random seed; -1 = random")->capture_default_str();
}

// -1 → a random seed (reported so a run can be repeated).
inline uint64_t resolve_seed(int64_t seed) {
    if (seed >= 0) return static_cast<uint64_t>(seed);
    return std::random_device{}();
}

}  // namespace unicorn::cli
