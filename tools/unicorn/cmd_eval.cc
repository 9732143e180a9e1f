// unicorn eval: perplexity of a model on a text, computed as llama.cpp's llama-perplexity does
// by default (tools/perplexity/perplexity.cpp), so the two numbers compare:
//  - the whole file is tokenized once with the vocabulary's BOS rule (add_special, no special
//    tokens parsed from the text) and cut into chunks of --ctx tokens (the tail is dropped);
//  - each chunk runs alone from an empty KV cache, its first token replaced by BOS when the
//    vocabulary adds one;
//  - only the second half is scored: the logits at positions first = ctx/2 … ctx − 2 predict
//    tokens first + 1 … ctx − 1 (ctx − 1 − first tokens a chunk), so every scored token has at
//    least ctx/2 tokens of context;
//  - PPL = exp(mean NLL), "+/-" = PPL · sqrt(var(NLL) / (n − 1)).
// --save-logits keeps the base distributions (runtime/logit_file.h), --kl-base compares with
// them (runtime/eval_metrics.h), --imatrix collects activation statistics (runtime/imatrix.h).
#include <fmt/format.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "commands.h"
#include "engine.h"
#include "eval_report.h"
#include "model_flags.h"
#include "runtime/eval_metrics.h"
#include "runtime/imatrix.h"
#include "runtime/logit_file.h"
#include "runtime/session.h"

namespace unicorn::cli {
namespace {

struct EvalOptions {
    std::string model, text;
    ModelFlags model_flags;
    int ctx = 512;
    int chunks = 0;  // 0: as many as the text holds (or the --kl-base file)
    int threads = 0;
    int batch = 256;
    std::string device = "auto";
    std::string save_logits, kl_base, imatrix;
    bool json = false;
    const CLI::Option* ctx_flag = nullptr;  // given explicitly?
};

Result<std::string> read_text(const std::string& path) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec))
        return not_found(fmt::format("text file {} does not exist or is not a file", path));
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    if (!in.good() && !in.eof()) return io_error(fmt::format("cannot read text file {}", path));
    if (ss.str().empty()) return invalid_argument(fmt::format("text file {} is empty", path));
    return ss.str();
}

// An output that cannot be written is reported before the evaluation, not after it: the file
// itself is written through `path`.tmp, so that is what must be creatable.
Status check_writable(const std::string& flag, const std::string& path) {
    if (path.empty()) return ok_status();
    const std::string tmp = path + ".tmp";
    std::FILE* f = std::fopen(tmp.c_str(), "wb");
    if (f == nullptr)
        return io_error(
            fmt::format("{} {}: cannot write {}: {}", flag, path, tmp, std::strerror(errno)));
    std::fclose(f);
    std::filesystem::remove(tmp);
    return ok_status();
}

// Per-chunk scratch shared by the scoring threads: one slot per scored row.
struct ChunkScores {
    std::vector<double> nll;
    std::vector<eval::PositionComparison> cmp;
    std::vector<uint8_t> save_rows, base_rows;
};

// Scores rows [0, scored) of one chunk's logits (row r predicts targets[r]) on every thread;
// each row is independent, so results do not depend on the thread count.
void score_chunk(ThreadPool& pool, const Tensor& logits, std::span<const int32_t> targets,
                 bool save, bool compare, ChunkScores* s) {
    const int64_t scored = static_cast<int64_t>(targets.size());
    const int64_t vocab = logits.cols();
    const size_t rb = eval::row_bytes(vocab);
    s->nll.assign(static_cast<size_t>(scored), 0.0);
    s->cmp.assign(compare ? static_cast<size_t>(scored) : 0, {});
    if (save) s->save_rows.resize(static_cast<size_t>(scored) * rb);
    pool.parallel_for(scored, 1, [&](int64_t begin, int64_t end) {
        std::vector<float> base_lp(compare ? static_cast<size_t>(vocab) : 0);
        for (int64_t r = begin; r < end; ++r) {
            const std::span<const float> row(logits.row<float>(r), static_cast<size_t>(vocab));
            s->nll[r] = -eval::log_prob(row, targets[r]);
            if (save) eval::encode_row(row, targets[r], s->save_rows.data() + r * rb);
            if (compare) {
                const eval::StoredRow b = eval::view_row(s->base_rows.data() + r * rb);
                eval::decode_row(b, base_lp);
                s->cmp[r] = eval::compare_position(row, base_lp, b.top, b.target_lp, targets[r]);
            }
        }
    });
}

int run(EvalOptions o) {
    auto text = read_text(o.text);
    if (!text.ok()) return fail(text.status().message());
    std::unique_ptr<eval::LogitFileReader> base;
    if (!o.kl_base.empty()) {
        auto b = eval::LogitFileReader::open(o.kl_base);
        if (!b.ok()) return fail(b.status().message());
        base = std::move(*b);
        if (o.ctx_flag->count() == 0) o.ctx = base->info().n_ctx;
    }
    if (o.ctx < 8) return fail(fmt::format("--ctx {} is too small (at least 8)", o.ctx));
    for (const auto& [flag, path] :
         {std::pair{"--save-logits", o.save_logits}, std::pair{"--imatrix", o.imatrix}}) {
        Status s = check_writable(flag, path);
        if (!s.ok()) return fail(s.message());
    }
    auto load = load_options(o.model_flags);
    if (!load.ok()) return fail(load.status().message());
    auto opened = Engine::open(o.model, o.threads, o.device, *load);
    if (!opened.ok()) return fail(opened.status().to_string());
    Engine& e = **opened;
    const ModelInfo& mi = e.model->info();
    const text::Tokenizer& tok = *e.tokenizer;
    if (mi.context_length > 0 && o.ctx > mi.context_length)
        return fail(fmt::format("--ctx {} exceeds the model's trained context of {} tokens", o.ctx,
                                mi.context_length));
    if (tok.add_eos_default())
        return fail(
            "this vocabulary appends EOS to every text; perplexity over chunks of one "
            "text is not defined for it (llama-perplexity refuses it too)");
    auto tokens = tok.encode(*text, /*add_special=*/true, /*parse_special=*/false);
    if (!tokens.ok()) return fail(tokens.status().to_string());
    const int64_t n_text = static_cast<int64_t>(tokens->size());
    if (n_text < 2 * static_cast<int64_t>(o.ctx))
        return fail(fmt::format("{} gives {} tokens; --ctx {} needs at least {} (two chunks)",
                                o.text, n_text, o.ctx, 2 * o.ctx));
    const int32_t max_chunks = static_cast<int32_t>(n_text / o.ctx);
    int32_t n_chunks = o.chunks > 0 ? std::min(o.chunks, max_chunks) : max_chunks;
    if (base && o.chunks == 0) n_chunks = std::min(n_chunks, base->info().n_chunks);
    if (base) {
        Status s = base->check_matches(mi.vocab, o.ctx, n_chunks, *tokens);
        if (!s.ok()) return fail(s.message());
    }
    const int32_t first = o.ctx / 2, scored = o.ctx - 1 - first;
    const std::span<const int32_t> evaluated(tokens->data(), static_cast<size_t>(n_chunks) * o.ctx);
    std::unique_ptr<eval::LogitFileWriter> saver;
    if (!o.save_logits.empty()) {
        eval::LogitFileInfo info{static_cast<int32_t>(mi.vocab), o.ctx, n_chunks,
                                 std::filesystem::path(mi.path).filename().string()};
        auto w = eval::LogitFileWriter::create(o.save_logits, info, evaluated);
        if (!w.ok()) return fail(w.status().message());
        saver = std::move(*w);
    }
    std::unique_ptr<eval::ImatrixCollector> imatrix;
    if (!o.imatrix.empty()) {
        imatrix = std::make_unique<eval::ImatrixCollector>(mi.weight_names);
        imatrix->attach(*e.ctx);
    }

    EvalRun info{mi.path, o.text,         n_text,        o.ctx,     n_chunks,
                 scored,  e.pool->size(), o.save_logits, o.kl_base, o.imatrix};
    std::FILE* progress = o.json ? stderr : stdout;
    fmt::print(progress,
               "eval: {} on {}: {} tokens, {} chunks of {} (scoring the last {} of each), {} "
               "threads\n",
               mi.path, o.text, n_text, n_chunks, o.ctx, scored, e.pool->size());
    if (base) print_kl_table_header(progress);
    EvalResult result;
    eval::KlStats kl;
    ChunkScores scores;
    const auto t0 = std::chrono::steady_clock::now();
    for (int32_t c = 0; c < n_chunks; ++c) {
        std::vector<int32_t> chunk(evaluated.begin() + static_cast<ptrdiff_t>(c) * o.ctx,
                                   evaluated.begin() + static_cast<ptrdiff_t>(c + 1) * o.ctx);
        if (tok.add_bos_default() && tok.bos() >= 0) chunk[0] = tok.bos();
        // The first half only builds context: its logits (but the last) are never computed.
        Session session(*e.model, *e.ctx, SessionOptions{o.ctx, o.batch});
        auto warm = session.prefill(std::span(chunk).first(first), /*all_logits=*/false);
        if (!warm.ok()) return fail(warm.status().to_string());
        auto logits = session.prefill(std::span(chunk).subspan(first), /*all_logits=*/true);
        if (!logits.ok()) return fail(logits.status().to_string());
        if (logits->cols() != mi.vocab)  // the saved rows are sized by the model's vocabulary
            return fail(
                fmt::format("the model gives {} logits per token but declares a "
                            "vocabulary of {}",
                            logits->cols(), mi.vocab));
        if (base) {
            Status s = base->read_chunk(c, &scores.base_rows);
            if (!s.ok()) return fail(s.message());
        }
        score_chunk(*e.pool, *logits, std::span(chunk).subspan(first + 1, scored), saver != nullptr,
                    base != nullptr, &scores);
        for (double v : scores.nll) result.ppl.add(v);
        for (const auto& cmp : scores.cmp) kl.add(cmp);
        if (saver) {
            Status s = saver->append_chunk(scores.save_rows);
            if (!s.ok()) return fail(s.message());
        }
        result.running_ppl.push_back(result.ppl.ppl());
        const eval::KlSummary running = base ? kl.summary() : eval::KlSummary{};
        print_chunk_line(progress, c + 1, result.ppl, base ? &running : nullptr);
    }
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    result.evaluated = static_cast<int64_t>(n_chunks) * o.ctx;
    if (saver) {
        Status s = saver->finish();
        if (!s.ok()) return fail(s.message());
    }
    if (imatrix) {
        eval::ImatrixCollector::detach(*e.ctx);
        Status s = imatrix->write(o.imatrix, {{o.text}, n_chunks, o.ctx});
        if (!s.ok()) return fail(s.to_string());
    }
    if (base) {
        result.kl = kl.summary();
        result.base_model = base->info().model;
    }
    if (o.json) {
        fmt::print("{}\n", report_json(info, result));
    } else {
        print_report(stdout, info, result);
    }
    return 0;
}

}  // namespace

Runner add_eval(CLI::App& app) {
    auto o = std::make_shared<EvalOptions>();
    app.add_option("-m,--model", o->model, "Model: a .gguf file or a Hugging Face directory")
        ->required();
    add_model_flags(app, o->model_flags);
    app.add_option("-f,--file", o->text,
                   "Text to evaluate (scripts/fetch-eval-text fetches the project's)")
        ->required();
    o->ctx_flag = app.add_option("-c,--ctx", o->ctx,
                                 "Tokens per chunk (default 512; with --kl-base, the file's)");
    app.add_option("--chunks", o->chunks, "Evaluate at most N chunks (default: the whole text)")
        ->check(CLI::Range(1, 1 << 24));
    app.add_option("-t,--threads", o->threads, "CPU threads (default: one per physical core)");
    app.add_option("-b,--batch", o->batch, "Tokens per forward pass (default 256)")
        ->check(CLI::Range(1, 65536));
    app.add_option("--device", o->device,
                   "Device: auto (the CPU for now), cpu, cuda[:N], vulkan[:N]");
    app.add_option("--save-logits", o->save_logits,
                   "Save the scored positions' log-probabilities (a base for --kl-base)");
    app.add_option("--kl-base", o->kl_base,
                   "Compare with a base model's --save-logits file: KL divergence, top-1 "
                   "agreement, Δp");
    app.add_option("--imatrix", o->imatrix,
                   "Write an importance matrix (llama.cpp's GGUF imatrix format) collected over "
                   "the evaluated tokens");
    app.add_flag("--json", o->json, "Print the result as one JSON object (progress on stderr)");
    return [o] { return run(*o); };
}

}  // namespace unicorn::cli
