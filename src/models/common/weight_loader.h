// Loading an architecture's tensors by their GGUF names from either format: names are mapped
// through the architecture's NameTable for HF directories, shapes are checked, and every
// tensor is counted into ModelInfo (bytes, parameters, types) for `unicorn info`.
#pragma once

#include <memory>
#include <string>

#include "models/common/blocks.h"
#include "models/common/model_files.h"
#include "models/common/naming.h"
#include "models/model.h"
#include "models/registry.h"

namespace unicorn {

class WeightLoader {
  public:
    WeightLoader(const ModelFiles& files, const NameTable& names, ModelInfo& info)
        : files_(files), names_(names), info_(info) {}

    // The HF name in HF directories, the GGUF name otherwise.
    std::string source_name(const std::string& gguf_name) const;
    bool has(const std::string& gguf_name) const {
        return files_.has_tensor(source_name(gguf_name));
    }
    Result<Tensor> weight(const std::string& gguf_name, Shape shape);
    // An F32 copy of a norm weight; `hf_offset` is added for HF input only (Gemma's 1+w, which
    // llama.cpp's converter already folded into GGUF files).
    Result<Tensor> norm(const std::string& gguf_name, int64_t n, float hf_offset);
    // An owned F32 copy of a small parameter tensor (coefficient matrices, scale rows), shaped.
    Result<Tensor> f32(const std::string& gguf_name, Shape shape);
    // Counts a tensor loaded some other way (by its HF name) into ModelInfo.
    void count(const Tensor& t);

    // q/k/v/o of layer `l` ([H·Dh, D], [Hkv·Dh, D] ×2, [D, H·Dh]).
    Status attention(int l, int64_t d_model, int64_t q_width, int64_t kv_width,
                     blocks::AttentionWeights* w);
    // gate/up/down of layer `l` ([F, D] ×2, [D, F]).
    Status mlp(int l, int64_t d_model, int64_t d_ff, blocks::MlpWeights* w);

  private:
    const ModelFiles& files_;
    const NameTable& names_;
    ModelInfo& info_;
};

// The ArchitectureEntry::load of a Model class with `Status load(shared_ptr<ModelFiles>)` or,
// for architectures with load options, `Status load(shared_ptr<ModelFiles>, const LoadOptions&)`.
template <class M>
Result<std::unique_ptr<Model>> load_architecture(std::shared_ptr<ModelFiles> files,
                                                 const LoadOptions& options) {
    auto m = std::make_unique<M>();
    if constexpr (requires { m->load(files, options); }) {
        UNI_RETURN_IF_ERROR(m->load(std::move(files), options));
    } else {
        UNI_RETURN_IF_ERROR(m->load(std::move(files)));
    }
    return std::unique_ptr<Model>(std::move(m));
}

}  // namespace unicorn
