#include "exec/exec_context.h"

#include <fmt/format.h>

#include "core/log.h"

namespace unicorn {

ExecContext::ExecContext(Backend& primary, Backend& cpu) : primary_(&primary), cpu_(cpu) {
    auto spec = fault_spec_from_env();
    if (spec.ok()) {
        fault_ = std::move(*spec);
    } else {
        fault_env_error_ = spec.status();
    }
}

Status ExecContext::begin_step() {
    if (!fault_env_error_.ok()) return fault_env_error_;
    ++step_;
    step_ops_ = 0;
    return ok_status();
}

bool ExecContext::inject_fault(Backend& b) {
    if (&b != primary_ || step_ != fault_->step || ++step_ops_ < fault_->op ||
        b.name().rfind(fault_->device, 0) != 0)
        return false;
    fail(device_error(fmt::format("{}: injected fault at step {} (UNICORN_FAULT={}:{})", b.name(),
                                  step_, fault_->device, fault_->step)));
    fault_.reset();  // once
    return true;
}

bool ExecContext::can_fall_back(const Status& s) const {
    return primary_ != &cpu_ && primary_->is_device() &&
           (s.code() == StatusCode::kDeviceError || s.code() == StatusCode::kResourceExhausted);
}

void ExecContext::fall_back_to_cpu(const Status& cause) {
    log_warn("{} failed ({}); re-running the step on the CPU, which runs everything from now on",
             primary_->name(), cause.message());
    primary_ = &cpu_;
    ++device_fallbacks_;
    clear_error();
}

Backend& ExecContext::backend_for(OpKind op, DType weight) {
    // A device backend's activations are in its own memory, where the CPU cannot read them:
    // until steps can move between devices (placement/fallback issue), the device runs every
    // op and reports the ones it lacks as unsupported.
    if (primary_->supports(op, weight) || primary_->is_device()) return *primary_;
    auto& warned = warned_[static_cast<size_t>(op)];
    if (!warned) {
        warned = true;
        log_info("{} does not run {} with {} weights; using the CPU", primary_->name(), op_name(op),
                 dtype_name(weight));
    }
    return cpu_;
}

Tensor ExecContext::alloc(int64_t rows, int64_t cols) {
    if (!primary_->is_device()) return Tensor::empty(DType::kF32, Shape{rows, cols});
    auto t = primary_->alloc(DType::kF32, Shape{rows, cols});
    if (t.ok()) return std::move(*t);
    fail(t.status());
    return Tensor::empty(DType::kF32, Shape{rows, cols});
}

void ExecContext::copy_rows(const Tensor& src, std::span<const int64_t> src_rows, const Tensor& dst,
                            std::span<const int64_t> dst_rows, int64_t n) {
    if (failed()) return;
    if (Status s = primary_->copy_rows(src, src_rows, dst, dst_rows, n); !s.ok()) fail(s);
}

Result<Tensor> ExecContext::to_host(const Tensor& t) {
    if (!t.on_device()) return t;
    if (!profiling_) return primary_->to_host(t);
    const auto t0 = std::chrono::steady_clock::now();
    Result<Tensor> h = primary_->to_host(t);
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
