// A single-sequence generation session: chunked prefill, incremental decode, greedy decoding.
// A step that fails on a device (ExecContext::can_fall_back) is re-run on the CPU after the KV
// cache is recomputed there from the tokens it held: no token is lost or changed.
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
    // One forward pass over `tokens` (appended at the cache's end); a device failure moves
    // the context to the CPU, rebuilds the cache there from history_ and re-runs the pass.
    Result<Tensor> forward_chunk(std::span<const int32_t> tokens, bool all_logits);
    Result<Tensor> forward_once(std::span<const int32_t> tokens, bool all_logits);
    Status rebuild_on_cpu(const Status& cause);

    Model& model_;
    ExecContext& ctx_;
    SessionOptions opts_;
    KvCache kv_;
    std::vector<int32_t> history_;  // the tokens whose K/V the cache holds (its first length())
};

// Feeds `tokens` into `kv` (appended at its end) in forward passes of at most `chunk` tokens,
// logits discarded: how a KV cache lost with a failed device is recomputed on the CPU.
Status refill_kv(Model& model, ExecContext& ctx, KvCache& kv, std::span<const int32_t> tokens,
                 size_t chunk);

// Index of the largest logit in a row (first one on ties, like torch.argmax).
int32_t argmax_row(const Tensor& logits, int64_t row);

}  // namespace unicorn
