#include "eval_report.h"

#include <fmt/format.h>

#include <cmath>
#include <utility>

namespace unicorn::cli {
namespace {

std::string json_string(const std::string& s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c < 0x20) {
            out += fmt::format("\\u{:04x}", c);
        } else {
            out += static_cast<char>(c);
        }
    }
    return out + "\"";
}

// JSON has no NaN or infinity: those become null.
std::string json_number(double v) { return std::isfinite(v) ? fmt::format("{:.10g}", v) : "null"; }

// Flat "key": value pairs of one object.
class JsonObject {
  public:
    JsonObject& num(const std::string& key, double v) { return raw(key, json_number(v)); }
    JsonObject& str(const std::string& key, const std::string& v) {
        return raw(key, json_string(v));
    }
    JsonObject& raw(const std::string& key, const std::string& v) {
        body_ += (body_.empty() ? "" : ", ") + json_string(key) + ": " + v;
        return *this;
    }
    std::string text() const { return "{" + body_ + "}"; }

  private:
    std::string body_;
};

void add_quantiles(JsonObject& o, const std::string& prefix, const eval::Quantiles& q) {
    const std::pair<const char*, double> items[] = {
        {"max", q.max}, {"p99_9", q.p99_9},   {"p99", q.p99}, {"p95", q.p95}, {"p90", q.p90},
        {"p75", q.p75}, {"median", q.median}, {"p25", q.p25}, {"p10", q.p10}, {"p5", q.p5},
        {"p1", q.p1},   {"p0_1", q.p0_1},     {"min", q.min}};
    for (const auto& [name, v] : items) o.num(prefix + name, v);
}

std::string kl_json(const eval::KlSummary& s, const std::string& base_model) {
    JsonObject o;
    o.str("base_model", base_model).num("positions", static_cast<double>(s.count));
    o.num("ppl_q", s.ppl.mean).num("ppl_q_error", s.ppl.error);
    o.num("ppl_base", s.ppl_base.mean).num("ppl_base_error", s.ppl_base.error);
    o.num("ln_ppl_correlation", s.ln_ppl_correlation);
    o.num("ln_ppl_ratio", s.ln_ppl_ratio.mean).num("ln_ppl_ratio_error", s.ln_ppl_ratio.error);
    o.num("ppl_ratio", s.ppl_ratio.mean).num("ppl_ratio_error", s.ppl_ratio.error);
    o.num("ppl_diff", s.ppl_diff.mean).num("ppl_diff_error", s.ppl_diff.error);
    o.num("kld_mean", s.kld.mean).num("kld_error", s.kld.error);
    add_quantiles(o, "kld_", s.kld_q);
    o.num("top1_agreement", s.same_top.mean).num("top1_agreement_error", s.same_top.error);
    o.num("p_diff_mean", s.p_diff.mean).num("p_diff_error", s.p_diff.error);
    add_quantiles(o, "p_diff_", s.p_diff_q);
    o.num("p_diff_rms", s.p_diff_rms.mean).num("p_diff_rms_error", s.p_diff_rms.error);
    return o.text();
}

void print_kl_report(std::FILE* out, const eval::KlSummary& s, const std::string& base_model) {
    fmt::print(out, "\nagainst base {} over {} positions\n", base_model, s.count);
    fmt::print(out, "====== Perplexity statistics ======\n");
    fmt::print(out, "Mean PPL(Q)                   : {:10.6f} ± {:10.6f}\n", s.ppl.mean,
               s.ppl.error);
    fmt::print(out, "Mean PPL(base)                : {:10.6f} ± {:10.6f}\n", s.ppl_base.mean,
               s.ppl_base.error);
    fmt::print(out, "Cor(ln(PPL(Q)), ln(PPL(base))): {:6.2f}%\n", 100.0 * s.ln_ppl_correlation);
    fmt::print(out, "Mean ln(PPL(Q)/PPL(base))     : {:10.6f} ± {:10.6f}\n", s.ln_ppl_ratio.mean,
               s.ln_ppl_ratio.error);
    fmt::print(out, "Mean PPL(Q)/PPL(base)         : {:10.6f} ± {:10.6f}\n", s.ppl_ratio.mean,
               s.ppl_ratio.error);
    fmt::print(out, "Mean PPL(Q)-PPL(base)         : {:10.6f} ± {:10.6f}\n\n", s.ppl_diff.mean,
               s.ppl_diff.error);
    fmt::print(out, "====== KL divergence statistics ======\n");
    fmt::print(out, "Mean    KLD: {:10.6f} ± {:10.6f}\n", s.kld.mean, s.kld.error);
    const eval::Quantiles& k = s.kld_q;
    const std::pair<const char*, double> kld_rows[] = {
        {"Maximum", k.max}, {"99.9%  ", k.p99_9},  {"99.0%  ", k.p99}, {"95.0%  ", k.p95},
        {"90.0%  ", k.p90}, {"Median ", k.median}, {"10.0%  ", k.p10}, {" 5.0%  ", k.p5},
        {" 1.0%  ", k.p1},  {" 0.1%  ", k.p0_1},   {"Minimum", k.min}};
    for (const auto& [label, v] : kld_rows) fmt::print(out, "{} KLD: {:10.6f}\n", label, v);
    fmt::print(out, "\n====== Token probability statistics ======\n");
    fmt::print(out, "Mean    Δp: {:6.3f} ± {:5.3f} %\n", 100.0 * s.p_diff.mean,
               100.0 * s.p_diff.error);
    const eval::Quantiles& p = s.p_diff_q;
    const std::pair<const char*, double> dp_rows[] = {
        {"Maximum", p.max}, {"99.9%  ", p.p99_9}, {"99.0%  ", p.p99},    {"95.0%  ", p.p95},
        {"90.0%  ", p.p90}, {"75.0%  ", p.p75},   {"Median ", p.median}, {"25.0%  ", p.p25},
        {"10.0%  ", p.p10}, {" 5.0%  ", p.p5},    {" 1.0%  ", p.p1},     {" 0.1%  ", p.p0_1},
        {"Minimum", p.min}};
    for (const auto& [label, v] : dp_rows) fmt::print(out, "{} Δp: {:6.3f}%\n", label, 100.0 * v);
    fmt::print(out, "RMS Δp    : {:6.3f} ± {:5.3f} %\n", 100.0 * s.p_diff_rms.mean,
               100.0 * s.p_diff_rms.error);
    fmt::print(out, "Same top p: {:6.3f} ± {:5.3f} %  (top-1 agreement)\n", 100.0 * s.same_top.mean,
               100.0 * s.same_top.error);
}

}  // namespace

void print_kl_table_header(std::FILE* out) {
    fmt::print(out,
               "chunk             PPL               ln(PPL(Q)/PPL(base))          KL Divergence  "
               "            Δp RMS            Same top p\n");
}

void print_chunk_line(std::FILE* out, int chunk, const eval::PerplexityStats& ppl,
                      const eval::KlSummary* kl) {
    if (kl == nullptr) {
        fmt::print(out, "[{}]{:.4f},", chunk, ppl.ppl());
    } else {
        fmt::print(out,
                   "{:4d}    {:9.4f} ± {:9.4f}    {:10.5f} ± {:10.5f}    {:10.5f} ± {:10.5f}    "
                   "{:6.3f} ± {:6.3f} %    {:6.3f} ± {:6.3f} %\n",
                   chunk, kl->ppl.mean, kl->ppl.error, kl->ln_ppl_ratio.mean,
                   kl->ln_ppl_ratio.error, kl->kld.mean, kl->kld.error, 100.0 * kl->p_diff_rms.mean,
                   100.0 * kl->p_diff_rms.error, 100.0 * kl->same_top.mean,
                   100.0 * kl->same_top.error);
    }
    std::fflush(out);
}

void print_report(std::FILE* out, const EvalRun& run, const EvalResult& r) {
    if (!r.kl) fmt::print(out, "\n");
    fmt::print(out, "Final estimate: PPL = {:.4f} +/- {:.5f}\n", r.ppl.ppl(), r.ppl.ppl_error());
    fmt::print(out,
               "{} tokens scored ({} chunks × {}); {} evaluated in {:.2f} s ({:.1f} tokens/s)\n",
               r.ppl.count(), run.n_chunks, run.scored_per_chunk, r.evaluated, r.seconds,
               r.seconds > 0 ? static_cast<double>(r.evaluated) / r.seconds : 0.0);
    if (r.kl) print_kl_report(out, *r.kl, r.base_model);
    if (!run.save_logits.empty())
        fmt::print(out, "saved log-probabilities to {}\n", run.save_logits);
    if (!run.imatrix.empty()) fmt::print(out, "wrote importance matrix to {}\n", run.imatrix);
}

std::string report_json(const EvalRun& run, const EvalResult& r) {
    JsonObject o;
    o.str("model", run.model).str("text", run.text);
    o.num("text_tokens", static_cast<double>(run.text_tokens)).num("n_ctx", run.n_ctx);
    o.num("chunks", run.n_chunks).num("threads", run.threads);
    o.num("tokens_scored", static_cast<double>(r.ppl.count()));
    o.num("tokens_evaluated", static_cast<double>(r.evaluated)).num("seconds", r.seconds);
    o.num("tokens_per_second", r.seconds > 0 ? static_cast<double>(r.evaluated) / r.seconds : 0.0);
    o.num("ppl", r.ppl.ppl()).num("ppl_error", r.ppl.ppl_error());
    std::string running;
    for (double v : r.running_ppl) running += (running.empty() ? "" : ", ") + json_number(v);
    o.raw("running_ppl", "[" + running + "]");
    if (!run.save_logits.empty()) o.str("save_logits", run.save_logits);
    if (!run.imatrix.empty()) o.str("imatrix", run.imatrix);
    if (r.kl) o.str("kl_base", run.kl_base).raw("kl", kl_json(*r.kl, r.base_model));
    return o.text();
}

}  // namespace unicorn::cli
