// An importance matrix read from llama.cpp's GGUF imatrix format (what `unicorn eval --imatrix`
// and llama-imatrix write): per linear weight W, "W.in_sum2" (F32, Σ x² of each input column
// over the calibration tokens) and "W.counts" (F32, the token count), plus imatrix.datasets
// and imatrix.chunk_count. Loaded as llama-quantize loads it (tools/quantize, load_imatrix):
// each column's importance is in_sum2 / count, computed in float; a weight never seen (count 0)
// gets importance 1 everywhere.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/status.h"

namespace unicorn {

struct ImportanceMatrix {
    std::string path;                                             // as given
    std::unordered_map<std::string, std::vector<float>> entries;  // weight name → [K]
    std::vector<std::string> datasets;                            // imatrix.datasets
    int64_t chunk_count = 0;                                      // imatrix.chunk_count

    const std::vector<float>* find(const std::string& weight) const {
        auto it = entries.find(weight);
        return it == entries.end() ? nullptr : &it->second;
    }
};

// Errors name the file and the problem: not a GGUF, not an imatrix (no imatrix.* metadata —
// llama.cpp's older .dat format is not read), a sum without its count or the reverse, a
// non-F32 tensor, counts that do not divide the sums (one count per expert), or a value that
// is negative or not finite.
Result<ImportanceMatrix> load_importance_matrix(const std::string& path);

}  // namespace unicorn
