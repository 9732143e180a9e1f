// `unicorn quantize`: a model (a GGUF file, or an HF directory read through the converter) →
// a GGUF in llama.cpp's layout, each tensor in the type llama-quantize would give it
// (models/common/quant_policy.h), quantized by the reference quantizers (quant/quantize.h).
//
// The output is what llama-quantize writes for the same input and scheme: every metadata key
// of the input in order (split keys dropped), then general.quantization_version and
// general.file_type; tensors in llama.cpp's order, each padded to the alignment. Rows are
// spread over threads; every row is quantized on its own, so the bytes do not depend on the
// thread count. The file is written under a temporary name, renamed only when complete, and
// removed on any error.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/dtype.h"
#include "core/status.h"
#include "models/common/quant_policy.h"

namespace unicorn {

struct QuantizeOptions {
    std::string input;   // .gguf file or HF directory
    std::string output;  // .gguf file
    QuantRequest request;
    bool allow_requantize = false;  // quantized input tensors may be dequantized and requantized
    int threads = 0;                // 0: one per core
    // llama.cpp GGUF imatrix (models/importance_matrix.h): tensors with an entry are quantized
    // by the weighted quantizers, as llama-quantize --imatrix does, and the file gets its
    // quantize.imatrix.* keys.
    std::string imatrix_path;
    // Per-tensor types that replace the scheme's choice (the hybrid preset's); each must be a
    // quantizable tensor whose rows fit the type.
    std::map<std::string, DType> tensor_types;
    // Extra string keys written after llama.cpp's (e.g. the hybrid preset's choices).
    std::vector<std::pair<std::string, std::string>> extra_metadata;
};

// Reported after each chunk of rows (at most a few MiB) and once more when a tensor is done.
struct QuantizeProgress {
    int index = 0;  // tensor, in write order
    int count = 0;
    const std::string* name = nullptr;
    DType from = DType::kF32, to = DType::kF32;
    const Shape* shape = nullptr;
    int64_t rows_done = 0, rows = 0;  // of this tensor
    size_t bytes_in = 0;              // input bytes read so far, all tensors
    size_t total_bytes_in = 0;        // input bytes of all tensors
    size_t tensor_bytes_in = 0, tensor_bytes_out = 0;
};
using QuantizeProgressFn = std::function<void(const QuantizeProgress&)>;

struct QuantizeSummary {
    std::string scheme;
    int n_tensors = 0;
    int n_converted = 0;  // written in another type than the input's
    int n_fallback = 0;   // quantizable tensors whose rows did not fit the scheme's type
    int n_weighted = 0;   // quantized with importance weights (an imatrix entry)
    int64_t n_elements = 0;
    size_t input_tensor_bytes = 0, output_tensor_bytes = 0;
    uint64_t output_file_bytes = 0;
    double seconds = 0;
    std::map<std::string, int> output_types;  // type name → tensor count
};

// The temporary name the output is written under before the rename (the writer itself adds
// ".tmp" to it while writing): what an interrupted process must remove.
std::string quantize_temp_path(const std::string& output);

Result<QuantizeSummary> quantize_model(const QuantizeOptions& options,
                                       const QuantizeProgressFn& progress = {});

}  // namespace unicorn
