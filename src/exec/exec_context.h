// ExecContext: what model code calls. It runs each op on the backend that the placement
// assigns (today: one primary backend), falls back to the CPU for ops the device lacks (logged
// once per op), times ops when profiling, and hands named intermediates to a dump hook. When
// the device itself fails, the caller (Session) can move the whole context to the CPU
// (fall_back_to_cpu) and re-run the step there; UNICORN_FAULT injects such failures.
//
// Errors are sticky: the first failing op records its Status, later ops are skipped, and the
// model returns ctx.status() at the end of forward(). That keeps forward() one op per line.
#pragma once

#include <array>
#include <chrono>
#include <functional>
#include <optional>
#include <span>
#include <string>

#include "backend/backend.h"
#include "core/status.h"
#include "core/tensor.h"
#include "exec/fault_injection.h"
#include "ops/op_kind.h"

namespace unicorn {

struct OpStats {
    int64_t calls = 0;
    double seconds = 0;
    int64_t fallbacks = 0;  // calls that ran on the CPU because the device lacks the op
};

class ExecContext {
  public:
    ExecContext(Backend& primary, Backend& cpu);

    // The backend that runs `op` with a weight of type `weight`.
    Backend& backend_for(OpKind op, DType weight);
    Backend& primary() { return *primary_; }
    const Backend& primary() const { return *primary_; }

    // Marks the start of a forward pass (steps are what UNICORN_FAULT counts). Fails when
    // UNICORN_FAULT holds something that is not a fault spec.
    Status begin_step();
    // Replaces the UNICORN_FAULT spec (tests); nullopt disarms.
    void set_fault(std::optional<FaultSpec> f) { fault_ = std::move(f); }
    // Whether `s`, the failure of a step, is the device's (so the step can be re-run on the
    // CPU) rather than the request's: a device primary and a device or out-of-memory error.
    bool can_fall_back(const Status& s) const;
    // From now on every op runs on the CPU (logged, counted); the caller re-creates what lived
    // in the device's memory (the KV cache) and re-runs the step. Clears the error.
    void fall_back_to_cpu(const Status& cause);
    int64_t device_fallbacks() const { return device_fallbacks_; }

    // An F32 activation [rows, cols] in the primary backend's memory. On failure the context
    // fails and a host tensor of the shape comes back, so the caller's flow continues.
    Tensor alloc(int64_t rows, int64_t cols);
    // Row copies in the primary backend's memory (see Backend::copy_rows); failures are sticky.
    void copy_rows(const Tensor& src, std::span<const int64_t> src_rows, const Tensor& dst,
                   std::span<const int64_t> dst_rows, int64_t n);
    // A host copy (logits for the sampler, named intermediates for a dump).
    Result<Tensor> to_host(const Tensor& t);

    bool failed() const { return !status_.ok(); }
    const Status& status() const { return status_; }
    void fail(Status s);
    void clear_error() { status_ = Status(); }

    void set_profiling(bool on) { profiling_ = on; }
    bool profiling() const { return profiling_; }
    const std::array<OpStats, static_cast<size_t>(OpKind::kCount)>& op_stats() const {
        return stats_;
    }
    void reset_stats() {
        stats_ = {};
        sync_s_ = 0;
        sync_calls_ = 0;
    }
    // Host time in to_host() while profiling: a device backend's queued work finishing.
    double sync_seconds() const { return sync_s_; }
    int64_t sync_calls() const { return sync_calls_; }

    // Named intermediates ("layer.3.attn_out"); the hook (a dump tool, a test) sees a view
    // that is only valid during the call.
    using DumpHook = std::function<void(const std::string& name, const Tensor& t)>;
    void set_dump_hook(DumpHook hook) { dump_ = std::move(hook); }
    bool dumping() const { return static_cast<bool>(dump_); }
    void name(const std::string& label, const Tensor& t) {
        if (!dump_ || failed()) return;
        if (!t.on_device()) return dump_(label, t);
        if (auto h = to_host(t); h.ok()) dump_(label, *h);
    }
    // name("layer.<layer>.<what>", t), the label formatted only when dumping (forward passes
    // name several tensors per layer; formatting them all would cost every step).
    void name_layer(int layer, const char* what, const Tensor& t);

    // Sees the input of every linear before it runs (importance-matrix collection): the
    // weight [N, K] as the model passed it (its data pointer identifies the tensor) and the
    // activation x [T, K] as a host view valid only during the call. Unset, linear pays one
    // branch.
    using LinearObserver = std::function<void(const Tensor& weight, const Tensor& x)>;
    void set_linear_observer(LinearObserver observer) { linear_observer_ = std::move(observer); }
    void observe_linear(const Tensor& weight, const Tensor& x) {
        if (linear_observer_ && !failed()) notify_linear_observer(weight, x);
    }

    // Runs fn on the chosen backend, records time and the first error.
    template <typename F>
    void run(OpKind op, DType weight, F&& fn) {
        if (failed()) return;
        Backend& b = backend_for(op, weight);
        if (fault_ && inject_fault(b)) return;
        auto& st = stats_[static_cast<size_t>(op)];
        st.calls++;
        if (&b != primary_) st.fallbacks++;
        if (!profiling_) {
            Status s = fn(b);
            if (!s.ok()) fail(std::move(s));
            return;
        }
        const auto t0 = std::chrono::steady_clock::now();
        Status s = fn(b);
        st.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (!s.ok()) fail(std::move(s));
    }

  private:
    void notify_linear_observer(const Tensor& weight, const Tensor& x);
    bool inject_fault(Backend& b);  // true: this op fails (the context now holds the error)

    Backend* primary_;
    Backend& cpu_;
    std::optional<FaultSpec> fault_;
    Status fault_env_error_;  // UNICORN_FAULT that did not parse: begin_step reports it
    int64_t step_ = 0, step_ops_ = 0;
    int64_t device_fallbacks_ = 0;
    Status status_;
    bool profiling_ = false;
    double sync_s_ = 0;
    int64_t sync_calls_ = 0;
    DumpHook dump_;
    LinearObserver linear_observer_;
    std::array<OpStats, static_cast<size_t>(OpKind::kCount)> stats_{};
    std::array<bool, static_cast<size_t>(OpKind::kCount)> warned_{};
};

}  // namespace unicorn
