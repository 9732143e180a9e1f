// Maps an architecture name to its loader and GGUF exporter. registry.cc is the only file
// that lists architectures.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "models/common/matformer.h"
#include "models/model.h"

namespace unicorn {

class ModelFiles;
namespace io {
class GgufWriter;
}

// How to build the model from its files.
struct LoadOptions {
    std::optional<MatFormerSpec> matformer;  // Gemma 3n only: load a nested sub-model
};

struct ArchitectureEntry {
    const char* gguf_name;                    // general.architecture
    std::vector<std::string> hf_model_types;  // config.json model_type values
    Result<std::unique_ptr<Model>> (*load)(std::shared_ptr<ModelFiles> files,
                                           const LoadOptions& options);
    // Writes the model's metadata and tensors (HF input) in llama.cpp's GGUF layout.
    Status (*export_gguf)(const ModelFiles& files, io::GgufWriter& writer);
};

// MODEL is a .gguf file or an HF directory (config.json + *.safetensors).
Result<std::unique_ptr<Model>> load_model(const std::string& path, const LoadOptions& options = {});
// HF directory → GGUF (tensors keep their dtype: F32/F16/BF16).
Status convert_to_gguf(const std::string& in_dir, const std::string& out_path);
// What convert_to_gguf writes, staged in `w` without writing it (tensors are views of the input
// where no fix-up changed them): for callers that transform the tensors first (the quantizer).
Status stage_conversion(const std::string& in_dir, io::GgufWriter& w);
std::vector<std::string> supported_architectures();

}  // namespace unicorn
