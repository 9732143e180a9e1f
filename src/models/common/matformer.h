// MatFormer slicing: Gemma 3n E4B was trained with smaller models nested inside it (E2B and the
// "mix-n-match" sizes). A slice drops whole layers and keeps a prefix of each remaining layer's
// FFN (the first F' rows of gate/up, the first F' columns of down), built at load time from
// views of the full checkpoint. Recipe: docs/reference/gemma-architecture.md §2.12
// (google/gemma3n-slicing-configs, the Gemma 3n MatFormer Lab notebook).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace unicorn {

struct MatFormerSpec {
    std::string name;              // "E2B", or "custom" for an explicit list
    std::vector<int> skip_layers;  // original layer indices to drop
    std::vector<int64_t> ffn;      // FFN width of every kept layer, or one width for all
};

// A preset name ("E2B") or, with an empty preset, the explicit lists ("20,21,22" and
// "8192" or "8192,8192,..."); empty everything → nullopt-like error-free "no slicing" is the
// caller's business (it simply passes no spec).
Result<MatFormerSpec> parse_matformer(const std::string& preset, const std::string& skip_csv,
                                      const std::string& ffn_csv);

// The slice of a concrete model: which original layers remain (in order) and their FFN widths.
struct MatFormerPlan {
    std::vector<int> kept;     // original indices
    std::vector<int64_t> ffn;  // per kept layer
};
// Checks the spec against the base model: layer indices in range, KV-producer layers (those
// other layers read K/V from, `kv_source`) not dropped while a reader stays, widths positive, no
// wider than the original and whole blocks of the FFN down weight (`ffn_block`).
Result<MatFormerPlan> plan_matformer(const MatFormerSpec& spec, const std::vector<int64_t>& ffn,
                                     const std::vector<int>& kv_source, int64_t ffn_block);

}  // namespace unicorn
