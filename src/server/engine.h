// The engine thread: the one thread that owns the model. HTTP workers hand it jobs through a
// bounded queue and read results from a per-job channel, so no tensor or session is ever
// touched from two threads. Continuous batching: up to `parallel` sequences are active at once;
// every forward pass carries one decode token of each running sequence plus prompt chunks of
// newly admitted ones (up to `batch_tokens` tokens in all), and a finished or cancelled
// sequence's place goes to the next queued job at once. Each sequence has its own KV cache.
//
// Prefix reuse: a finished sequence's KV cache is kept (up to `cache_slots` of them, least
// recently used dropped first) with the tokens it holds; a new prompt that starts with the same
// tokens — a chat's next turn resends the whole conversation, agents resend one long system
// prompt — takes that cache, cut back to the common prefix, and computes only the rest. Usage
// reports the reused tokens as prompt_tokens_details.cached_tokens. Like llama-server's
// cache_prompt, reuse is not bit-exact: the prompt's last tokens are computed in a smaller batch
// than a fresh request would use, and the CPU's quantized kernels round a one-token batch
// differently (logits move by ~1 %; greedy text rarely changes). `--cache-slots 0` turns it off.
// (Blocks shared by running sequences at once — a paged cache — are a later increment.)
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

namespace unicorn {
class KvCache;
}  // namespace unicorn

namespace unicorn::server {

// What the engine tells a waiting HTTP worker, in order: text pieces, then one end event.
struct Event {
    enum class Kind { kText, kDone, kError } kind = Kind::kText;
    std::string text;
    // When the job asked for them: the log-probabilities of the tokens generated since the
    // previous event (a token's text may be held back — an unfinished UTF-8 character, a
    // possible stop string — so its entry travels with the event that releases its text; the
    // done event carries any left, such as those of a stop string's tokens).
    Logprobs logprobs;
    std::string finish_reason;  // kDone: "stop" or "length"
    Usage usage;                // kDone
    ApiError error;             // kError

    static Event piece(std::string t, Logprobs lp = {}) {
        Event e;
        e.text = std::move(t);
        e.logprobs = std::move(lp);
        return e;
    }
    static Event done(std::string finish, Usage u, Logprobs lp = {}) {
        Event e;
        e.kind = Kind::kDone;
        e.finish_reason = std::move(finish);
        e.usage = u;
        e.logprobs = std::move(lp);
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
    int32_t logprobs = -1;  // -1: none; else top entries per token (CompletionRequest::logprobs)
    std::shared_ptr<Channel> out;
    std::chrono::steady_clock::time_point arrived;
};

class Engine {
  public:
    struct Options {
        int32_t context = 4096;
        int32_t prefill_chunk = 512;
        size_t queue_capacity = 64;  // jobs waiting; more → 503
        int parallel = 1;            // sequences generated at once
        int32_t batch_tokens = 512;  // tokens per forward pass (decode tokens first)
        int cache_slots = 1;         // finished sequences' KV caches kept for prefix reuse
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
    struct Active;
    struct Cached {
        std::vector<int32_t> tokens;  // what the cache holds, position by position
        std::unique_ptr<KvCache> kv;
    };
    void loop();
    // A KV cache for `prompt`: the kept one sharing its longest prefix (cut back to it, at
    // most prompt.size() − 1 tokens so the last is computed for its logits), else a new one.
    // `reused`: the prompt tokens already in it.
    std::unique_ptr<KvCache> cache_for(const std::vector<int32_t>& prompt, Backend* memory,
                                       size_t* reused);
    // Keeps a finished sequence's cache for reuse.
    void keep(Active& a);
    // One forward pass over every active sequence; finished ones are removed. A device
    // failure moves the engine to the CPU (rebuild_on_cpu) and re-runs the pass there.
    void step(std::vector<std::unique_ptr<Active>>& active);
    // After the device failed a step: every running sequence's KV cache recomputed on the CPU
    // from the first held[i] tokens of its history (what its cache held before the step).
    Status rebuild_on_cpu(std::vector<std::unique_ptr<Active>>& active,
                          const std::vector<int32_t>& held, const Status& cause);
    // After a token was sampled for `a` from `logits` [n]: emits it, or finishes the sequence
    // (true).
    bool on_token(Active& a, int32_t tok, const float* logits, int64_t n);
    // The API entry for a token generated for `a` (its text and log-probabilities); advances
    // a's character count, from which text_offset comes.
    TokenLogprobs logprob_entry(Active& a, int32_t tok, const float* logits, int64_t n) const;
    void finish(Active& a, const char* reason);

    Model& model_;
    ExecContext& ctx_;
    const text::Tokenizer& tok_;
    Metrics& metrics_;
    Options opt_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::deque<Job> queue_;
    bool stopping_ = false;
    std::vector<Cached> kept_;  // engine thread only; most recently used last
    std::thread thread_;
};

}  // namespace unicorn::server
