// NumPy .npy (format 1.0) for float32 C-order arrays: `unicorn logits` writes them and the
// tests read transformers' reference logits from them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace unicorn::io {

struct NpyArray {
    std::vector<int64_t> shape;
    std::vector<float> data;
};

// Writes to path + ".tmp" and renames on success.
Status write_npy_f32(const std::string& path, const std::vector<int64_t>& shape, const float* data);
// Reads '<f4' C-order arrays only; anything else is a clear error.
Result<NpyArray> read_npy_f32(const std::string& path);

}  // namespace unicorn::io
