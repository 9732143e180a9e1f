// `--profile`: time per op at exit, as a table or JSON, with the wall time it must account for.
#pragma once

#include <string>

#include "exec/exec_context.h"

namespace unicorn::cli {

// The ops that ran (calls, seconds, calls that fell back to the CPU), the host time spent
// waiting for a device's results (device_sync), their total and `wall_s` — the caller's wall
// time over the same work — so a reader sees what the op times leave out. `json`: one JSON
// object instead of the table. Written to stderr.
void print_profile(const ExecContext& ctx, double wall_s, bool json);

}  // namespace unicorn::cli
