#include "server/engine.h"

#include "runtime/generator.h"
#include "runtime/session.h"
#include "text/detokenizer.h"
#include "text/stop_filter.h"

namespace unicorn::server {

void Channel::push(Event e) {
    {
        std::lock_guard<std::mutex> lock(mu_);
        events_.push_back(std::move(e));
    }
    cv_.notify_one();
}

std::optional<Event> Channel::pop(std::chrono::milliseconds wait) {
    std::unique_lock<std::mutex> lock(mu_);
    if (!cv_.wait_for(lock, wait, [&] { return !events_.empty(); })) return std::nullopt;
    Event e = std::move(events_.front());
    events_.pop_front();
    return e;
}

Engine::Engine(Model& model, ExecContext& ctx, const text::Tokenizer& tok, Metrics& metrics,
               Options opt)
    : model_(model), ctx_(ctx), tok_(tok), metrics_(metrics), opt_(opt) {
    thread_ = std::thread([this] { loop(); });
}

Engine::~Engine() {
    shutdown();
    if (thread_.joinable()) thread_.join();
}

bool Engine::submit(Job job) {
    {
        std::lock_guard<std::mutex> lock(mu_);
        if (stopping_ || queue_.size() >= opt_.queue_capacity) return false;
        queue_.push_back(std::move(job));
        metrics_.set_queue_depth(static_cast<int64_t>(queue_.size()));
    }
    cv_.notify_one();
    return true;
}

void Engine::shutdown() {
    std::deque<Job> dropped;
    {
        std::lock_guard<std::mutex> lock(mu_);
        stopping_ = true;
        dropped.swap(queue_);
        metrics_.set_queue_depth(0);
    }
    cv_.notify_all();
    for (Job& j : dropped)
        j.out->push(Event::failure({503, "unavailable_error", "the server is shutting down", ""}));
}

size_t Engine::queued() const {
    std::lock_guard<std::mutex> lock(mu_);
    return queue_.size();
}

void Engine::loop() {
    while (true) {
        Job job;
        {
            std::unique_lock<std::mutex> lock(mu_);
            cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
            if (queue_.empty()) return;  // stopping, nothing left
            job = std::move(queue_.front());
            queue_.pop_front();
            metrics_.set_queue_depth(static_cast<int64_t>(queue_.size()));
        }
        if (job.out->cancelled()) continue;
        metrics_.set_running(1);
        run(job);
        metrics_.set_running(0);
    }
}

void Engine::run(Job& job) {
    Session session(model_, ctx_, SessionOptions{opt_.context, opt_.prefill_chunk});
    text::IncrementalDetokenizer detok(tok_);
    text::StopFilter stops(job.stop);
    auto last = std::chrono::steady_clock::now();
    bool first = true;
    GenerateRequest req;
    req.prompt = job.prompt;
    req.max_tokens = job.max_tokens;
    req.sampling = job.sampling;
    req.is_eog = [&](int32_t id) { return tok_.is_eog(id); };
    req.on_token = [&](int32_t id) {
        const auto now = std::chrono::steady_clock::now();
        if (first)
            metrics_.observe_ttft(std::chrono::duration<double>(now - job.arrived).count());
        else
            metrics_.observe_inter_token(std::chrono::duration<double>(now - last).count());
        first = false;
        last = now;
        std::string text = stops.push(detok.push(id));
        if (!text.empty()) job.out->push(Event::piece(std::move(text)));
        return !stops.stopped() && !job.out->cancelled();
    };
    Result<GenerationStats> st = generate(session, req);
    if (!st.ok()) {
        job.out->push(Event::failure({500, "server_error", st.status().to_string(), ""}));
        metrics_.count_failure();
        return;
    }
    std::string rest = stops.push(detok.flush());
    rest += stops.flush();
    if (!rest.empty()) job.out->push(Event::piece(std::move(rest)));
    const bool length =
        !stops.stopped() && !st->stopped_by_eog && st->generated_tokens >= job.max_tokens;
    metrics_.count_tokens(st->prompt_tokens, st->generated_tokens);
    metrics_.add_device_seconds(st->prefill_s + st->decode_s);
    job.out->push(
        Event::done(length ? "length" : "stop", {st->prompt_tokens, st->generated_tokens}));
}

}  // namespace unicorn::server
