// unicorn quantize IN OUT TYPE: a GGUF or HF directory → a GGUF quantized with llama.cpp's
// per-tensor type mixes (models/quantize_model.h), with a progress bar on stderr and a summary
// on stdout.
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "commands.h"
#include "core/thread_pool.h"
#include "hybrid_quantize.h"
#include "models/quantize_model.h"

namespace unicorn::cli {
namespace {

struct QuantizeFlags {
    std::string input, output, type;
    int threads = 0;
    bool allow_requantize = false, pure = false;
    std::string output_tensor_type, token_embedding_type;
    std::string imatrix;
    HybridFlags hybrid;  // TYPE "hybrid": the preset's own options
};

// An interrupted run must not leave a partial file: the handler removes both temporary names
// (async-signal-safe: unlink on preformatted paths), then dies of the same signal.
char g_temp_paths[2][4096];

void remove_partial_and_die(int sig) {
    for (const char* p : g_temp_paths)
        if (p[0] != '\0') ::unlink(p);
    std::signal(sig, SIG_DFL);
    std::raise(sig);
}

void guard_temp_files(const std::string& output) {
    const std::string tmp = quantize_temp_path(output);
    std::snprintf(g_temp_paths[0], sizeof(g_temp_paths[0]), "%s", tmp.c_str());
    std::snprintf(g_temp_paths[1], sizeof(g_temp_paths[1]), "%s.tmp", tmp.c_str());
    std::signal(SIGINT, remove_partial_and_die);
    std::signal(SIGTERM, remove_partial_and_die);
    std::signal(SIGHUP, remove_partial_and_die);
}

std::string mib(double bytes) { return fmt::format("{:.2f} MiB", bytes / (1024.0 * 1024.0)); }

// A one-line bar redrawn in place on a terminal; one plain line per finished tensor otherwise
// (logs, pipes, CI).
class ProgressBar {
  public:
    ProgressBar() : tty_(::isatty(::fileno(stderr)) != 0), start_(Clock::now()) {}

    void update(const QuantizeProgress& p) {
        const bool done = p.rows_done == p.rows;
        const double secs = std::chrono::duration<double>(Clock::now() - start_).count();
        const double mbps = secs > 0 ? static_cast<double>(p.bytes_in) / secs / 1e6 : 0.0;
        const std::string types =
            p.from == p.to ? fmt::format("{} (copied)", dtype_name(p.to))
                           : fmt::format("{} → {}", dtype_name(p.from), dtype_name(p.to));
        if (!tty_) {
            if (done)
                fmt::print(stderr, "[{:>4}/{}] {:<40} {:<16} {:<22} {} → {}  {:.1f} MB/s\n",
                           p.index + 1, p.count, *p.name, p.shape->to_string(), types,
                           mib(static_cast<double>(p.tensor_bytes_in)),
                           mib(static_cast<double>(p.tensor_bytes_out)), mbps);
            return;
        }
        // Redraw at most 10 times a second, and for the last chunk of each tensor.
        if (!done && secs - last_draw_ < 0.1) return;
        last_draw_ = secs;
        constexpr int kWidth = 24;
        const double frac = p.total_bytes_in > 0 ? static_cast<double>(p.bytes_in) /
                                                       static_cast<double>(p.total_bytes_in)
                                                 : 1.0;
        const int filled = static_cast<int>(frac * kWidth);
        fmt::print(stderr, "\r\033[K[{:>4}/{}] [{}{}] {:3.0f}%  {}  {}  {:.1f} MB/s", p.index + 1,
                   p.count, std::string(filled, '#'), std::string(kWidth - filled, '.'),
                   frac * 100.0, *p.name, types, mbps);
        std::fflush(stderr);
    }

    void finish() {
        if (tty_) fmt::print(stderr, "\n");
    }

  private:
    using Clock = std::chrono::steady_clock;
    bool tty_;
    Clock::time_point start_;
    double last_draw_ = -1.0;
};

void print_summary(const QuantizeFlags& f, const QuantizeSummary& s, int threads) {
    fmt::print("quantized {} → {} as {} in {:.2f} s ({} threads)\n", f.input, f.output, s.scheme,
               s.seconds, threads);
    std::string types;
    for (const auto& [name, n] : s.output_types)
        types += fmt::format("{}{} ×{}", types.empty() ? "" : ", ", name, n);
    fmt::print("  tensors:     {} ({} converted, {} given a fallback type for their row length)\n",
               s.n_tensors, s.n_converted, s.n_fallback);
    fmt::print("  types:       {}\n", types);
    if (!f.imatrix.empty())
        fmt::print("  imatrix:     {} ({} tensors importance-weighted)\n", f.imatrix, s.n_weighted);
    const double elems = static_cast<double>(s.n_elements);
    fmt::print("  size:        {} → {} of tensor data; file {}\n",
               mib(static_cast<double>(s.input_tensor_bytes)),
               mib(static_cast<double>(s.output_tensor_bytes)),
               mib(static_cast<double>(s.output_file_bytes)));
    fmt::print("  bits/weight: {:.2f} ({:.2f} in); {:.2f}× smaller than BF16\n",
               8.0 * static_cast<double>(s.output_tensor_bytes) / elems,
               8.0 * static_cast<double>(s.input_tensor_bytes) / elems,
               2.0 * elems / static_cast<double>(s.output_tensor_bytes));
}

bool is_hybrid(const std::string& type) {
    std::string t = type;
    for (char& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return t == "hybrid";
}

int run_quantize(const QuantizeFlags& f) {
    if (is_hybrid(f.type)) {
        if (f.pure || !f.output_tensor_type.empty() || !f.token_embedding_type.empty())
            return fail(
                "--pure, --output-tensor-type and --token-embedding-type do not apply to "
                "hybrid (it chooses every type)");
        HybridFlags h = f.hybrid;
        h.input = f.input;
        h.output = f.output;
        h.imatrix = f.imatrix;
        h.threads = f.threads;
        h.allow_requantize = f.allow_requantize;
        guard_temp_files(f.output);
        return run_hybrid_quantize(h);
    }
    if (f.hybrid.target_kld > 0) return fail("--target-kld applies only to TYPE hybrid");
    QuantizeOptions o;
    o.input = f.input;
    o.output = f.output;
    o.allow_requantize = f.allow_requantize;
    o.threads = f.threads;
    auto scheme = find_quant_scheme(f.type);
    if (!scheme.ok()) return fail(scheme.status().message());
    o.request.scheme = *scheme;
    o.request.pure = f.pure;
    o.imatrix_path = f.imatrix;
    for (const auto& [flag, value, slot] :
         {std::tuple{"--output-tensor-type", &f.output_tensor_type, &o.request.output_type},
          std::tuple{"--token-embedding-type", &f.token_embedding_type,
                     &o.request.token_embd_type}}) {
        if (value->empty()) continue;
        auto t = parse_quant_tensor_type(*value);
        if (!t.ok()) return fail(fmt::format("{}: {}", flag, t.status().message()));
        *slot = *t;
    }
    guard_temp_files(f.output);
    ProgressBar bar;
    auto summary = quantize_model(o, [&bar](const QuantizeProgress& p) { bar.update(p); });
    bar.finish();
    if (!summary.ok()) return fail(summary.status().to_string());
    print_summary(f, *summary, f.threads > 0 ? f.threads : ThreadPool::default_thread_count());
    return 0;
}

}  // namespace

Runner add_quantize(CLI::App& app) {
    auto f = std::make_shared<QuantizeFlags>();
    app.add_option("input", f->input,
                   "Model to quantize: a .gguf (F32/F16/BF16, or quantized with "
                   "--allow-requantize) or a Hugging Face directory")
        ->required();
    app.add_option("output", f->output,
                   "Output .gguf (written to a temporary name, renamed when complete)")
        ->required();
    app.add_option("type", f->type,
                   "F32, F16, BF16, Q8_0, Q6_K, Q5_K_M, Q5_K_S, Q4_K_M, Q4_K_S, Q5_0, Q5_1, Q4_0, "
                   "Q4_1, Q3_K_M, Q3_K_S, Q3_K_L or Q2_K (llama-quantize's mixes; any case), or "
                   "hybrid (per-tensor types from measured sensitivity, with --target-kld)")
        ->required();
    app.add_option("-t,--threads", f->threads, "Threads (default: one per core)")
        ->check(CLI::Range(0, 1024));
    app.add_flag("--allow-requantize", f->allow_requantize,
                 "Dequantize quantized input tensors and quantize them again (adds both errors)");
    app.add_flag("--pure", f->pure,
                 "No mix: every quantizable tensor gets TYPE's base type (or its row-length "
                 "fallback)");
    app.add_option("--output-tensor-type", f->output_tensor_type,
                   "Type of output.weight (e.g. Q8_0, F16)");
    app.add_option("--token-embedding-type", f->token_embedding_type,
                   "Type of token_embd.weight (and Gemma 3n's per_layer_token_embd.weight)");
    app.add_option("--imatrix", f->imatrix,
                   "Importance matrix (llama.cpp's GGUF format, from `unicorn eval --imatrix` or "
                   "llama-imatrix): weight the quantization error by each input's activations");
    app.add_option("--target-kld", f->hybrid.target_kld,
                   "hybrid: the mean KL divergence from the input (nats) to stay under");
    app.add_option("--calib", f->hybrid.calib,
                   "hybrid: calibration text (default: the fetched evaluation text, whose first "
                   "part is Botchan)");
    app.add_option("--eval-text", f->hybrid.eval_text,
                   "hybrid: held-out text on which the result's real KLD is measured");
    app.add_option("--calib-chunks", f->hybrid.calib_chunks,
                   "hybrid: chunks of the calibration text per sensitivity run (default 1)")
        ->check(CLI::Range(1, 1000));
    app.add_option("--eval-chunks", f->hybrid.eval_chunks,
                   "hybrid: chunks of the held-out text (default 8)")
        ->check(CLI::Range(1, 100000));
    app.add_option("--ctx", f->hybrid.ctx, "hybrid: tokens per chunk (default 512)")
        ->check(CLI::Range(8, 1 << 20));
    return [f] { return run_quantize(*f); };
}

}  // namespace unicorn::cli
