#include "models/hybrid_plan.h"

#include <map>

namespace unicorn {
namespace {

// "blk.3.attn_q.weight" → "blk.3.attn_q"; outside the blocks the name without ".weight".
std::string group_of(const std::string& name) {
    std::string g = name;
    const std::string suffix = ".weight";
    if (g.size() > suffix.size() && g.compare(g.size() - suffix.size(), suffix.size(), suffix) == 0)
        g.resize(g.size() - suffix.size());
    return g;
}

}  // namespace

std::vector<HybridGroup> hybrid_groups(std::span<const QuantTensor> tensors,
                                       std::span<const QuantChoice> choices) {
    std::vector<HybridGroup> groups;
    std::map<std::string, size_t> index;
    for (size_t i = 0; i < tensors.size(); ++i) {
        if (!choices[i].quantizable) continue;
        const std::string g = group_of(tensors[i].name);
        auto [it, added] = index.emplace(g, groups.size());
        if (added) groups.push_back({g, {}, 0, {}, {}});
        HybridGroup& hg = groups[it->second];
        hg.tensors.push_back(i);
        hg.n_elements += tensors[i].shape.numel();
    }
    for (HybridGroup& g : groups) {
        for (DType t : kHybridLadder) {
            uint64_t bytes = 0;
            bool fits = true;
            for (size_t i : g.tensors) {
                const Shape& s = tensors[i].shape;
                if (s.cols() % dtype_block_size(t) != 0) {
                    fits = false;
                    break;
                }
                bytes += static_cast<uint64_t>(s.rows()) * dtype_row_bytes(t, s.cols());
            }
            if (!fits) continue;
            g.types.push_back(t);
            g.type_bytes.push_back(bytes);
        }
    }
    return groups;
}

HybridPlan choose_hybrid_types(std::span<const HybridOptionSet> groups, double target_kld) {
    HybridPlan plan;
    plan.choice.resize(groups.size());
    for (size_t g = 0; g < groups.size(); ++g) {
        const HybridOptionSet& o = groups[g];
        size_t best = 0;
        for (size_t c = 1; c < o.bytes.size(); ++c)
            if (o.bytes[c] < o.bytes[best] ||
                (o.bytes[c] == o.bytes[best] && o.kld[c] < o.kld[best]))
                best = c;
        plan.choice[g] = best;
        plan.predicted_kld += o.kld[best];
        plan.bytes += o.bytes[best];
    }
    // Upgrades: best KLD reduction per byte first.
    while (plan.predicted_kld > target_kld) {
        double best_ratio = 0;
        size_t best_g = groups.size(), best_c = 0;
        for (size_t g = 0; g < groups.size(); ++g) {
            const HybridOptionSet& o = groups[g];
            const size_t cur = plan.choice[g];
            for (size_t c = 0; c < o.bytes.size(); ++c) {
                const double gain = o.kld[cur] - o.kld[c];
                if (gain <= 0) continue;
                // A free improvement (no more bytes) is always taken first.
                const double cost =
                    static_cast<double>(o.bytes[c]) - static_cast<double>(o.bytes[cur]);
                const double ratio = cost <= 0 ? 1e300 : gain / cost;
                if (ratio > best_ratio) {
                    best_ratio = ratio;
                    best_g = g;
                    best_c = c;
                }
            }
        }
        if (best_g == groups.size()) break;  // nothing left to improve
        const HybridOptionSet& o = groups[best_g];
        plan.predicted_kld += o.kld[best_c] - o.kld[plan.choice[best_g]];
        plan.bytes = plan.bytes + o.bytes[best_c] - o.bytes[plan.choice[best_g]];
        plan.choice[best_g] = best_c;
    }
    plan.target_met = plan.predicted_kld <= target_kld;
    if (!plan.target_met) return plan;
    // Downgrades that keep the target: most bytes saved first.
    for (;;) {
        uint64_t best_saving = 0;
        size_t best_g = groups.size(), best_c = 0;
        for (size_t g = 0; g < groups.size(); ++g) {
            const HybridOptionSet& o = groups[g];
            const size_t cur = plan.choice[g];
            for (size_t c = 0; c < o.bytes.size(); ++c) {
                if (o.bytes[c] >= o.bytes[cur]) continue;
                if (plan.predicted_kld - o.kld[cur] + o.kld[c] > target_kld) continue;
                if (o.bytes[cur] - o.bytes[c] > best_saving) {
                    best_saving = o.bytes[cur] - o.bytes[c];
                    best_g = g;
                    best_c = c;
                }
            }
        }
        if (best_g == groups.size()) break;
        const HybridOptionSet& o = groups[best_g];
        plan.predicted_kld += o.kld[best_c] - o.kld[plan.choice[best_g]];
        plan.bytes -= best_saving;
        plan.choice[best_g] = best_c;
    }
    return plan;
}

}  // namespace unicorn
