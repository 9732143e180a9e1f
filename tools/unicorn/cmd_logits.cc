// unicorn logits: a teacher-forced pass over given token ids, written as float32 [T, vocab]
// .npy; with --greedy N, N more tokens decoded one at a time through the KV cache, printed as a
// JSON array on the last line of stdout.
#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <memory>
#include <numeric>

#include "backend/backend.h"
#include "backend/registry.h"
#include "commands.h"
#include "core/thread_pool.h"
#include "exec/exec_context.h"
#include "io/npy.h"
#include "model_flags.h"
#include "models/registry.h"
#include "runtime/session.h"

namespace unicorn::cli {
namespace {

struct LogitsOptions {
    std::string model;
    ModelFlags model_flags;
    std::string tokens;
    std::string output;
    int greedy = 0;
    int top = 0;
    int threads = 0;
    int chunk = 256;
    std::string device = "auto";
    int dump_row = -1;  // >= 0: print each named intermediate's row (first/last values, sum)
};

// One line per named intermediate, for finding where two engines part (llama.cpp's
// llama-eval-callback prints the same: leading and trailing values and the sum).
void print_intermediate(const std::string& name, const Tensor& t, int64_t row) {
    if (t.dtype() != DType::kF32 || t.shape().rank() != 2 || row >= t.rows()) return;
    const float* v = t.row<const float>(row);
    const int64_t n = t.cols();
    double sum = 0;
    for (int64_t i = 0; i < n; ++i) sum += v[i];
    std::string line = fmt::format("dump {:<20} [{}]", name, n);
    for (int64_t i = 0; i < std::min<int64_t>(3, n); ++i) line += fmt::format(" {:.4f}", v[i]);
    line += " ...";
    for (int64_t i = std::max<int64_t>(3, n - 3); i < n; ++i) line += fmt::format(" {:.4f}", v[i]);
    std::fprintf(stderr, "%s sum=%.6f\n", line.c_str(), sum);
}

Result<std::vector<int32_t>> parse_tokens(const std::string& s) {
    std::vector<int32_t> ids;
    size_t pos = 0;
    while (pos <= s.size()) {
        const size_t end = std::min(s.find(',', pos), s.size());
        const std::string item = s.substr(pos, end - pos);
        int64_t v = 0;
        const auto [p, ec] = std::from_chars(item.data(), item.data() + item.size(), v);
        if (item.empty() || ec != std::errc() || p != item.data() + item.size() || v < 0 ||
            v > INT32_MAX)
            return invalid_argument(fmt::format(
                "--tokens: '{}' is not a token id (expected comma-separated non-negative integers)",
                item));
        ids.push_back(static_cast<int32_t>(v));
        pos = end + 1;
    }
    return ids;
}

int run(const LogitsOptions& o) {
    auto ids = parse_tokens(o.tokens);
    if (!ids.ok()) return fail(ids.status().message());
    if (o.greedy < 0) return fail("--greedy must be >= 0");
    if (o.dump_row >= static_cast<int64_t>(ids->size()))
        return fail(fmt::format("--dump {}: there are only {} tokens (rows 0..{})", o.dump_row,
                                ids->size(), ids->size() - 1));
    auto load = load_options(o.model_flags);
    if (!load.ok()) return fail(load.status().message());
    auto model = load_model(o.model, *load);
    if (!model.ok()) return fail(model.status().to_string());
    ThreadPool pool(o.threads);
    auto backend = create_backend(o.device, pool);
    if (!backend.ok()) return fail(backend.status().message());
    auto cpu = create_backend("cpu", pool);
    ExecContext ctx(**backend, **cpu);
    SessionOptions so;
    so.context = static_cast<int32_t>(ids->size()) + o.greedy + 1;
    so.chunk = o.chunk;
    if (o.dump_row >= 0)
        ctx.set_dump_hook([row = o.dump_row](const std::string& name, const Tensor& t) {
            print_intermediate(name, t, row);
        });
    Session session(**model, ctx, so);
    auto logits = session.prefill(*ids, /*all_logits=*/true);
    if (!logits.ok()) return fail(logits.status().to_string());
    if (!o.output.empty()) {
        Status s =
            io::write_npy_f32(o.output, {logits->rows(), logits->cols()}, logits->data_as<float>());
        if (!s.ok()) return fail(s.to_string());
    }
    // Same line format as bench/peer/llama-refs top1, so the two can be compared directly.
    for (int64_t r = 0; o.top > 0 && r < logits->rows(); ++r) {
        const float* row = logits->row<float>(r);
        std::vector<int32_t> order(static_cast<size_t>(logits->cols()));
        std::iota(order.begin(), order.end(), 0);
        const auto k = std::min<size_t>(static_cast<size_t>(o.top), order.size());
        std::partial_sort(
            order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k), order.end(),
            [&](int32_t a, int32_t b) { return row[a] > row[b] || (row[a] == row[b] && a < b); });
        std::string line = std::to_string(r);
        for (size_t i = 0; i < k; ++i) line += fmt::format(" {} {:.6f}", order[i], row[order[i]]);
        std::printf("%s\n", line.c_str());
    }
    if (o.greedy > 0) {
        auto next =
            session.greedy(logits->slice_rows(logits->rows() - 1, logits->rows()), o.greedy);
        if (!next.ok()) return fail(next.status().to_string());
        std::string json = "[";
        for (size_t i = 0; i < next->size(); ++i)
            json += (i ? "," : "") + std::to_string((*next)[i]);
        std::printf("%s]\n", json.c_str());
    }
    return 0;
}

}  // namespace

Runner add_logits(CLI::App& app) {
    auto o = std::make_shared<LogitsOptions>();
    app.add_option("-m,--model", o->model, "Model: a .gguf file or a Hugging Face directory")
        ->required();
    add_model_flags(app, o->model_flags);
    app.add_option("--tokens", o->tokens,
                   "Comma-separated token ids, e.g. 2,17,42 (include BOS yourself)")
        ->required();
    app.add_option("-o,--output", o->output,
                   "Write float32 logits [n_tokens, vocab] to this .npy file");
    app.add_option("--greedy", o->greedy,
                   "Also decode N tokens greedily; prints them as a JSON array (last stdout line)");
    app.add_option(
           "--top", o->top,
           "Print the K best ids per position: 'POS ID LOGIT ID LOGIT …' (as llama-refs top1)")
        ->check(CLI::Range(0, 1000));
    app.add_option("-t,--threads", o->threads, "CPU threads (default: one per physical core)");
    app.add_option("--chunk", o->chunk, "Prefill chunk size in tokens")
        ->check(CLI::Range(1, 65536));
    app.add_option("--device", o->device,
                   "Device: auto (the CPU for now), cpu, cuda[:N], vulkan[:N]");
    app.add_option("--dump", o->dump_row,
                   "Print every named intermediate's row R to stderr (first and last values and "
                   "the sum, as llama-eval-callback does)")
        ->check(CLI::Range(0, 1 << 30));
    return [o] { return run(*o); };
}

}  // namespace unicorn::cli
