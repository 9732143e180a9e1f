// The token-level generation loop: prefill the prompt, then sample and decode one token at a
// time until end-of-generation, max_tokens, or the caller says stop. Text concerns (stop
// strings, detokenization) belong to the caller's on_token callback.
#pragma once

#include <functional>
#include <span>
#include <vector>

#include "runtime/sampler.h"
#include "runtime/session.h"

namespace unicorn {

struct GenerationStats {
    int64_t prompt_tokens = 0;
    int64_t generated_tokens = 0;
    double ttft_s = 0;     // request start → first token sampled (prefill + one sample)
    double prefill_s = 0;  // prompt forward passes
    double decode_s = 0;   // every forward pass after the prompt
    bool stopped_by_eog = false;
    // Seconds from the request's start to each generated token's sampling; the gaps between
    // consecutive entries are the inter-token latencies.
    std::vector<double> token_times_s;
    double prefill_tok_s() const {
        return prefill_s > 0 ? static_cast<double>(prompt_tokens) / prefill_s : 0;
    }
    // Tokens produced by decode passes (the first token comes from the prefill's logits).
    double decode_tok_s() const {
        return decode_s > 0 && generated_tokens > 1
                   ? static_cast<double>(generated_tokens - 1) / decode_s
                   : 0;
    }
};

struct GenerateRequest {
    std::span<const int32_t> prompt;
    int32_t max_tokens = 128;
    SamplingParams sampling;
    std::function<bool(int32_t)> is_eog;    // end-of-generation tokens (not emitted)
    std::function<bool(int32_t)> on_token;  // false: stop after this token
};

Result<GenerationStats> generate(Session& session, const GenerateRequest& req);

// The q-quantile (0..1, linear interpolation) of values; 0 for none.
double quantile(std::vector<double> values, double q);

}  // namespace unicorn
