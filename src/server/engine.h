// The engine thread: the one thread that owns the model. HTTP workers hand it jobs through a
// bounded queue and read results from a per-job channel, so no tensor or session is ever
// touched from two threads. Jobs run one after another in arrival order (continuous batching —
// decode steps of several sequences in one forward pass — is the next increment of issue 6).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "exec/exec_context.h"
#include "models/model.h"
#include "server/api.h"
#include "server/metrics.h"
#include "text/tokenizer.h"

namespace unicorn::server {

// What the engine tells a waiting HTTP worker, in order: text pieces, then one end event.
struct Event {
    enum class Kind { kText, kDone, kError } kind = Kind::kText;
    std::string text;
    std::string finish_reason;  // kDone: "stop" or "length"
    Usage usage;                // kDone
    ApiError error;             // kError

    static Event piece(std::string t) {
        Event e;
        e.text = std::move(t);
        return e;
    }
    static Event done(std::string finish, Usage u) {
        Event e;
        e.kind = Kind::kDone;
        e.finish_reason = std::move(finish);
        e.usage = u;
        return e;
    }
    static Event failure(ApiError err) {
        Event e;
        e.kind = Kind::kError;
        e.error = std::move(err);
        return e;
    }
};

// One job's events, engine → worker. The worker may cancel (its client went away).
class Channel {
  public:
    void push(Event e);
    // The next event, or nullopt when none arrived within `wait`.
    std::optional<Event> pop(std::chrono::milliseconds wait);
    void cancel() { cancelled_ = true; }
    bool cancelled() const { return cancelled_; }

  private:
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<Event> events_;
    std::atomic<bool> cancelled_{false};
};

struct Job {
    std::vector<int32_t> prompt;  // token ids, checked against the context
    int32_t max_tokens = 0;
    SamplingParams sampling;
    std::vector<std::string> stop;
    std::shared_ptr<Channel> out;
    std::chrono::steady_clock::time_point arrived;
};

class Engine {
  public:
    struct Options {
        int32_t context = 4096;
        int32_t prefill_chunk = 512;
        size_t queue_capacity = 64;  // jobs waiting; more → 503
    };
    Engine(Model& model, ExecContext& ctx, const text::Tokenizer& tok, Metrics& metrics,
           Options opt);
    ~Engine();  // finishes the running job, fails the queued ones, joins the thread

    // False when the queue is full or the engine is shutting down.
    bool submit(Job job);
    // Stops taking jobs; queued ones get a 503 error event; the running one finishes.
    void shutdown();
    size_t queued() const;
    const Options& options() const { return opt_; }

  private:
    void loop();
    void run(Job& job);

    Model& model_;
    ExecContext& ctx_;
    const text::Tokenizer& tok_;
    Metrics& metrics_;
    Options opt_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::deque<Job> queue_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace unicorn::server
