#include "profile_report.h"

#include <fmt/format.h>

#include <cstdio>
#include <nlohmann/json.hpp>

namespace unicorn::cli {

void print_profile(const ExecContext& ctx, double wall_s, bool json) {
    const std::string device = ctx.primary().name();
    double total = ctx.sync_seconds();
    for (const OpStats& s : ctx.op_stats()) total += s.seconds;
    if (json) {
        nlohmann::json ops = nlohmann::json::array();
        for (size_t k = 0; k < ctx.op_stats().size(); ++k) {
            const OpStats& s = ctx.op_stats()[k];
            if (s.calls == 0) continue;
            ops.push_back({{"op", op_name(static_cast<OpKind>(k))},
                           {"device", device},
                           {"calls", s.calls},
                           {"seconds", s.seconds},
                           {"cpu_fallbacks", s.fallbacks}});
        }
        const nlohmann::json j = {{"device", device},
                                  {"ops", ops},
                                  {"device_sync_seconds", ctx.sync_seconds()},
                                  {"total_seconds", total},
                                  {"wall_seconds", wall_s}};
        std::fprintf(stderr, "%s\n", j.dump().c_str());
        return;
    }
    fmt::print(stderr, "{:<16} {:<10} {:>10} {:>12} {:>8} {:>10}\n", "op", "device", "calls",
               "seconds", "share", "fallbacks");
    auto row = [&](const char* name, int64_t calls, double s, int64_t fallbacks) {
        fmt::print(stderr, "{:<16} {:<10} {:>10} {:>12.4f} {:>7.1f}% {:>10}\n", name, device, calls,
                   s, total > 0 ? 100 * s / total : 0, fallbacks);
    };
    for (size_t k = 0; k < ctx.op_stats().size(); ++k) {
        const OpStats& s = ctx.op_stats()[k];
        if (s.calls > 0) row(op_name(static_cast<OpKind>(k)), s.calls, s.seconds, s.fallbacks);
    }
    // A device backend queues work and returns at once: its GPU time shows up here.
    if (ctx.sync_seconds() > 0) row("device_sync", ctx.sync_calls(), ctx.sync_seconds(), 0);
    fmt::print(stderr, "ops total {:.4f} s of {:.4f} s wall ({:.1f} %)\n", total, wall_s,
               wall_s > 0 ? 100 * total / wall_s : 0);
}

}  // namespace unicorn::cli
