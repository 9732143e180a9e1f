// Flags that change how a model is built from its files, shared by every subcommand that
// loads one: today the Gemma 3n MatFormer slice.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "models/registry.h"

namespace unicorn::cli {

struct ModelFlags {
    std::string matformer;       // preset name ("E2B")
    std::string matformer_skip;  // "20,21,22,23,24"
    std::string matformer_ffn;   // "8192" or one width per kept layer
};

inline void add_model_flags(CLI::App& app, ModelFlags& f) {
    app.add_option("--matformer", f.matformer,
                   "Gemma 3n: load the nested sub-model of an E4B checkpoint (preset: E2B)");
    app.add_option("--matformer-skip", f.matformer_skip,
                   "Gemma 3n: a custom MatFormer slice's skipped layers (comma-separated)");
    app.add_option("--matformer-ffn", f.matformer_ffn,
                   "Gemma 3n: a custom MatFormer slice's FFN width, one for all layers or one per "
                   "kept layer (comma-separated)");
}

inline Result<LoadOptions> load_options(const ModelFlags& f) {
    LoadOptions o;
    if (f.matformer.empty() && f.matformer_skip.empty() && f.matformer_ffn.empty()) return o;
    UNI_ASSIGN_OR_RETURN(MatFormerSpec spec,
                         parse_matformer(f.matformer, f.matformer_skip, f.matformer_ffn));
    o.matformer = std::move(spec);
    return o;
}

}  // namespace unicorn::cli
