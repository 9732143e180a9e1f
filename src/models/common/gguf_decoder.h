// The GGUF side shared by the decoder architectures: the hyperparameter keys every decoder
// carries (llama.cpp's names under the architecture prefix), read and written, and the HF → GGUF
// tensor copy loop.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "models/common/model_files.h"
#include "models/common/naming.h"

namespace unicorn {
namespace io {
class GgufWriter;
class HfConfig;
}  // namespace io

struct DecoderKeys {
    std::string arch;  // general.architecture and the key prefix
    int64_t d_model = 0, n_layers = 0, n_heads = 0, n_kv_heads = 0, head_dim = 0, d_ff = 0;
    int64_t context = 0;
    float rms_eps = 1e-6f;
    double rope_base = 10000.0;
    int32_t bos = -1;  // tokenizer.ggml.bos_token_id when >= 0
    // feed_forward_length as a per-layer array (Gemma 3n, MatFormer slices); empty when it is
    // one number (then d_ff). When set, d_ff is its maximum.
    std::vector<int64_t> d_ff_per_layer;
};
void write_decoder_keys(io::GgufWriter& w, const DecoderKeys& k);
// Reads them; `defaults` supplies the arch name and the values of optional keys (head_dim 0:
// d_model / n_heads). Required: embedding_length, block_count, head_count, feed_forward_length.
Result<DecoderKeys> read_decoder_keys(const ModelFiles& f, const DecoderKeys& defaults);

// The same keys from config.json (text_config first): hidden_size, num_hidden_layers,
// num_attention_heads, num_key_value_heads, head_dim (default: `defaults.head_dim`, or
// hidden/heads when 0), rms_norm_eps, max_position_embeddings and a single bos_token_id
// (absent, null or a list leave `defaults.bos`). Not the FFN width, whose form differs.
Result<DecoderKeys> read_hf_decoder_keys(const io::HfConfig& h, const DecoderKeys& defaults);

// Which layers use sliding-window attention (true) — config.json `layer_types`, else a period
// (`sliding_window_pattern`, every period-th layer global); GGUF `<arch>.attention.
// sliding_window_pattern` as a bool array, else llama.cpp's fixed `default_period`.
Result<std::vector<bool>> hf_sliding_layers(const io::HfConfig& h, int64_t n_layers,
                                            int64_t default_period);
Result<std::vector<bool>> gguf_sliding_layers(const ModelFiles& f, const std::string& arch,
                                              int64_t n_layers, int64_t default_period);

// The tensor to write for a GGUF name, given the HF tensor (per-format fix-ups go here). An HF
// tensor the checkpoint lacks arrives undefined: return a stand-in, or an undefined tensor for
// "not found".
using ExportFixup = std::function<Result<Tensor>(const std::string& gguf_name, Tensor hf)>;
// Copies, in table order, each global the source holds and every per-layer tensor of
// n_layers layers, through `fixup`.
Status export_tensors(const ModelFiles& f, const NameTable& names, int64_t n_layers,
                      const ExportFixup& fixup, io::GgufWriter& w);

}  // namespace unicorn
