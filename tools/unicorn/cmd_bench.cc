// unicorn bench: llama-bench-style throughput — pp N (prompt processing: one forward pass
// over N tokens) and tg N (N tokens decoded one at a time from an empty cache), mean ± sd
// over repetitions after one warm-up, as a markdown table or JSON.
#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <random>

#include "backend/registry.h"
#include "commands.h"
#include "core/cpu_features.h"
#include "core/thread_pool.h"
#include "exec/exec_context.h"
#include "model_flags.h"
#include "models/registry.h"
#include "profile_report.h"
#include "runtime/session.h"
#include "svg_plot.h"

namespace unicorn::cli {
namespace {

struct BenchOptions {
    std::string model;
    ModelFlags model_flags;
    std::vector<int> prompt = {512};
    std::vector<int> gen = {128};
    int reps = 5;
    int threads = 0;
    std::string output = "md";
    std::string device = "auto";
    bool profile = false;
    std::string plot;  // SVG file: tokens/s against length
};

struct Row {
    std::string test;
    int n_prompt = 0, n_gen = 0;
    std::vector<double> tps;
    double mean() const {
        double s = 0;
        for (double v : tps) s += v;
        return tps.empty() ? 0 : s / static_cast<double>(tps.size());
    }
    double sd() const {
        if (tps.size() < 2) return 0;
        const double m = mean();
        double s = 0;
        for (double v : tps) s += (v - m) * (v - m);
        return std::sqrt(s / static_cast<double>(tps.size() - 1));
    }
};

// `--plot`: prefill and decode tokens/s against their lengths, one line each.
Status write_plot(const std::string& path, const std::vector<Row>& rows, const std::string& arch,
                  const std::string& device) {
    PlotSeries pp{"prefill (pp)", {}}, tg{"decode (tg)", {}};
    for (const Row& r : rows) {
        if (r.n_prompt > 0) pp.points.push_back({double(r.n_prompt), r.mean(), r.sd()});
        if (r.n_gen > 0) tg.points.push_back({double(r.n_gen), r.mean(), r.sd()});
    }
    std::vector<PlotSeries> series;
    for (PlotSeries* s : {&pp, &tg})
        if (!s->points.empty()) series.push_back(std::move(*s));
    const std::string svg =
        svg_line_chart(fmt::format("unicorn bench: {} on {}", arch, device),
                       "tokens (prompt length / generated)", "tokens/s", series);
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (f == nullptr) return io_error(fmt::format("--plot: cannot write '{}'", path));
    const bool ok = std::fwrite(svg.data(), 1, svg.size(), f) == svg.size();
    if (std::fclose(f) != 0 || !ok) return io_error(fmt::format("--plot: cannot write '{}'", path));
    return ok_status();
}

// Seconds for one repetition, or an error.
Result<double> run_once(Model& model, ExecContext& ctx, int n_prompt, int n_gen,
                        std::mt19937& rng) {
    std::uniform_int_distribution<int32_t> tok(0, static_cast<int32_t>(model.info().vocab - 1));
    const int32_t chunk = std::max(1, n_prompt);
    Session s(model, ctx, SessionOptions{n_prompt + n_gen + 1, chunk});
    std::vector<int32_t> ids(static_cast<size_t>(std::max(n_prompt, 1)));
    for (auto& t : ids) t = tok(rng);
    if (model.info().bos_token >= 0) ids[0] = model.info().bos_token;
    const auto t0 = std::chrono::steady_clock::now();
    if (n_prompt > 0) {
        UNI_ASSIGN_OR_RETURN(Tensor l, s.prefill(ids, false));
        (void)l;
    } else {
        for (int i = 0; i < n_gen; ++i) UNI_RETURN_IF_ERROR(s.decode(tok(rng)).status());
    }
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int run(const BenchOptions& o) {
    if (o.reps < 1) return fail("-r must be >= 1");
    auto load = load_options(o.model_flags);
    if (!load.ok()) return fail(load.status().message());
    auto model = load_model(o.model, *load);
    if (!model.ok()) return fail(model.status().to_string());
    if (!o.plot.empty()) {  // an unwritable --plot fails now, not after the benchmark
        std::FILE* f = std::fopen(o.plot.c_str(), "ab");
        if (f == nullptr) return fail(fmt::format("--plot: cannot write '{}'", o.plot));
        std::fclose(f);
    }
    ThreadPool pool(o.threads);
    auto backend = create_backend(o.device, pool);
    if (!backend.ok()) return fail(backend.status().message());
    auto cpu = create_backend("cpu", pool);
    ExecContext ctx(**backend, **cpu);
    ctx.set_profiling(o.profile);
    std::mt19937 rng(1234);
    std::vector<Row> rows;
    const auto wall0 = std::chrono::steady_clock::now();
    for (int p : o.prompt)
        if (p > 0) rows.push_back({fmt::format("pp{}", p), p, 0, {}});
    for (int g : o.gen)
        if (g > 0) rows.push_back({fmt::format("tg{}", g), 0, g, {}});
    for (Row& r : rows) {
        for (int rep = 0; rep <= o.reps; ++rep) {  // rep 0 is the warm-up
            auto sec = run_once(**model, ctx, r.n_prompt, r.n_gen, rng);
            if (!sec.ok()) return fail(sec.status().to_string());
            if (rep > 0) r.tps.push_back((r.n_prompt + r.n_gen) / *sec);
        }
    }
    if (!o.plot.empty()) {
        Status s = write_plot(o.plot, rows, (*model)->info().architecture, (*backend)->name());
        if (!s.ok()) return fail(s.message());
    }
    if (o.profile)
        print_profile(
            ctx, std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count(),
            o.output == "json");
    // A device backend's own counts (CUDA: steps run directly, captured, replayed as graphs).
    std::string counters;
    for (const auto& [name, n] : (*backend)->counters())
        counters += fmt::format("{}{} {}", counters.empty() ? "" : ", ", name, n);
    if (!counters.empty()) fmt::print(stderr, "{}: {}\n", (*backend)->name(), counters);
    const ModelInfo& i = (*model)->info();
    std::string types;
    for (const auto& [t, n] : i.tensor_types) types += (types.empty() ? "" : "+") + t;
    const std::string name = fmt::format("{} {:.0f}M {}", i.architecture, i.n_params / 1e6, types);
    const double gib = static_cast<double>(i.weight_bytes) / (1024.0 * 1024 * 1024);
    if (o.output == "json") {
        fmt::print("[\n");
        for (size_t k = 0; k < rows.size(); ++k) {
            const Row& r = rows[k];
            std::string samples;
            for (double v : r.tps)
                samples += (samples.empty() ? "" : ", ") + fmt::format("{:.4f}", v);
            fmt::print(
                "  {{\"model_filename\": \"{}\", \"model_type\": \"{}\", \"model_size\": {}, "
                "\"model_n_params\": {}, "
                "\"backends\": \"{}\", \"cpu_isa\": \"{}\", \"n_threads\": {}, \"n_prompt\": {}, "
                "\"n_gen\": {}, "
                "\"avg_ts\": {:.4f}, \"stddev_ts\": {:.4f}, \"samples_ts\": [{}]}}{}\n",
                i.path, name, i.weight_bytes, i.n_params, (*backend)->name(),
                isa_name(active_isa()), pool.size(), r.n_prompt, r.n_gen, r.mean(), r.sd(), samples,
                k + 1 < rows.size() ? "," : "");
        }
        fmt::print("]\n");
        return 0;
    }
    fmt::print("| model | size | params | backend | threads | test | t/s |\n");
    fmt::print("| --- | ---: | ---: | --- | ---: | ---: | ---: |\n");
    for (const Row& r : rows) {
        fmt::print("| {} | {:.2f} GiB | {:.2f} M | {} ({}) | {} | {} | {:.2f} ± {:.2f} |\n", name,
                   gib, i.n_params / 1e6, (*backend)->name(), isa_name(active_isa()), pool.size(),
                   r.test, r.mean(), r.sd());
    }
    return 0;
}

}  // namespace

Runner add_bench(CLI::App& app) {
    auto o = std::make_shared<BenchOptions>();
    app.add_option("-m,--model", o->model, "Model: a .gguf file or a Hugging Face directory")
        ->required();
    add_model_flags(app, o->model_flags);
    app.add_option("-p,--n-prompt", o->prompt, "Prompt lengths to test (pp N); 0 skips")
        ->delimiter(',');
    app.add_option("-n,--n-gen", o->gen, "Generation lengths to test (tg N); 0 skips")
        ->delimiter(',');
    app.add_option("-r,--repetitions", o->reps, "Repetitions of each test (after one warm-up)");
    app.add_option("-t,--threads", o->threads, "CPU threads (default: one per physical core)");
    app.add_option("-o,--output", o->output, "Output format")->check(CLI::IsMember({"md", "json"}));
    app.add_option("--device", o->device,
                   "Device: auto (the CPU for now), cpu, cuda[:N], vulkan[:N]");
    app.add_flag("--profile", o->profile, "Print time per op (all repetitions) to stderr");
    app.add_option("--plot", o->plot,
                   "Write an SVG chart of tokens/s against length (e.g. -p 64,128,256,512)");
    return [o] { return run(*o); };
}

}  // namespace unicorn::cli
