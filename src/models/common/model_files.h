// The files a model is loaded from — a GGUF file or an HF directory (config.json +
// safetensors) — behind one interface: tensors by name (mmapped views) and typed metadata
// lookups for each format. Architecture files read their hyperparameters through this.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"

namespace unicorn {
namespace io {
class GgufFile;
class HfConfig;
class WeightSource;
}  // namespace io

class ModelFiles {
  public:
    static Result<std::shared_ptr<ModelFiles>> open(const std::string& path);
    ~ModelFiles();

    bool is_gguf() const { return gguf_ != nullptr; }
    const std::string& path() const { return path_; }
    // GGUF: general.architecture. HF: config.json model_type mapped to the GGUF name
    // ("gemma3_text" → "gemma3").
    const std::string& architecture() const { return arch_; }

    // GGUF metadata ("llama.block_count"). nullopt when absent; an error when present with a
    // type that cannot hold the value.
    Result<std::optional<int64_t>> gguf_int(const std::string& key) const;
    Result<std::optional<double>> gguf_float(const std::string& key) const;
    Result<std::optional<std::string>> gguf_string(const std::string& key) const;
    Result<int64_t> gguf_int_required(const std::string& key) const;
    Result<std::optional<std::vector<bool>>> gguf_bool_array(const std::string& key) const;
    // A number or an array of numbers (integers or floats, ±inf allowed), as doubles.
    Result<std::optional<std::vector<double>>> gguf_numbers(const std::string& key) const;

    // config.json (text_config first, then top level).
    const io::HfConfig& hf() const { return *hf_; }

    bool has_tensor(const std::string& name) const;
    // A view of the named tensor; shape must equal `expect` (PyTorch order) when given.
    Result<Tensor> tensor(const std::string& name,
                          std::optional<Shape> expect = std::nullopt) const;
    std::vector<std::string> tensor_names() const;

  private:
    ModelFiles() = default;
    std::string path_;
    std::string arch_;
    std::unique_ptr<io::GgufFile> gguf_;
    std::unique_ptr<io::HfConfig> hf_;
    std::unique_ptr<io::WeightSource> weights_;
};

// Loads a norm weight [n] as an owned F32 tensor, adding `offset` (Gemma 3 stores w with
// y = x̂·(1+w) in HF checkpoints; GGUF files already hold 1+w).
Result<Tensor> load_norm(const ModelFiles& f, const std::string& name, int64_t n, float offset);

}  // namespace unicorn
