// A loaded model: its description, the KV layout it needs, and forward().
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "exec/batch.h"
#include "exec/exec_context.h"

namespace unicorn {

// One layer's KV needs: row width (kv_heads·head_dim) and window (0 = every position).
// A layer with `source` >= 0 stores nothing and reads layer `source`'s cache (Gemma 3n's
// KV-shared layers); its width and window equal the source's.
struct KvLayerSpec {
    int64_t width = 0;
    int32_t window = 0;
    int32_t source = -1;
};

struct ModelInfo {
    std::string architecture;   // "llama", "gemma3"
    std::string source_format;  // "gguf" or "safetensors"
    std::string path;
    int64_t n_layers = 0, d_model = 0, n_heads = 0, n_kv_heads = 0, head_dim = 0, d_ff = 0;
    int64_t vocab = 0;
    int64_t context_length = 0;  // trained context (0 if unknown)
    int32_t bos_token = -1;
    int64_t n_params = 0;
    size_t weight_bytes = 0;  // bytes of every tensor the model uses
    // Of weight_bytes, the tables that stay in host memory and are only gathered per token
    // (Gemma 3n's per-layer embeddings); `info` reports the split.
    size_t host_gathered_bytes = 0;
    std::map<std::string, int64_t> tensor_types;             // dtype name → tensor count
    std::vector<std::pair<std::string, std::string>> hyper;  // extra "key: value" lines for `info`
    // The GGUF name of each weight WeightLoader::weight loaded, by its data pointer: how an
    // ExecContext linear observer (importance-matrix collection) names the weight it sees.
    std::unordered_map<const void*, std::string> weight_names;
};

class Model {
  public:
    virtual ~Model() = default;
    virtual const ModelInfo& info() const = 0;
    virtual const std::vector<KvLayerSpec>& kv_layout() const = 0;
    // Logits for the batch: for each chunk in order, one row per token (all_logits) or one row
    // for its last token. F32 [rows, vocab]. Errors (bad ids, KV full) come back as Status.
    virtual Result<Tensor> forward(ExecContext& ctx, std::span<const SequenceChunk> batch) = 0;
};

}  // namespace unicorn
