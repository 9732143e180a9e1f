// Evaluation metrics over teacher-forced logits: perplexity and, against a base model's
// log-probabilities, KL divergence, top-1 agreement and token-probability differences — the
// statistics llama.cpp's llama-perplexity prints (tools/perplexity/perplexity.cpp, default mode
// and --kl-divergence), with the same definitions and error estimates so numbers compare.
//
// Per position the functions here are pure; the accumulators take positions in a fixed order,
// so a result depends only on the logits, never on how many threads computed them.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace unicorn::eval {

// log p(target) under softmax(logits): the maximum subtracted, exp() in float and summed in
// double, as llama-perplexity does.
double log_prob(std::span<const float> logits, int32_t target);

// Index of the largest value (the first one on ties).
int32_t argmax(std::span<const float> values);

// A mean and the standard error of that mean, sqrt(var / (n − 1)) — llama.cpp's
// mean_and_uncertainty, which reports 0 for the error when n ≤ 10.
struct MeanError {
    double mean = 0;
    double error = 0;
};
MeanError mean_and_error(double sum, double sum_sq, int64_t n);

// Running perplexity over scored tokens: PPL = exp(mean NLL), error PPL · stderr(NLL) (the
// "+/-" of llama-perplexity's "Final estimate").
class PerplexityStats {
  public:
    void add(double nll) {
        sum_ += nll;
        sum_sq_ += nll * nll;
        ++n_;
    }
    int64_t count() const { return n_; }
    double mean_nll() const { return n_ > 0 ? sum_ / static_cast<double>(n_) : 0.0; }
    double ppl() const;
    // 0 while fewer than two tokens are scored or the variance rounds to ≤ 0.
    double ppl_error() const;

  private:
    double sum_ = 0, sum_sq_ = 0;
    int64_t n_ = 0;
};

// One scored position of the evaluated model Q against the base.
struct PositionComparison {
    double kld = 0;       // KL(base ‖ Q) = Σ p_base · (log p_base − log p_Q), in nats
    double nll = 0;       // −log p_Q(target)
    double nll_base = 0;  // −log p_base(target)
    double p_diff = 0;    // p_Q(target) − p_base(target)
    bool same_top = false;
};

// `logits` are Q's raw logits; `base_log_probs` the base's normalized log-probabilities, where
// −inf marks a token the base gives (practically) no mass (it is left out of the KL sum);
// `base_top` the base's argmax and `base_target_log_prob` its exact log p(target).
PositionComparison compare_position(std::span<const float> logits,
                                    std::span<const float> base_log_probs, int32_t base_top,
                                    float base_target_log_prob, int32_t target);

// Linear interpolation between the sorted values at fraction·(n − 1) (llama-perplexity's
// percentile); `sorted` must be non-empty and ascending.
double percentile(std::span<const double> sorted, double fraction);

struct Quantiles {
    double min = 0, p0_1 = 0, p1 = 0, p5 = 0, p10 = 0, p25 = 0, median = 0, p75 = 0, p90 = 0,
           p95 = 0, p99 = 0, p99_9 = 0, max = 0;
};
Quantiles quantiles(std::vector<double> values);  // all zero when values is empty

// Everything llama-perplexity --kl-divergence reports, in its units (nats; probabilities as
// fractions, not percent).
struct KlSummary {
    int64_t count = 0;
    MeanError ppl, ppl_base;        // PPL(Q), PPL(base) with their errors
    double ln_ppl_correlation = 0;  // Cor(ln PPL(Q), ln PPL(base))
    MeanError ln_ppl_ratio;         // ln(PPL(Q)/PPL(base))
    MeanError ppl_ratio;            // PPL(Q)/PPL(base)
    MeanError ppl_diff;             // PPL(Q) − PPL(base)
    MeanError kld;                  // mean KL divergence
    Quantiles kld_q;                // its distribution over positions
    MeanError p_diff;               // mean Δp = p_Q(target) − p_base(target)
    Quantiles p_diff_q;
    MeanError p_diff_rms;  // RMS Δp
    MeanError same_top;    // fraction of positions where the argmaxes agree
};

// Positions in order; summary() can be called at any point (the per-chunk running line).
class KlStats {
  public:
    void add(const PositionComparison& c);
    int64_t count() const { return n_; }
    KlSummary summary() const;

  private:
    double nll_ = 0, nll_sq_ = 0, nll_base_ = 0, nll_base_sq_ = 0, nll_cross_ = 0;
    double kld_ = 0, kld_sq_ = 0;
    double p_diff_ = 0, p_diff_sq_ = 0, p_diff_4_ = 0;
    int64_t same_top_ = 0, n_ = 0;
    std::vector<double> kld_values_, p_diff_values_;
};

}  // namespace unicorn::eval
