// Importance matrix: per linear weight, the sum over evaluated tokens of each input column's
// squared activation, Σ_t x[t, k]², and the number of tokens — what importance-weighted
// quantization reads (llama.cpp's llama-imatrix and llama-quantize --imatrix).
//
// Collected through ExecContext's linear observer; weights are named by their data pointer
// (ModelInfo::weight_names). As llama-imatrix does by default, only the "blk.*" weights are
// kept: the output head (and Gemma's tied token_embd) is left out. Unlike llama-imatrix, calls
// with fewer than 16 rows are not skipped: `unicorn eval` only runs whole chunks.
//
// The file is llama.cpp's GGUF imatrix format (tools/imatrix/imatrix.cpp, save_imatrix): for
// each weight W, tensors "W.in_sum2" (F32 [K]) and "W.counts" (F32 [1]), weights in name
// order, and the keys general.type = "imatrix", imatrix.datasets (string array),
// imatrix.chunk_count and imatrix.chunk_size (u32). Sums are accumulated in double. Checked
// against llama-imatrix (same model, text and chunks): the same tensors, shapes, keys and
// counts; sums within 2 % (docs/quantization.md).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "exec/exec_context.h"

namespace unicorn::eval {

struct ImatrixEntry {
    std::vector<double> sum_sq;  // [K]
    int64_t count = 0;           // tokens seen
};

struct ImatrixMeta {
    std::vector<std::string> datasets;  // the text files
    int32_t chunk_count = 0;
    int32_t chunk_size = 0;
};

class ImatrixCollector {
  public:
    // `names`: weight data pointer → GGUF name; must outlive the collector.
    explicit ImatrixCollector(const std::unordered_map<const void*, std::string>& names)
        : names_(names) {}

    // Installs observe() as ctx's linear observer (detach() removes it).
    void attach(ExecContext& ctx);
    static void detach(ExecContext& ctx) { ctx.set_linear_observer(nullptr); }

    // Adds x [T, K] (F32, host) to the weight's sums when the weight is a named "blk." one.
    void observe(const Tensor& weight, const Tensor& x);

    const std::map<std::string, ImatrixEntry>& entries() const { return entries_; }
    // The first inconsistency seen (one weight observed with two input widths), else OK.
    const Status& status() const { return status_; }

    // Writes the GGUF imatrix file (through a temporary name).
    Status write(const std::string& path, const ImatrixMeta& meta) const;

  private:
    const std::unordered_map<const void*, std::string>& names_;
    std::map<std::string, ImatrixEntry> entries_;
    Status status_;
};

}  // namespace unicorn::eval
