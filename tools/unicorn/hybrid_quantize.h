// `unicorn quantize IN OUT hybrid --target-kld X`: per-tensor types chosen from measured
// sensitivity (models/hybrid_plan.h for the selection; docs/quantization.md, "Hybrid preset",
// for the method and the numbers).
//
//  1. Base: IN itself (F32/F16/BF16 tensors). Its log-probabilities on the first
//     --calib-chunks chunks of --ctx tokens of the calibration text are kept in memory.
//  2. Sensitivity: for each group (layer × kind, and the tensors outside the blocks), a copy of
//     IN with only that group quantized to a probe type (Q4_K, or Q4_0 where K-blocks do not
//     fit the rows; weighted by --imatrix when given) is written to a temporary directory and
//     evaluated: its mean KLD from the base is the group's measured contribution.
//  3. Other types: each group's contribution at type t is predicted as the probe's scaled by
//     the ratio of the quantization error energies Σ importance·(w − q)² (over sampled rows)
//     of t and the probe — the error a layer's output sees, to first order.
//  4. The plan (models/hybrid_plan.h): greedy on KLD reduction per byte until the predicted
//     sum is at most the target, then the largest downgrades that keep it there.
//  5. OUT is written with those types; the plan goes into the metadata (quantize.hybrid.*).
//  6. With --eval-text, the real KLD, top-1 agreement and perplexity of OUT against IN are
//     measured on that (held-out) text and printed next to the prediction.
#pragma once

#include <string>

namespace unicorn::cli {

struct HybridFlags {
    std::string input, output;
    double target_kld = 0;
    std::string calib;      // calibration text ("": the fetched evaluation text)
    std::string eval_text;  // held-out text for the final measurement ("": none)
    std::string imatrix;
    int ctx = 512;
    int calib_chunks = 1;
    int eval_chunks = 8;
    int threads = 0;
    bool allow_requantize = false;
};

int run_hybrid_quantize(const HybridFlags& flags);

}  // namespace unicorn::cli
