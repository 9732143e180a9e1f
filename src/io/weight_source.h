// WeightSource: the one interface model loaders read weights through, whatever the file
// format: name → Tensor view (dtype, PyTorch-order shape, mmapped bytes).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "io/gguf.h"
#include "io/safetensors.h"

namespace unicorn::io {

class WeightSource {
  public:
    virtual ~WeightSource() = default;

    virtual std::string format() const = 0;       // "gguf" or "safetensors"
    virtual const std::string& path() const = 0;  // what was opened
    virtual std::vector<std::string> list() const = 0;
    virtual bool has(const std::string& name) const = 0;
    // A view that keeps its file mapped. not_found names the tensor and the file; unsupported
    // when the tensor's type cannot be computed with (safetensors I64, ...).
    virtual Result<Tensor> get(const std::string& name) const = 0;
};

class GgufWeightSource : public WeightSource {
  public:
    explicit GgufWeightSource(std::shared_ptr<const GgufFile> file) : file_(std::move(file)) {}
    static Result<std::unique_ptr<GgufWeightSource>> open(const std::string& path);

    std::string format() const override { return "gguf"; }
    const std::string& path() const override { return file_->path(); }
    std::vector<std::string> list() const override;  // file order
    bool has(const std::string& name) const override { return file_->tensor(name) != nullptr; }
    Result<Tensor> get(const std::string& name) const override { return file_->tensor_view(name); }

    // The metadata a GGUF model is configured from.
    const GgufFile& gguf() const { return *file_; }
    const std::shared_ptr<const GgufFile>& gguf_ptr() const { return file_; }

  private:
    std::shared_ptr<const GgufFile> file_;
};

class SafetensorsWeightSource : public WeightSource {
  public:
    explicit SafetensorsWeightSource(SafetensorsModel model) : model_(std::move(model)) {}
    static Result<std::unique_ptr<SafetensorsWeightSource>> open(const std::string& path);

    std::string format() const override { return "safetensors"; }
    const std::string& path() const override { return model_.path(); }
    std::vector<std::string> list() const override { return model_.names(); }  // sorted
    bool has(const std::string& name) const override { return model_.has(name); }
    Result<Tensor> get(const std::string& name) const override { return model_.tensor_view(name); }

    const SafetensorsModel& model() const { return model_; }

  private:
    SafetensorsModel model_;
};

// Opens weights by path: a .gguf file; a .safetensors file or an index .json; a folder with
// safetensors (sharded or not), or else exactly one .gguf file. Other files are recognised by
// their first bytes.
Result<std::unique_ptr<WeightSource>> open_weights(const std::string& path);

}  // namespace unicorn::io
