#include "models/common/matformer.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <set>

namespace unicorn {
namespace {

Result<std::vector<int64_t>> parse_list(const std::string& csv, const char* what) {
    std::vector<int64_t> out;
    size_t i = 0;
    while (i < csv.size()) {
        const size_t j = std::min(csv.find(',', i), csv.size());
        int64_t v = 0;
        const char* b = csv.data() + i;
        const char* e = csv.data() + j;
        auto [p, ec] = std::from_chars(b, e, v);
        if (ec != std::errc() || p != e || b == e)
            return invalid_argument(
                fmt::format("MatFormer {}: '{}' is not a comma-separated "
                            "list of integers",
                            what, csv));
        out.push_back(v);
        i = j + 1;
    }
    return out;
}

}  // namespace

Result<MatFormerSpec> parse_matformer(const std::string& preset, const std::string& skip_csv,
                                      const std::string& ffn_csv) {
    MatFormerSpec s;
    if (!preset.empty()) {
        if (!skip_csv.empty() || !ffn_csv.empty())
            return invalid_argument(
                "give either a MatFormer preset or explicit skip/FFN lists, not both");
        if (preset != "E2B" && preset != "e2b")
            return invalid_argument(fmt::format(
                "unknown MatFormer preset '{}' (known: E2B; or give --matformer-skip and "
                "--matformer-ffn)",
                preset));
        // "Config for official E2B Model": skip one whole 4-local + 1-global block right after
        // the KV-sharing boundary, FFN 2048·4 everywhere.
        s.name = "E2B";
        s.skip_layers = {20, 21, 22, 23, 24};
        s.ffn = {8192};
        return s;
    }
    if (ffn_csv.empty())
        return invalid_argument("a custom MatFormer slice needs the FFN width list");
    s.name = "custom";
    UNI_ASSIGN_OR_RETURN(std::vector<int64_t> skip, parse_list(skip_csv, "skip list"));
    for (int64_t v : skip) s.skip_layers.push_back(static_cast<int>(v));
    UNI_ASSIGN_OR_RETURN(s.ffn, parse_list(ffn_csv, "FFN list"));
    return s;
}

Result<MatFormerPlan> plan_matformer(const MatFormerSpec& spec, const std::vector<int64_t>& ffn,
                                     const std::vector<int>& kv_source, int64_t ffn_block) {
    const int n = static_cast<int>(ffn.size());
    std::set<int> skip;
    for (int l : spec.skip_layers) {
        if (l < 0 || l >= n)
            return invalid_argument(fmt::format(
                "MatFormer slice '{}': layer {} does not exist (the model has {} layers)",
                spec.name, l, n));
        if (!skip.insert(l).second)
            return invalid_argument(
                fmt::format("MatFormer slice '{}': layer {} is skipped twice", spec.name, l));
    }
    MatFormerPlan p;
    for (int l = 0; l < n; ++l)
        if (!skip.count(l)) p.kept.push_back(l);
    if (p.kept.empty())
        return invalid_argument(fmt::format("MatFormer slice '{}' drops every layer", spec.name));
    for (int l : p.kept) {
        const int src = kv_source[static_cast<size_t>(l)];
        if (src >= 0 && src != l && skip.count(src))
            return invalid_argument(fmt::format(
                "MatFormer slice '{}' drops layer {}, whose K/V layer {} reads (KV-sharing "
                "producers cannot be skipped)",
                spec.name, src, l));
    }
    if (spec.ffn.size() != 1 && spec.ffn.size() != p.kept.size())
        return invalid_argument(fmt::format(
            "MatFormer slice '{}': {} FFN widths for {} kept layers (give one, or one per kept "
            "layer)",
            spec.name, spec.ffn.size(), p.kept.size()));
    for (size_t i = 0; i < p.kept.size(); ++i) {
        const int64_t w = spec.ffn.size() == 1 ? spec.ffn[0] : spec.ffn[i];
        const int64_t full = ffn[static_cast<size_t>(p.kept[i])];
        if (w <= 0 || w > full)
            return invalid_argument(fmt::format(
                "MatFormer slice '{}': FFN width {} for layer {} is outside 1…{} (its full width)",
                spec.name, w, p.kept[i], full));
        if (w % ffn_block != 0)
            return invalid_argument(fmt::format(
                "MatFormer slice '{}': FFN width {} is not a whole number of the FFN down "
                "weight's {}-element blocks, so it cannot be sliced without requantizing",
                spec.name, w, ffn_block));
        p.ffn.push_back(w);
    }
    return p;
}

}  // namespace unicorn
