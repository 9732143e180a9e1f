#include "models/common/weight_loader.h"

namespace unicorn {

std::string WeightLoader::source_name(const std::string& gguf_name) const {
    return files_.is_gguf() ? gguf_name : hf_tensor_name(names_, gguf_name);
}

Result<Tensor> WeightLoader::weight(const std::string& gguf_name, Shape shape) {
    UNI_ASSIGN_OR_RETURN(Tensor t, files_.tensor(source_name(gguf_name), shape));
    count(t);
    info_.weight_names.emplace(t.data(), gguf_name);
    return t;
}

void WeightLoader::count(const Tensor& t) {
    info_.weight_bytes += t.nbytes();
    info_.n_params += t.numel();
    info_.tensor_types[dtype_name(t.dtype())]++;
}

Result<Tensor> WeightLoader::f32(const std::string& gguf_name, Shape shape) {
    UNI_ASSIGN_OR_RETURN(Tensor t, load_norm(files_, source_name(gguf_name), shape.numel(), 0.0f));
    return t.reshape(shape);
}

Result<Tensor> WeightLoader::norm(const std::string& gguf_name, int64_t n, float hf_offset) {
    return load_norm(files_, source_name(gguf_name), n, files_.is_gguf() ? 0.0f : hf_offset);
}

Status WeightLoader::attention(int l, int64_t d_model, int64_t q_width, int64_t kv_width,
                               blocks::AttentionWeights* w) {
    UNI_ASSIGN_OR_RETURN(w->q, weight(blk(l, "attn_q.weight"), Shape{q_width, d_model}));
    UNI_ASSIGN_OR_RETURN(w->k, weight(blk(l, "attn_k.weight"), Shape{kv_width, d_model}));
    UNI_ASSIGN_OR_RETURN(w->v, weight(blk(l, "attn_v.weight"), Shape{kv_width, d_model}));
    UNI_ASSIGN_OR_RETURN(w->o, weight(blk(l, "attn_output.weight"), Shape{d_model, q_width}));
    return ok_status();
}

Status WeightLoader::mlp(int l, int64_t d_model, int64_t d_ff, blocks::MlpWeights* w) {
    UNI_ASSIGN_OR_RETURN(w->gate, weight(blk(l, "ffn_gate.weight"), Shape{d_ff, d_model}));
    UNI_ASSIGN_OR_RETURN(w->up, weight(blk(l, "ffn_up.weight"), Shape{d_ff, d_model}));
    UNI_ASSIGN_OR_RETURN(w->down, weight(blk(l, "ffn_down.weight"), Shape{d_model, d_ff}));
    return ok_status();
}

}  // namespace unicorn
