#include "server/engine.h"

#include <algorithm>
#include <utility>

#include "runtime/kv_cache.h"
#include "runtime/sampler.h"
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

// A running sequence: its job, KV cache, sampler and text state.
struct Engine::Active {
    Job job;
    std::unique_ptr<KvCache> kv;
    Sampler sampler;
    std::vector<int32_t> history;  // prompt + generated
    text::IncrementalDetokenizer detok;
    text::StopFilter stops;
    size_t prefilled = 0;  // prompt tokens in the cache
    int32_t next = -1;     // the sampled token to feed next
    int64_t generated = 0;
    Logprobs pending;        // entries whose text has not been sent yet
    int64_t text_chars = 0;  // characters of the generated tokens' texts so far (text_offset)
    std::chrono::steady_clock::time_point last;
    size_t cached = 0;  // prompt tokens found in a kept cache (usage.cached_tokens)
    Active(Job j, std::unique_ptr<KvCache> cache, size_t reused, const text::Tokenizer& tok)
        : job(std::move(j)),
          kv(std::move(cache)),
          sampler(job.sampling),
          history(job.prompt),
          detok(tok),
          stops(job.stop),
          prefilled(reused),
          cached(reused) {}
};

std::unique_ptr<KvCache> Engine::cache_for(const std::vector<int32_t>& prompt, Backend* memory,
                                           size_t* reused) {
    *reused = 0;
    size_t best = 0, best_i = kept_.size();
    for (size_t i = 0; i < kept_.size(); ++i) {
        const std::vector<int32_t>& t = kept_[i].tokens;
        const size_t common = static_cast<size_t>(
            std::mismatch(t.begin(), t.end(), prompt.begin(), prompt.end()).first - t.begin());
        const size_t n = std::min(common, prompt.empty() ? 0 : prompt.size() - 1);
        if (n > best && kept_[i].kv->can_truncate(static_cast<int32_t>(n))) best = n, best_i = i;
    }
    if (best_i == kept_.size())
        return std::make_unique<KvCache>(model_.kv_layout(), opt_.context,
                                         std::max(1, opt_.batch_tokens), memory);
    std::unique_ptr<KvCache> kv = std::move(kept_[best_i].kv);
    kept_.erase(kept_.begin() + static_cast<std::ptrdiff_t>(best_i));
    kv->truncate(static_cast<int32_t>(best));
    *reused = best;
    metrics_.count_cached_tokens(static_cast<int64_t>(best));
    return kv;
}

void Engine::keep(Active& a) {
    if (opt_.cache_slots <= 0 || !a.kv) return;
    const auto held = static_cast<size_t>(a.kv->length());  // the last sampled token was not fed
    if (held == 0 || held > a.history.size()) return;
    kept_.push_back({std::vector<int32_t>(a.history.begin(),
                                          a.history.begin() + static_cast<std::ptrdiff_t>(held)),
                     std::move(a.kv)});
    while (kept_.size() > static_cast<size_t>(opt_.cache_slots)) kept_.erase(kept_.begin());
}

void Engine::loop() {
    std::vector<std::unique_ptr<Active>> active;
    while (true) {
        // New caches live where the engine runs: the device, or the CPU after a fallback.
        Backend* memory = ctx_.primary().is_device() ? &ctx_.primary() : nullptr;
        {
            std::unique_lock<std::mutex> lock(mu_);
            cv_.wait(lock, [&] { return stopping_ || !queue_.empty() || !active.empty(); });
            if (stopping_ && queue_.empty() && active.empty()) return;
            // Admit queued jobs into free places (continuous batching).
            while (!queue_.empty() && static_cast<int>(active.size()) < opt_.parallel) {
                Job j = std::move(queue_.front());
                queue_.pop_front();
                if (j.out->cancelled()) continue;
                size_t reused = 0;
                std::unique_ptr<KvCache> kv = cache_for(j.prompt, memory, &reused);
                active.push_back(
                    std::make_unique<Active>(std::move(j), std::move(kv), reused, tok_));
            }
            metrics_.set_queue_depth(static_cast<int64_t>(queue_.size()));
        }
        metrics_.set_running(static_cast<int64_t>(active.size()));
        if (!active.empty()) step(active);
        metrics_.set_running(static_cast<int64_t>(active.size()));
    }
}

void Engine::step(std::vector<std::unique_ptr<Active>>& active) {
    // Cancelled sequences leave first.
    std::erase_if(active, [](const std::unique_ptr<Active>& a) { return a->job.out->cancelled(); });
    if (active.empty()) return;
    // Decode tokens first (one per running sequence), then prompt chunks in arrival order.
    std::vector<SequenceChunk> batch;
    std::vector<Active*> owners;
    std::vector<bool> samples;  // whether this chunk's logits give the sequence's next token
    int32_t budget = std::max(opt_.batch_tokens, static_cast<int32_t>(active.size()));
    for (auto& a : active) {
        if (a->prefilled < a->job.prompt.size()) continue;
        batch.push_back({std::span(&a->next, 1), a->kv->length(), a->kv.get(), false});
        owners.push_back(a.get());
        samples.push_back(true);
        budget--;
    }
    for (auto& a : active) {
        const size_t left = a->job.prompt.size() - a->prefilled;
        if (left == 0 || budget <= 0) continue;
        const size_t n = std::min({left, static_cast<size_t>(budget),
                                   static_cast<size_t>(std::max(1, opt_.prefill_chunk))});
        batch.push_back({std::span(a->job.prompt).subspan(a->prefilled, n), a->kv->length(),
                         a->kv.get(), false});
        owners.push_back(a.get());
        samples.push_back(n == left);
        budget -= static_cast<int32_t>(n);
    }
    std::vector<int32_t> held;  // each running sequence's cached positions before the pass
    held.reserve(active.size());
    for (auto& a : active) held.push_back(a->kv->length());
    const auto t0 = std::chrono::steady_clock::now();
    Status begun = ctx_.begin_step();
    Result<Tensor> logits = begun.ok() ? model_.forward(ctx_, batch) : Result<Tensor>(begun);
    if (logits.ok()) logits = ctx_.to_host(*logits);
    metrics_.add_device_seconds(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    if (ctx_.primary().is_device())
        metrics_.set_device_memory(ctx_.primary().name(), ctx_.primary().device_memory_bytes());
    if (!logits.ok() && ctx_.can_fall_back(logits.status())) {
        Status rebuilt = rebuild_on_cpu(active, held, logits.status());
        if (rebuilt.ok()) return step(active);  // once: the CPU cannot fall back further
        logits = rebuilt;
    }
    if (!logits.ok() || ctx_.failed()) {
        const std::string why =
            logits.ok() ? ctx_.status().to_string() : logits.status().to_string();
        ctx_.clear_error();
        for (auto& a : active) {
            a->job.out->push(Event::failure({500, "server_error", why, ""}));
            metrics_.count_failure();
        }
        active.clear();
        return;
    }
    std::vector<Active*> done;
    for (size_t i = 0; i < batch.size(); ++i) {
        Active& a = *owners[i];
        if (a.prefilled < a.job.prompt.size()) {
            a.prefilled += batch[i].tokens.size();
            if (!samples[i]) continue;
        }
        const float* row = logits->row<float>(static_cast<int64_t>(i));
        const int32_t tok = a.sampler.sample(row, logits->cols(), a.history);
        if (on_token(a, tok, row, logits->cols())) done.push_back(&a);
    }
    for (Active* a : done) keep(*a);
    std::erase_if(active, [&](const std::unique_ptr<Active>& a) {
        return std::find(done.begin(), done.end(), a.get()) != done.end();
    });
}

Status Engine::rebuild_on_cpu(std::vector<std::unique_ptr<Active>>& active,
                              const std::vector<int32_t>& held, const Status& cause) {
    ctx_.fall_back_to_cpu(cause);
    metrics_.count_device_fallback();
    kept_.clear();  // device memory: gone with the device
    const int32_t max_chunk = std::max(1, opt_.batch_tokens);
    const size_t chunk = static_cast<size_t>(std::max(1, std::min(opt_.prefill_chunk, max_chunk)));
    for (size_t i = 0; i < active.size(); ++i) {
        Active& a = *active[i];
        a.kv = std::make_unique<KvCache>(model_.kv_layout(), opt_.context, max_chunk, nullptr);
        UNI_RETURN_IF_ERROR(refill_kv(
            model_, ctx_, *a.kv, std::span(a.history).first(static_cast<size_t>(held[i])), chunk));
    }
    return ok_status();
}

TokenLogprobs Engine::logprob_entry(Active& a, int32_t tok, const float* logits, int64_t n) const {
    const StepLogprobs lp = step_logprobs(logits, n, tok, a.job.logprobs);
    auto info = [&](const TokenLogprob& t) {
        return TokenInfo{tok_.token_to_piece(t.id, /*special=*/true), t.logprob};
    };
    TokenLogprobs out;
    out.chosen = info(lp.chosen);
    for (const TokenLogprob& t : lp.top) out.top.push_back(info(t));
    out.text_offset = a.text_chars;
    // Characters, as the legacy API counts them: every byte that does not continue a UTF-8
    // sequence starts one.
    for (unsigned char c : out.chosen.text) a.text_chars += (c & 0xC0) != 0x80;
    return out;
}

bool Engine::on_token(Active& a, int32_t tok, const float* logits, int64_t n) {
    const auto now = std::chrono::steady_clock::now();
    if (a.generated == 0)
        metrics_.observe_ttft(std::chrono::duration<double>(now - a.job.arrived).count());
    else
        metrics_.observe_inter_token(std::chrono::duration<double>(now - a.last).count());
    a.last = now;
    if (tok_.is_eog(tok)) return finish(a, "stop"), true;
    a.history.push_back(tok);
    a.generated++;
    if (a.job.logprobs >= 0) a.pending.push_back(logprob_entry(a, tok, logits, n));
    std::string text = a.stops.push(a.detok.push(tok));
    if (!text.empty()) a.job.out->push(Event::piece(std::move(text), std::exchange(a.pending, {})));
    if (a.stops.stopped()) return finish(a, "stop"), true;
    // The context's end counts as the length limit (the HTTP side capped max_tokens to it).
    if (a.generated >= a.job.max_tokens || a.kv->length() >= a.kv->max_positions())
        return finish(a, "length"), true;
    a.next = tok;
    return false;
}

void Engine::finish(Active& a, const char* reason) {
    std::string rest = a.stops.push(a.detok.flush());
    rest += a.stops.flush();
    if (!rest.empty()) a.job.out->push(Event::piece(std::move(rest), std::exchange(a.pending, {})));
    const int64_t prompt = static_cast<int64_t>(a.job.prompt.size());
    metrics_.count_tokens(prompt, a.generated);
    a.job.out->push(Event::done(reason, {prompt, a.generated, static_cast<int64_t>(a.cached)},
                                std::exchange(a.pending, {})));
}

}  // namespace unicorn::server
