#include "runtime/sampler.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <unordered_set>

namespace unicorn {

Status validate(const SamplingParams& p) {
    if (!std::isfinite(p.temperature) || p.temperature > 100.0f)
        return invalid_argument(fmt::format(
            "temperature {} is not a finite value in [0, 100] (0 = greedy)", p.temperature));
    if (p.top_k < 0)
        return invalid_argument(fmt::format("top-k {} must be >= 0 (0 = off)", p.top_k));
    if (!(p.top_p > 0.0f && p.top_p <= 1.0f))
        return invalid_argument(fmt::format("top-p {} must be in (0, 1]", p.top_p));
    if (!(p.min_p >= 0.0f && p.min_p <= 1.0f))
        return invalid_argument(fmt::format("min-p {} must be in [0, 1]", p.min_p));
    if (!(p.repeat_penalty > 0.0f && std::isfinite(p.repeat_penalty)))
        return invalid_argument(
            fmt::format("repeat penalty {} must be positive (1 = off)", p.repeat_penalty));
    if (p.repeat_last_n < 0) return invalid_argument("repeat-last-n must be >= 0");
    return ok_status();
}

Sampler::Sampler(const SamplingParams& p) : p_(p), rng_(p.seed) {}

namespace {

// Candidates in the order every filter uses: higher logit first, lower id on ties.
template <class C>
bool ahead(const C& a, const C& b) {
    return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
}

}  // namespace

std::vector<Sampler::Candidate>& Sampler::filter(const float* logits, int64_t n,
                                                 std::span<const int32_t> history) {
    // Repetition penalty (CTRL-style, as llama.cpp): each distinct recent token once, on a copy
    // of the logits (the caller's stay untouched).
    const float* l = logits;
    if (p_.repeat_penalty != 1.0f && p_.repeat_last_n > 0 && !history.empty()) {
        penalized_.assign(logits, logits + n);
        const size_t start = history.size() > static_cast<size_t>(p_.repeat_last_n)
                                 ? history.size() - p_.repeat_last_n
                                 : 0;
        std::unordered_set<int32_t> seen(history.begin() + static_cast<std::ptrdiff_t>(start),
                                         history.end());
        for (int32_t id : seen) {
            if (id < 0 || id >= n) continue;
            float& v = penalized_[static_cast<size_t>(id)];
            v = v > 0 ? v / p_.repeat_penalty : v * p_.repeat_penalty;
        }
        l = penalized_.data();
    }
    // Greedy and small top-k keep only the k best: one pass with a bounded heap instead of
    // building and sorting a candidate per vocabulary entry (262 144 for Gemma: that took
    // milliseconds per token, and the server samples for every running sequence in turn).
    const size_t k = p_.temperature <= 0.0f ? 1 : static_cast<size_t>(p_.top_k);
    cand_.clear();
    if (k > 0 && k <= 1024 && static_cast<int64_t>(k) < n) {
        // cand_ as a heap whose front is the worst kept candidate.
        const auto worse = [](const Candidate& a, const Candidate& b) { return ahead(a, b); };
        for (int64_t i = 0; i < n; ++i) {
            const Candidate c{static_cast<int32_t>(i), l[i], 0.0};
            if (cand_.size() == k) {
                if (!ahead(c, cand_.front())) continue;
                std::pop_heap(cand_.begin(), cand_.end(), worse);
                cand_.back() = c;
            } else {
                cand_.push_back(c);
            }
            std::push_heap(cand_.begin(), cand_.end(), worse);
        }
        std::sort_heap(cand_.begin(), cand_.end(), worse);  // best first
    } else {
        cand_.resize(static_cast<size_t>(n));
        for (int64_t i = 0; i < n; ++i) cand_[i] = {static_cast<int32_t>(i), l[i], 0.0};
    }
    auto by_logit = [](const Candidate& a, const Candidate& b) { return ahead(a, b); };
    if (p_.temperature <= 0.0f) {
        Candidate c = *std::min_element(cand_.begin(), cand_.end(), by_logit);
        c.p = 1.0;
        cand_.assign(1, c);
        return cand_;
    }
    size_t keep = cand_.size();
    if (p_.top_k > 0 && static_cast<size_t>(p_.top_k) < keep) {
        keep = static_cast<size_t>(p_.top_k);
        std::partial_sort(cand_.begin(), cand_.begin() + static_cast<std::ptrdiff_t>(keep),
                          cand_.end(), by_logit);
        cand_.resize(keep);
    } else {
        std::sort(cand_.begin(), cand_.end(), by_logit);
    }
    // Untempered softmax for top-p and min-p.
    const double max_l = cand_.empty() ? 0.0 : cand_[0].logit;
    double sum = 0;
    for (auto& c : cand_) sum += (c.p = std::exp(static_cast<double>(c.logit) - max_l));
    for (auto& c : cand_) c.p /= sum;
    if (p_.top_p < 1.0f) {
        double cum = 0;
        size_t cut = cand_.size();
        for (size_t i = 0; i < cand_.size(); ++i) {
            cum += cand_[i].p;
            if (cum >= p_.top_p) {
                cut = i + 1;
                break;
            }
        }
        cand_.resize(cut);
    }
    if (p_.min_p > 0.0f && !cand_.empty()) {
        const double floor = cand_[0].p * p_.min_p;
        size_t cut = 1;
        while (cut < cand_.size() && cand_[cut].p >= floor) ++cut;
        cand_.resize(cut);
    }
    // Temperature, then the final distribution over the survivors.
    sum = 0;
    for (auto& c : cand_)
        sum += (c.p = std::exp((static_cast<double>(c.logit) - max_l) / p_.temperature));
    for (auto& c : cand_) c.p /= sum;
    return cand_;
}

int32_t Sampler::sample(const float* logits, int64_t n, std::span<const int32_t> history) {
    std::vector<Candidate>& c = filter(logits, n, history);
    if (c.size() == 1) return c[0].id;
    const double u = std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
    double cum = 0;
    for (const Candidate& x : c) {
        cum += x.p;
        if (u < cum) return x.id;
    }
    return c.back().id;  // u rounding past the last cumulative sum
}

std::vector<double> Sampler::distribution(const float* logits, int64_t n,
                                          std::span<const int32_t> history) {
    std::vector<double> out(static_cast<size_t>(n), 0.0);
    for (const Candidate& c : filter(logits, n, history)) out[c.id] = c.p;
    return out;
}

StepLogprobs step_logprobs(const float* logits, int64_t n, int32_t chosen, int top_n) {
    auto finite = [](float l) { return std::isfinite(l) ? static_cast<double>(l) : -INFINITY; };
    double max_l = -INFINITY;
    for (int64_t i = 0; i < n; ++i) max_l = std::max(max_l, finite(logits[i]));
    double sum = 0.0;
    if (std::isfinite(max_l))
        for (int64_t i = 0; i < n; ++i) sum += std::exp(finite(logits[i]) - max_l);
    const double lse = max_l + std::log(sum);  // log of the softmax's denominator
    auto logprob = [&](int64_t i) { return std::isfinite(lse) ? finite(logits[i]) - lse : 0.0; };

    StepLogprobs out;
    out.chosen = {chosen, chosen >= 0 && chosen < n ? logprob(chosen) : -INFINITY};
    // The top entries by one pass with a small sorted buffer: top_n is at most a few dozen, so
    // this beats sorting the vocabulary. Scanning ids upwards and inserting only on a strictly
    // greater value keeps equal logits in id order, as the greedy sampler breaks ties.
    const size_t k = static_cast<size_t>(std::clamp<int64_t>(top_n, 0, n));
    std::vector<std::pair<double, int32_t>> best;  // (logit, id), descending
    best.reserve(k + 1);
    for (int64_t i = 0; i < n && k > 0; ++i) {
        const double l = finite(logits[i]);
        if (best.size() == k && !(l > best.back().first)) continue;
        auto at = std::upper_bound(
            best.begin(), best.end(), l,
            [](double v, const std::pair<double, int32_t>& e) { return v > e.first; });
        best.insert(at, {l, static_cast<int32_t>(i)});
        if (best.size() > k) best.pop_back();
    }
    out.top.reserve(best.size());
    for (const auto& [l, id] : best) out.top.push_back({id, logprob(id)});
    return out;
}

}  // namespace unicorn
