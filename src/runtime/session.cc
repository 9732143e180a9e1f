#include "runtime/session.h"

#include <fmt/format.h>

#include <algorithm>

namespace unicorn {
namespace {

int32_t pick_context(const Model& m, const SessionOptions& o) {
    if (o.context > 0) return o.context;
    const int64_t trained = m.info().context_length;
    return static_cast<int32_t>(trained > 0 ? std::min<int64_t>(trained, 4096) : 4096);
}

}  // namespace

Session::Session(Model& model, ExecContext& ctx, const SessionOptions& opts)
    : model_(model),
      ctx_(ctx),
      opts_(opts),
      kv_(model.kv_layout(), pick_context(model, opts), std::max(1, opts.chunk),
          ctx.primary().is_device() ? &ctx.primary() : nullptr) {}

Result<Tensor> Session::prefill(std::span<const int32_t> tokens, bool all_logits) {
    if (tokens.empty()) return invalid_argument("no tokens to process");
    if (kv_.length() + static_cast<int64_t>(tokens.size()) > kv_.max_positions())
        return invalid_argument(fmt::format("{} tokens do not fit: {} already in a context of {}",
                                            tokens.size(), kv_.length(), kv_.max_positions()));
    // Logits come back in host memory whatever device computed them (the sampler reads them),
    // a chunk at a time: after a fallback to the CPU the device's copies cannot be read.
    std::vector<Tensor> parts;
    const size_t chunk = static_cast<size_t>(std::max(1, opts_.chunk));
    for (size_t b = 0; b < tokens.size(); b += chunk) {
        const size_t e = std::min(tokens.size(), b + chunk);
        UNI_ASSIGN_OR_RETURN(Tensor logits, forward_chunk(tokens.subspan(b, e - b), all_logits));
        if (all_logits || e == tokens.size()) {
            UNI_ASSIGN_OR_RETURN(Tensor host, ctx_.to_host(logits));
            parts.push_back(std::move(host));
        }
    }
    if (parts.size() == 1) return parts[0];
    int64_t rows = 0;
    for (const Tensor& p : parts) rows += p.rows();
    Tensor out = Tensor::empty(DType::kF32, Shape{rows, parts[0].cols()});  // [n, vocab]
    int64_t r = 0;
    for (const Tensor& p : parts) {
        host_copy_rows(p, {}, out.slice_rows(r, r + p.rows()), {}, p.rows());
        r += p.rows();
    }
    return out;
}

Result<Tensor> Session::forward_chunk(std::span<const int32_t> tokens, bool all_logits) {
    history_.resize(static_cast<size_t>(kv_.length()));  // a caller may have truncated kv_
    Result<Tensor> logits = forward_once(tokens, all_logits);
    if (!logits.ok() && ctx_.can_fall_back(logits.status())) {
        UNI_RETURN_IF_ERROR(rebuild_on_cpu(logits.status()));
        logits = forward_once(tokens, all_logits);
    }
    if (logits.ok()) history_.insert(history_.end(), tokens.begin(), tokens.end());
    return logits;
}

Result<Tensor> Session::forward_once(std::span<const int32_t> tokens, bool all_logits) {
    UNI_RETURN_IF_ERROR(ctx_.begin_step());
    SequenceChunk c{tokens, kv_.length(), &kv_, all_logits};
    return model_.forward(ctx_, std::span(&c, 1));
}

Status Session::rebuild_on_cpu(const Status& cause) {
    ctx_.fall_back_to_cpu(cause);
    // The device's cache (and the failed step's partial rows in it) is abandoned: recompute
    // the positions it held, in prefill chunks, on the CPU.
    kv_ = KvCache(model_.kv_layout(), kv_.max_positions(), std::max(1, opts_.chunk), nullptr);
    return refill_kv(model_, ctx_, kv_, history_, static_cast<size_t>(std::max(1, opts_.chunk)));
}

Status refill_kv(Model& model, ExecContext& ctx, KvCache& kv, std::span<const int32_t> tokens,
                 size_t chunk) {
    for (size_t b = 0; b < tokens.size(); b += chunk) {
        UNI_RETURN_IF_ERROR(ctx.begin_step());
        SequenceChunk c{tokens.subspan(b, std::min(chunk, tokens.size() - b)), kv.length(), &kv,
                        false};
        if (Result<Tensor> r = model.forward(ctx, std::span(&c, 1)); !r.ok()) return r.status();
    }
    return ok_status();
}

Result<Tensor> Session::decode(int32_t token) { return prefill(std::span(&token, 1), false); }

Result<std::vector<int32_t>> Session::greedy(const Tensor& last_logits, int n) {
    std::vector<int32_t> out;
    if (n <= 0) return out;
    int32_t next = argmax_row(last_logits, last_logits.rows() - 1);
    for (int i = 0; i < n; ++i) {
        out.push_back(next);
        if (i + 1 == n) break;
        UNI_ASSIGN_OR_RETURN(Tensor logits, decode(next));
        next = argmax_row(logits, 0);
    }
    return out;
}

int32_t argmax_row(const Tensor& logits, int64_t row) {
    const float* p = logits.row<float>(row);
    return static_cast<int32_t>(std::max_element(p, p + logits.cols()) - p);
}

}  // namespace unicorn
