#include "run_stats.h"

#include <fmt/format.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <vector>

#include "core/process_memory.h"

namespace unicorn::cli {

void print_run_stats(const GenerationStats& st, const ExecContext& ctx, bool json) {
    std::vector<double> gaps_ms;
    for (size_t i = 1; i < st.token_times_s.size(); ++i)
        gaps_ms.push_back((st.token_times_s[i] - st.token_times_s[i - 1]) * 1e3);
    const double p50 = quantile(gaps_ms, 0.5), p90 = quantile(gaps_ms, 0.9),
                 p99 = quantile(gaps_ms, 0.99), max = quantile(gaps_ms, 1.0);
    const Backend& dev = ctx.primary();
    const int64_t host_peak = peak_resident_bytes(), dev_bytes = dev.device_memory_bytes();
    if (json) {
        nlohmann::json j = {
            {"prompt_tokens", st.prompt_tokens},
            {"generated_tokens", st.generated_tokens},
            {"time_to_first_token_ms", st.ttft_s * 1e3},
            {"prefill_ms", st.prefill_s * 1e3},
            {"prefill_tok_s", st.prefill_tok_s()},
            {"decode_tok_s", st.decode_tok_s()},
            {"inter_token_ms",
             {{"count", gaps_ms.size()}, {"p50", p50}, {"p90", p90}, {"p99", p99}, {"max", max}}},
            {"memory",
             {{"host_peak_rss_bytes", host_peak},
              {"device", dev.name()},
              {"device_bytes", dev_bytes}}},
            {"device_fallbacks", ctx.device_fallbacks()}};
        std::fprintf(stderr, "%s\n", j.dump().c_str());
        return;
    }
    std::string out = fmt::format(
        "unicorn: stats\n"
        "  prompt          {} tokens, prefill {:.1f} ms ({:.1f} tok/s)\n"
        "  first token     {:.1f} ms after the request\n"
        "  decode          {} tokens, {:.1f} tok/s\n"
        "  inter-token     p50 {:.2f} ms, p90 {:.2f} ms, p99 {:.2f} ms, max {:.2f} ms ({} gaps)\n"
        "  memory          host peak RSS {:.1f} MiB",
        st.prompt_tokens, st.prefill_s * 1e3, st.prefill_tok_s(), st.ttft_s * 1e3,
        st.generated_tokens, st.decode_tok_s(), p50, p90, p99, max, gaps_ms.size(),
        static_cast<double>(host_peak) / (1 << 20));
    if (dev.is_device())
        out += fmt::format("; {} in use {:.1f} MiB", dev.name(),
                           static_cast<double>(dev_bytes) / (1 << 20));
    out += "\n";
    if (ctx.device_fallbacks() > 0)
        out += fmt::format("  fallbacks       {} (the device failed; finished on the CPU)\n",
                           ctx.device_fallbacks());
    std::fputs(out.c_str(), stderr);
}

}  // namespace unicorn::cli
