// Token sampling: repetition penalty, then top-k, top-p and min-p on the untempered
// distribution, then temperature and a seeded draw — llama.cpp's default order
// (penalties; top_k; top_p; min_p; temperature; dist), so the same settings mean the same
// thing in both. temperature <= 0 is greedy (argmax after the penalty).
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "core/status.h"

namespace unicorn {

struct SamplingParams {
    float temperature = 0.8f;
    int32_t top_k = 40;           // 0: off
    float top_p = 0.95f;          // 1: off
    float min_p = 0.05f;          // 0: off
    float repeat_penalty = 1.0f;  // 1: off
    int32_t repeat_last_n = 64;   // tokens of history the penalty looks at
    uint64_t seed = 0xC0FFEE;
};

// Rejects values that have no meaning (negative top-k, top-p outside (0, 1], …) with a message
// naming the parameter.
Status validate(const SamplingParams& p);

// Log-probabilities of one step for API clients (OpenAI `logprobs`). They are log-softmax of the
// model's raw logits — before the repetition penalty, temperature and top-k/top-p/min-p — which
// is what OpenAI and llama-server report: a property of the model, not of the sampling settings.
struct TokenLogprob {
    int32_t id = -1;
    double logprob = 0.0;  // <= 0
};
struct StepLogprobs {
    TokenLogprob chosen;            // the sampled token
    std::vector<TokenLogprob> top;  // the `top_n` most likely, most likely first; ties: lower id
};
// Over logits [n] (double accumulation: the log-sum-exp of a 262k vocabulary); `top_n` is
// clamped to [0, n]. Non-finite logits count as -inf (probability 0).
StepLogprobs step_logprobs(const float* logits, int64_t n, int32_t chosen, int top_n);

class Sampler {
  public:
    explicit Sampler(const SamplingParams& p);

    // Picks a token from logits [n]. `history` is the sequence so far (prompt + generated),
    // used by the repetition penalty.
    int32_t sample(const float* logits, int64_t n, std::span<const int32_t> history);

    // The probabilities the draw would use, after every filter, indexed by token (zeros for
    // filtered tokens). For tests and logprobs.
    std::vector<double> distribution(const float* logits, int64_t n,
                                     std::span<const int32_t> history);

  private:
    struct Candidate {
        int32_t id;
        float logit;
        double p;
    };
    // Candidates surviving penalty + top-k/top-p/min-p, with p = tempered softmax.
    std::vector<Candidate>& filter(const float* logits, int64_t n,
                                   std::span<const int32_t> history);

    SamplingParams p_;
    std::mt19937_64 rng_;
    std::vector<Candidate> cand_;
    std::vector<float> penalized_;  // the logits after the repetition penalty
};

}  // namespace unicorn
