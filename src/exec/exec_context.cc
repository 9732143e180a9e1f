#include "exec/exec_context.h"

#include "core/log.h"

namespace unicorn {

ExecContext::ExecContext(Backend& primary, Backend& cpu) : primary_(primary), cpu_(cpu) {}

Backend& ExecContext::backend_for(OpKind op, DType weight) {
    if (primary_.supports(op, weight)) return primary_;
    auto& warned = warned_[static_cast<size_t>(op)];
    if (!warned) {
        warned = true;
        log_info("{} does not run {} with {} weights; using the CPU", primary_.name(), op_name(op),
                 dtype_name(weight));
    }
    return cpu_;
}

void ExecContext::fail(Status s) {
    if (status_.ok()) status_ = std::move(s);
}

}  // namespace unicorn
