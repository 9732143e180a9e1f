#include "runtime/eval_metrics.h"

#include <algorithm>
#include <cmath>

namespace unicorn::eval {
namespace {

// max_i v[i] and its first index.
std::pair<float, int32_t> max_and_index(std::span<const float> v) {
    float m = v[0];
    int32_t at = 0;
    for (size_t i = 1; i < v.size(); ++i) {
        if (v[i] > m) {
            m = v[i];
            at = static_cast<int32_t>(i);
        }
    }
    return {m, at};
}

// log Σ exp(v): exp() of (v − max) in float, summed in double (llama-perplexity's arithmetic).
double log_sum_exp(std::span<const float> v, float max) {
    double sum = 0.0;
    for (float x : v) sum += std::exp(x - max);
    return static_cast<double>(max) + std::log(sum);
}

}  // namespace

double log_prob(std::span<const float> logits, int32_t target) {
    const auto [max, at] = max_and_index(logits);
    return static_cast<double>(logits[static_cast<size_t>(target)]) - log_sum_exp(logits, max);
}

int32_t argmax(std::span<const float> values) { return max_and_index(values).second; }

MeanError mean_and_error(double sum, double sum_sq, int64_t n) {
    if (n < 1) return {};
    const double count = static_cast<double>(n);
    const double mean = sum / count;
    const double var = sum_sq / count - mean * mean;
    return {mean, var > 0 && n > 10 ? std::sqrt(var / (count - 1)) : 0.0};
}

double PerplexityStats::ppl() const { return std::exp(mean_nll()); }

double PerplexityStats::ppl_error() const {
    if (n_ < 2) return 0.0;
    const double mean = mean_nll();
    const double var = sum_sq_ / static_cast<double>(n_) - mean * mean;
    return var > 0 ? ppl() * std::sqrt(var / static_cast<double>(n_ - 1)) : 0.0;
}

PositionComparison compare_position(std::span<const float> logits,
                                    std::span<const float> base_log_probs, int32_t base_top,
                                    float base_target_log_prob, int32_t target) {
    const auto [max, top] = max_and_index(logits);
    const double lse = log_sum_exp(logits, max);
    PositionComparison c;
    c.nll = lse - static_cast<double>(logits[static_cast<size_t>(target)]);
    c.nll_base = -static_cast<double>(base_target_log_prob);
    // Tokens the base gives no mass (−inf) contribute p·log p → 0.
    double kld = 0.0;
    for (size_t i = 0; i < logits.size(); ++i) {
        const double lp_base = base_log_probs[i];
        if (!std::isfinite(lp_base)) continue;
        kld += std::exp(lp_base) * (lp_base - (static_cast<double>(logits[i]) - lse));
    }
    c.kld = kld;
    c.same_top = top == base_top;
    c.p_diff = std::exp(-c.nll) - std::exp(-c.nll_base);
    return c;
}

double percentile(std::span<const double> sorted, double fraction) {
    if (fraction <= 0) return sorted.front();
    if (fraction >= 1) return sorted.back();
    const double p = fraction * static_cast<double>(sorted.size() - 1);
    const size_t i = static_cast<size_t>(p);
    const double f = p - static_cast<double>(i);
    return (1 - f) * sorted[i] + f * sorted[std::min(i + 1, sorted.size() - 1)];
}

Quantiles quantiles(std::vector<double> values) {
    Quantiles q;
    if (values.empty()) return q;
    std::sort(values.begin(), values.end());
    const std::span<const double> s(values);
    q.min = s.front();
    q.p0_1 = percentile(s, 0.001);
    q.p1 = percentile(s, 0.01);
    q.p5 = percentile(s, 0.05);
    q.p10 = percentile(s, 0.10);
    q.p25 = percentile(s, 0.25);
    q.median = percentile(s, 0.5);  // the middle value, or the mean of the middle two
    q.p75 = percentile(s, 0.75);
    q.p90 = percentile(s, 0.90);
    q.p95 = percentile(s, 0.95);
    q.p99 = percentile(s, 0.99);
    q.p99_9 = percentile(s, 0.999);
    q.max = s.back();
    return q;
}

void KlStats::add(const PositionComparison& c) {
    nll_ += c.nll;
    nll_sq_ += c.nll * c.nll;
    nll_base_ += c.nll_base;
    nll_base_sq_ += c.nll_base * c.nll_base;
    nll_cross_ += c.nll * c.nll_base;
    kld_ += c.kld;
    kld_sq_ += c.kld * c.kld;
    const double d2 = c.p_diff * c.p_diff;
    p_diff_ += c.p_diff;
    p_diff_sq_ += d2;
    p_diff_4_ += d2 * d2;
    same_top_ += c.same_top ? 1 : 0;
    ++n_;
    kld_values_.push_back(c.kld);
    p_diff_values_.push_back(c.p_diff);
}

KlSummary KlStats::summary() const {
    KlSummary s;
    s.count = n_;
    if (n_ == 0) return s;
    const double n = static_cast<double>(n_);
    const MeanError log_ppl = mean_and_error(nll_, nll_sq_, n_);
    const MeanError log_ppl_base = mean_and_error(nll_base_, nll_base_sq_, n_);
    s.ppl = {std::exp(log_ppl.mean), std::exp(log_ppl.mean) * log_ppl.error};
    s.ppl_base = {std::exp(log_ppl_base.mean), std::exp(log_ppl_base.mean) * log_ppl_base.error};
    // Covariance of the two mean NLLs (not of single values: divided by n − 1 once more).
    const double cov = n_ < 10 ? 0.0 : (nll_cross_ / n - (nll_ / n) * (nll_base_ / n)) / (n - 1);
    const double err_product = log_ppl.error * log_ppl_base.error;
    s.ln_ppl_correlation = err_product > 0 ? cov / err_product : 0.0;
    const double ln_ratio_var =
        log_ppl.error * log_ppl.error + log_ppl_base.error * log_ppl_base.error - 2.0 * cov;
    s.ln_ppl_ratio = {log_ppl.mean - log_ppl_base.mean, std::sqrt(std::max(0.0, ln_ratio_var))};
    const double ratio = std::exp(s.ln_ppl_ratio.mean);
    s.ppl_ratio = {ratio, ratio * s.ln_ppl_ratio.error};
    const double diff_var = s.ppl.error * s.ppl.error + s.ppl_base.error * s.ppl_base.error -
                            2.0 * s.ppl.mean * s.ppl_base.mean * cov;
    s.ppl_diff = {s.ppl.mean - s.ppl_base.mean, std::sqrt(std::max(0.0, diff_var))};
    s.kld = mean_and_error(kld_, kld_sq_, n_);
    s.kld_q = quantiles(kld_values_);
    s.p_diff = mean_and_error(p_diff_, p_diff_sq_, n_);
    s.p_diff_q = quantiles(p_diff_values_);
    const MeanError mse = mean_and_error(p_diff_sq_, p_diff_4_, n_);
    const double rms = std::sqrt(mse.mean);
    s.p_diff_rms = {rms, rms > 0 ? 0.5 / rms * mse.error : 0.0};
    const double top = static_cast<double>(same_top_) / n;
    s.same_top = {top, n_ > 1 ? std::sqrt(top * (1 - top) / (n - 1)) : 0.0};
    return s;
}

}  // namespace unicorn::eval
