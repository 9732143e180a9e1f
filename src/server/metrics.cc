#include "server/metrics.h"

#include <fmt/format.h>

#include "core/process_memory.h"

namespace unicorn::server {

void Metrics::Histogram::observe(double v) {
    for (size_t i = 0; i < kBuckets.size(); ++i)
        if (v <= kBuckets[i]) counts[i]++;
    count++;
    sum += v;
}

void Metrics::count_request(const std::string& endpoint, int status) {
    std::lock_guard<std::mutex> lock(mu_);
    requests_[{endpoint, status}]++;
}

void Metrics::count_tokens(int64_t prompt, int64_t completion) {
    std::lock_guard<std::mutex> lock(mu_);
    prompt_tokens_ += prompt;
    completion_tokens_ += completion;
}

void Metrics::count_cached_tokens(int64_t n) {
    std::lock_guard<std::mutex> lock(mu_);
    cached_tokens_ += n;
}

void Metrics::count_failure() {
    std::lock_guard<std::mutex> lock(mu_);
    failures_++;
}

void Metrics::set_device_memory(const std::string& device, int64_t bytes) {
    std::lock_guard<std::mutex> lock(mu_);
    memory_device_ = device;
    device_memory_bytes_ = bytes;
}

void Metrics::count_device_fallback() {
    std::lock_guard<std::mutex> lock(mu_);
    device_fallbacks_++;
}

void Metrics::observe_ttft(double s) {
    std::lock_guard<std::mutex> lock(mu_);
    ttft_.observe(s);
}

void Metrics::observe_inter_token(double s) {
    std::lock_guard<std::mutex> lock(mu_);
    itl_.observe(s);
}

void Metrics::set_queue_depth(int64_t n) {
    std::lock_guard<std::mutex> lock(mu_);
    queue_depth_ = n;
}

void Metrics::set_running(int64_t n) {
    std::lock_guard<std::mutex> lock(mu_);
    running_ = n;
}

void Metrics::add_device_seconds(double s) {
    std::lock_guard<std::mutex> lock(mu_);
    device_seconds_ += s;
}

std::string Metrics::render() const {
    std::lock_guard<std::mutex> lock(mu_);
    std::string out;
    auto counter = [&](const char* name, const char* help, auto value) {
        out += fmt::format("# HELP {0} {1}\n# TYPE {0} counter\n{0} {2}\n", name, help, value);
    };
    auto gauge = [&](const char* name, const char* help, auto value) {
        out += fmt::format("# HELP {0} {1}\n# TYPE {0} gauge\n{0} {2}\n", name, help, value);
    };
    auto histogram = [&](const char* name, const char* help, const Histogram& h) {
        out += fmt::format("# HELP {0} {1}\n# TYPE {0} histogram\n", name, help);
        for (size_t i = 0; i < kBuckets.size(); ++i)
            out += fmt::format("{}_bucket{{le=\"{}\"}} {}\n", name, kBuckets[i], h.counts[i]);
        out += fmt::format("{0}_bucket{{le=\"+Inf\"}} {1}\n{0}_sum {2}\n{0}_count {1}\n", name,
                           h.count, h.sum);
    };
    out +=
        "# HELP unicorn_requests_total HTTP requests by endpoint and status.\n"
        "# TYPE unicorn_requests_total counter\n";
    for (const auto& [key, n] : requests_)
        out += fmt::format("unicorn_requests_total{{endpoint=\"{}\",status=\"{}\"}} {}\n",
                           key.first, key.second, n);
    counter("unicorn_prompt_tokens_total", "Prompt tokens processed.", prompt_tokens_);
    counter("unicorn_prompt_tokens_cached_total",
            "Prompt tokens whose KV came from an earlier request's kept cache.", cached_tokens_);
    counter("unicorn_completion_tokens_total", "Tokens generated.", completion_tokens_);
    counter("unicorn_generation_failures_total", "Generations that ended in an error.", failures_);
    counter("unicorn_device_fallbacks_total",
            "Device failures after which the engine re-ran the step and continued on the CPU.",
            device_fallbacks_);
    counter("unicorn_device_seconds_total", "Seconds the engine spent in forward passes.",
            device_seconds_);
    out +=
        "# HELP unicorn_memory_bytes Memory in use by device: the process's resident host memory, "
        "and what the engine's GPU holds.\n"
        "# TYPE unicorn_memory_bytes gauge\n";
    out += fmt::format("unicorn_memory_bytes{{device=\"host\"}} {}\n", resident_bytes());
    if (!memory_device_.empty())
        out += fmt::format("unicorn_memory_bytes{{device=\"{}\"}} {}\n", memory_device_,
                           device_memory_bytes_);
    gauge("unicorn_queue_depth", "Requests waiting for the engine.", queue_depth_);
    gauge("unicorn_requests_running", "Requests the engine is generating for.", running_);
    histogram("unicorn_time_to_first_token_seconds", "Arrival to first generated token.", ttft_);
    histogram("unicorn_inter_token_latency_seconds", "Time between generated tokens.", itl_);
    return out;
}

}  // namespace unicorn::server
