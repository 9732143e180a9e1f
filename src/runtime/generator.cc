#include "runtime/generator.h"

#include <algorithm>
#include <chrono>
#include <vector>

namespace unicorn {

Result<GenerationStats> generate(Session& session, const GenerateRequest& req) {
    UNI_RETURN_IF_ERROR(validate(req.sampling));
    if (req.prompt.empty()) return invalid_argument("the prompt is empty");
    if (req.max_tokens < 0) return invalid_argument("max tokens must be >= 0");
    using Clock = std::chrono::steady_clock;
    const auto seconds = [](Clock::time_point a, Clock::time_point b) {
        return std::chrono::duration<double>(b - a).count();
    };
    GenerationStats st;
    st.prompt_tokens = static_cast<int64_t>(req.prompt.size());
    std::vector<int32_t> history(req.prompt.begin(), req.prompt.end());
    Sampler sampler(req.sampling);

    const auto t0 = Clock::now();
    UNI_ASSIGN_OR_RETURN(Tensor logits, session.prefill(req.prompt, false));
    const auto t1 = Clock::now();
    st.prefill_s = seconds(t0, t1);
    for (int32_t i = 0; i < req.max_tokens; ++i) {
        const int32_t tok =
            sampler.sample(logits.row<float>(logits.rows() - 1), logits.cols(), history);
        if (i == 0) st.ttft_s = seconds(t0, Clock::now());
        if (req.is_eog && req.is_eog(tok)) {
            st.stopped_by_eog = true;
            break;
        }
        history.push_back(tok);
        st.generated_tokens++;
        st.token_times_s.push_back(seconds(t0, Clock::now()));
        if (req.on_token && !req.on_token(tok)) break;
        if (i + 1 == req.max_tokens) break;
        if (session.length() >= session.context()) break;  // context full: stop, no error
        const auto d0 = Clock::now();
        UNI_ASSIGN_OR_RETURN(logits, session.decode(tok));
        st.decode_s += seconds(d0, Clock::now());
    }
    return st;
}

double quantile(std::vector<double> values, double q) {
    if (values.empty()) return 0;
    std::sort(values.begin(), values.end());
    const double at = std::clamp(q, 0.0, 1.0) * static_cast<double>(values.size() - 1);
    const auto lo = static_cast<size_t>(at);
    const size_t hi = std::min(lo + 1, values.size() - 1);
    return values[lo] + (values[hi] - values[lo]) * (at - static_cast<double>(lo));
}

}  // namespace unicorn
