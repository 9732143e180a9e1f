// unicorn info: what a model is and what it needs.
#include <fmt/format.h>

#include <cstdio>
#include <memory>

#include "commands.h"
#include "model_flags.h"
#include "models/registry.h"

namespace unicorn::cli {
namespace {

std::string human_bytes(double b) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (b >= 1024 && u < 4) {
        b /= 1024;
        ++u;
    }
    return fmt::format("{:.2f} {}", b, units[u]);
}

int run(const std::string& path, int ctx_size, const ModelFlags& flags) {
    auto load = load_options(flags);
    if (!load.ok()) return fail(load.status().message());
    auto model = load_model(path, *load);
    if (!model.ok()) return fail(model.status().to_string());
    const ModelInfo& i = (*model)->info();
    fmt::print("model:          {}\n", i.path);
    fmt::print("format:         {}\n", i.source_format);
    fmt::print("architecture:   {}\n", i.architecture);
    fmt::print("parameters:     {:.1f} M\n", static_cast<double>(i.n_params) / 1e6);
    fmt::print("layers:         {}\n", i.n_layers);
    fmt::print("d_model:        {}\n", i.d_model);
    fmt::print("heads:          {} query, {} key/value, head_dim {}\n", i.n_heads, i.n_kv_heads,
               i.head_dim);
    fmt::print("ffn:            {}\n", i.d_ff);
    fmt::print("vocab:          {}\n", i.vocab);
    fmt::print("context:        {}\n", i.context_length);
    for (const auto& [k, v] : i.hyper) fmt::print("{:<15} {}\n", k + ":", v);
    std::string types;
    for (const auto& [t, n] : i.tensor_types)
        types += fmt::format("{}{} ×{}", types.empty() ? "" : ", ", t, n);
    fmt::print("tensor types:   {}\n", types);
    fmt::print("weights:        {}\n", human_bytes(static_cast<double>(i.weight_bytes)));
    if (i.host_gathered_bytes > 0) {
        // Gemma 3n: the per-layer embedding table stays mmapped in host memory; only the rows of
        // the batch's tokens are read, so it is not part of what a device needs to hold.
        fmt::print("  per-layer embeddings (host, gathered per token): {}\n",
                   human_bytes(static_cast<double>(i.host_gathered_bytes)));
        fmt::print("  core weights: {}\n",
                   human_bytes(static_cast<double>(i.weight_bytes - i.host_gathered_bytes)));
    }
    // KV bytes: F32 K and V rows per position; sliding layers stop growing at their window;
    // KV-sharing layers read another layer's rows and store nothing.
    double per_1k = 0, at_ctx = 0;
    const int64_t n =
        ctx_size > 0 ? ctx_size
                     : (i.context_length > 0 ? std::min<int64_t>(i.context_length, 4096) : 4096);
    int shared = 0;
    for (const KvLayerSpec& l : (*model)->kv_layout()) {
        if (l.source >= 0) {
            ++shared;
            continue;
        }
        const double row = 2.0 * 4.0 * static_cast<double>(l.width);
        per_1k +=
            row * static_cast<double>(l.window > 0 ? std::min<int64_t>(l.window, 1024) : 1024);
        at_ctx += row * static_cast<double>(l.window > 0 ? std::min<int64_t>(l.window, n) : n);
    }
    fmt::print("KV cache:       {} per 1k tokens (f32); {} at {} tokens{}\n", human_bytes(per_1k),
               human_bytes(at_ctx), n,
               shared > 0 ? fmt::format(" ({} layers share another layer's KV)", shared) : "");
    fmt::print("memory needed:  {} (weights mmapped + KV at {} tokens)\n",
               human_bytes(static_cast<double>(i.weight_bytes) + at_ctx), n);
    return 0;
}

}  // namespace

Runner add_info(CLI::App& app) {
    auto path = std::make_shared<std::string>();
    auto ctx = std::make_shared<int>(0);
    auto flags = std::make_shared<ModelFlags>();
    app.add_option("-m,--model", *path, "Model: a .gguf file or a Hugging Face directory")
        ->required();
    app.add_option("-c,--ctx-size", *ctx,
                   "Context size for the memory estimate (default: min(trained, 4096))");
    add_model_flags(app, *flags);
    return [path, ctx, flags] { return run(*path, *ctx, *flags); };
}

}  // namespace unicorn::cli
