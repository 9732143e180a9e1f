#include "runtime/session.h"

#include <fmt/format.h>

#include <algorithm>

#include "exec/graph_ops.h"

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
    std::vector<Tensor> parts;
    const size_t chunk = static_cast<size_t>(std::max(1, opts_.chunk));
    for (size_t b = 0; b < tokens.size(); b += chunk) {
        const size_t e = std::min(tokens.size(), b + chunk);
        SequenceChunk c{tokens.subspan(b, e - b), kv_.length(), &kv_, all_logits};
        UNI_ASSIGN_OR_RETURN(Tensor logits, model_.forward(ctx_, std::span(&c, 1)));
        if (all_logits || e == tokens.size()) parts.push_back(std::move(logits));
    }
    // Logits come back in host memory whatever device computed them (the sampler reads them).
    if (parts.size() == 1) return ctx_.to_host(parts[0]);
    Tensor out = ops::concat_rows(ctx_, parts);  // [n, vocab]
    if (ctx_.failed()) return ctx_.status();
    return ctx_.to_host(out);
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
