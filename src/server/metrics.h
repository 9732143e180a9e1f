// Server metrics in Prometheus' text format (GET /metrics): request counts by endpoint and
// status, tokens in and out, time-to-first-token and inter-token latency histograms, queue
// depth, running requests and device time. Thread-safe: HTTP workers and the engine thread
// update it.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace unicorn::server {

class Metrics {
  public:
    void count_request(const std::string& endpoint, int status);
    void count_tokens(int64_t prompt, int64_t completion);
    void count_cached_tokens(int64_t n);  // prompt tokens served from a kept KV cache
    void count_failure();
    void count_device_fallback();  // the device failed; the engine moved to the CPU
    void observe_ttft(double seconds);
    void observe_inter_token(double seconds);
    void set_queue_depth(int64_t n);
    void set_running(int64_t n);
    void add_device_seconds(double s);
    // Memory the engine's device holds (Backend::device_memory_bytes), set after each step;
    // the host's resident memory is read when the metrics are rendered.
    void set_device_memory(const std::string& device, int64_t bytes);
    // The exposition text (unicorn_* metric names).
    std::string render() const;

    // Histogram bucket upper bounds, seconds.
    static constexpr std::array<double, 12> kBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                        0.5,   1,    2.5,   5,    10,  30};

  private:
    struct Histogram {
        std::array<int64_t, kBuckets.size()> counts{};
        int64_t count = 0;
        double sum = 0;
        void observe(double v);
    };
    mutable std::mutex mu_;
    std::map<std::pair<std::string, int>, int64_t> requests_;
    int64_t prompt_tokens_ = 0, completion_tokens_ = 0, failures_ = 0, cached_tokens_ = 0;
    int64_t device_fallbacks_ = 0;
    int64_t queue_depth_ = 0, running_ = 0;
    double device_seconds_ = 0;
    std::string memory_device_;
    int64_t device_memory_bytes_ = 0;
    Histogram ttft_, itl_;
};

}  // namespace unicorn::server
