// A single-sequence generation session: chunked prefill, incremental decode, greedy decoding.
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "exec/exec_context.h"
#include "models/model.h"
#include "runtime/kv_cache.h"

namespace unicorn {

struct SessionOptions {
    int32_t context = 0;  // 0: the model's trained context, capped at 4096
    int32_t chunk = 256;  // prefill chunk (tokens per forward pass)
};

class Session {
  public:
    Session(Model& model, ExecContext& ctx, const SessionOptions& opts);

    // Feeds tokens through the model in chunks. With all_logits, returns F32 [n, vocab] for
    // every token; otherwise [1, vocab] for the last one.
    Result<Tensor> prefill(std::span<const int32_t> tokens, bool all_logits);
    // Feeds one token, returns its logits [1, vocab].
    Result<Tensor> decode(int32_t token);
    // Greedy continuation of n tokens after whatever was fed; `last_logits` are the logits of
    // the last fed token.
    Result<std::vector<int32_t>> greedy(const Tensor& last_logits, int n);

    int32_t length() const { return kv_.length(); }
    int32_t context() const { return kv_.max_positions(); }
    KvCache& kv() { return kv_; }

  private:
    Model& model_;
    ExecContext& ctx_;
    SessionOptions opts_;
    KvCache kv_;
};

// Index of the largest logit in a row (first one on ties, like torch.argmax).
int32_t argmax_row(const Tensor& logits, int64_t row);

}  // namespace unicorn
