// `unicorn run --stats`: what one generation cost — time to first token, prefill and decode
// rates, inter-token latency percentiles, and memory per device (host peak RSS; the device's
// memory in use) — as a block of lines or, with --json, one JSON object, on stderr.
#pragma once

#include "exec/exec_context.h"
#include "runtime/generator.h"

namespace unicorn::cli {

void print_run_stats(const GenerationStats& st, const ExecContext& ctx, bool json);

}  // namespace unicorn::cli
