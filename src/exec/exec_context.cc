#include "exec/exec_context.h"

#include <fmt/format.h>

#include "core/log.h"

namespace unicorn {

ExecContext::ExecContext(Backend& primary, Backend& cpu) : primary_(primary), cpu_(cpu) {}

Backend& ExecContext::backend_for(OpKind op, DType weight) {
    // A device backend's activations are in its own memory, where the CPU cannot read them:
    // until steps can move between devices (placement/fallback issue), the device runs every
    // op and reports the ones it lacks as unsupported.
    if (primary_.supports(op, weight) || primary_.is_device()) return primary_;
    auto& warned = warned_[static_cast<size_t>(op)];
    if (!warned) {
        warned = true;
        log_info("{} does not run {} with {} weights; using the CPU", primary_.name(), op_name(op),
                 dtype_name(weight));
    }
    return cpu_;
}

Tensor ExecContext::alloc(int64_t rows, int64_t cols) {
    if (!primary_.is_device()) return Tensor::empty(DType::kF32, Shape{rows, cols});
    auto t = primary_.alloc(DType::kF32, Shape{rows, cols});
    if (t.ok()) return std::move(*t);
    fail(t.status());
    return Tensor::empty(DType::kF32, Shape{rows, cols});
}

void ExecContext::copy_rows(const Tensor& src, std::span<const int64_t> src_rows, const Tensor& dst,
                            std::span<const int64_t> dst_rows, int64_t n) {
    if (failed()) return;
    if (Status s = primary_.copy_rows(src, src_rows, dst, dst_rows, n); !s.ok()) fail(s);
}

Result<Tensor> ExecContext::to_host(const Tensor& t) {
    if (!t.on_device()) return t;
    if (!profiling_) return primary_.to_host(t);
    const auto t0 = std::chrono::steady_clock::now();
    Result<Tensor> h = primary_.to_host(t);
    sync_s_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    sync_calls_++;
    return h;
}

void ExecContext::name_layer(int layer, const char* what, const Tensor& t) {
    if (dump_ && !failed()) name(fmt::format("layer.{}.{}", layer, what), t);
}

void ExecContext::notify_linear_observer(const Tensor& weight, const Tensor& x) {
    if (!x.on_device()) return linear_observer_(weight, x);
    if (auto h = to_host(x); h.ok()) {
        linear_observer_(weight, *h);
    } else {
        fail(h.status());
    }
}

void ExecContext::fail(Status s) {
    if (status_.ok()) status_ = std::move(s);
}

}  // namespace unicorn
