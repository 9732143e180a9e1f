// What `unicorn eval` prints: the running per-chunk line and the final report, as a table in
// llama-perplexity's wording (so the two outputs read side by side) or as one JSON object.
#pragma once

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "runtime/eval_metrics.h"

namespace unicorn::cli {

struct EvalRun {
    std::string model, text;
    int64_t text_tokens = 0;  // the whole tokenized text
    int32_t n_ctx = 0, n_chunks = 0, scored_per_chunk = 0;
    int threads = 0;
    std::string save_logits, kl_base, imatrix;  // paths, "" when unused
};

struct EvalResult {
    eval::PerplexityStats ppl;
    std::vector<double> running_ppl;  // after each chunk
    double seconds = 0;               // forward passes and scoring
    int64_t evaluated = 0;            // tokens run through the model
    std::optional<eval::KlSummary> kl;
    std::string base_model;  // as recorded in the --kl-base file
};

// The line after chunk `chunk` (1-based): "[n]PPL," as llama-perplexity, or with a base, its
// KL table row (PPL, ln ratio, KLD, Δp RMS, same top p, each ± error).
void print_chunk_line(std::FILE* out, int chunk, const eval::PerplexityStats& ppl,
                      const eval::KlSummary* kl);
// The header of the KL table, printed before the first chunk line.
void print_kl_table_header(std::FILE* out);
void print_report(std::FILE* out, const EvalRun& run, const EvalResult& r);
std::string report_json(const EvalRun& run, const EvalResult& r);

}  // namespace unicorn::cli
