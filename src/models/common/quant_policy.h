// Which type each tensor of a model gets when it is quantized to a scheme such as Q4_K_M: the
// rules of llama.cpp's quantizer (src/llama-quant.cpp at commit 0c1e57098 —
// tensor_allows_quantization, llama_tensor_get_type, tensor_type_fallback), re-derived from that
// source so that `unicorn quantize` gives every tensor the type llama-quantize gives it. Only
// the cases that can arise for the architectures we load (llama, gemma3, gemma3n) without an
// importance matrix (or with one, for the schemes above) are implemented; i-quant schemes, MoE
// and Falcon rules are not.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/dtype.h"
#include "core/shape.h"
#include "core/status.h"

namespace unicorn {

// A quantization scheme as llama-quantize names it.
struct QuantScheme {
    const char* name;    // "Q4_K_M"
    uint32_t file_type;  // llama.cpp's llama_ftype: the general.file_type value (15)
    DType base;          // the type tensors get unless a rule says otherwise (Q4_K)
};

// Every scheme `unicorn quantize` accepts, in the order the help lists them.
std::span<const QuantScheme> quant_schemes();
// Case-insensitive; also llama-quantize's aliases Q3_K, Q4_K and Q5_K for the _M mixes. The
// error names every valid scheme.
Result<QuantScheme> find_quant_scheme(std::string_view name);
// One tensor type for --output-tensor-type / --token-embedding-type ("q6_k", "F16"): a type
// the quantizer can write; the error names them.
Result<DType> parse_quant_tensor_type(std::string_view name);

// What the rules need to know about the model, from its metadata.
struct QuantModelFacts {
    std::string arch;        // general.architecture
    int64_t n_layers = 0;    // <arch>.block_count: ffn_down's position is counted against it
    int64_t n_heads = 0;     // layer 0's query and key/value head counts (Q2_K's attn_v rule
    int64_t n_kv_heads = 0;  // looks at the grouped-query factor n_heads / n_kv_heads)
};

struct QuantRequest {
    QuantScheme scheme;
    bool pure = false;  // no mix: every quantizable tensor gets scheme.base (or its fallback)
    // An importance matrix is used: with Q4_0/Q5_0, llama.cpp then gives the first eighth of
    // the ffn_down tensors Q4_1/Q5_1.
    bool has_imatrix = false;
    std::optional<DType> output_type;      // output.weight
    std::optional<DType> token_embd_type;  // token_embd.weight and per_layer_token_embd.weight
};

struct QuantTensor {
    std::string name;
    DType dtype;  // as stored in the input
    Shape shape;  // PyTorch order, without leading 1s (ggml's n_dims)
};

struct QuantChoice {
    DType type;        // what to write
    bool quantizable;  // llama.cpp considers it at all (a 2-D+ weight, not a norm, …)
    bool fell_back;    // the scheme's type does not fit the row length; `type` is the fallback
};

// llama.cpp's write order: tensors outside the blocks first, then block by block in numeric
// order ("blk.2." before "blk.10."), names in byte order within each group.
bool llama_cpp_tensor_less(const std::string& a, const std::string& b);

// The type of each tensor, which must come in llama_cpp_tensor_less order: the mixes count the
// attn_v and ffn_down tensors in that order. invalid_argument when an explicit
// --output-tensor-type / --token-embedding-type does not fit a tensor's row length (llama.cpp
// has no fallback there either).
Result<std::vector<QuantChoice>> choose_quant_types(const QuantModelFacts& model,
                                                    const QuantRequest& request,
                                                    std::span<const QuantTensor> tensors);

}  // namespace unicorn
