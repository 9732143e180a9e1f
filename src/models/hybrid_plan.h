// The hybrid preset's plan: which type each group of tensors gets so that the model's predicted
// KL divergence from its base stays under a target at the smallest size.
//
// Tensors are grouped per layer and kind ("blk.3.attn_q", "blk.3.ffn_down", …) and, outside
// the blocks, per tensor ("token_embd", "output"). Each group can take any type of the ladder
// below whose blocks fit every one of its rows. Given, per group and type, a predicted KLD
// contribution and a size (from measurements — tools/unicorn/hybrid_quantize.cc), the
// contributions are assumed to add up, and choose_hybrid_types picks types greedily:
//  1. every group starts at its smallest type;
//  2. while the predicted total exceeds the target, the one upgrade (a group to any larger
//     type) with the largest KLD reduction per added byte is taken;
//  3. then, while some group can move to a smaller type without the total crossing the target,
//     the move that saves the most bytes is taken (greedy steps can overshoot).
// The plan does not measure anything; that is what makes it testable on synthetic numbers.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "models/common/quant_policy.h"

namespace unicorn {

// Candidate types, smallest first (bits per weight 2.6 … 16).
inline constexpr DType kHybridLadder[] = {DType::kQ2_K, DType::kQ3_K, DType::kQ4_0,
                                          DType::kQ4_K, DType::kQ5_0, DType::kQ5_K,
                                          DType::kQ6_K, DType::kQ8_0, DType::kF16};

struct HybridGroup {
    std::string name;                  // "blk.3.attn_q", "token_embd"
    std::vector<size_t> tensors;       // indices into the tensor list given to hybrid_groups
    int64_t n_elements = 0;            // all its tensors
    std::vector<DType> types;          // ladder types that fit every row, smallest first
    std::vector<uint64_t> type_bytes;  // the group's size in each of `types`
};

// Groups the tensors marked quantizable (choices[i].quantizable) in `tensors`; groups come in
// the order of their first tensor.
std::vector<HybridGroup> hybrid_groups(std::span<const QuantTensor> tensors,
                                       std::span<const QuantChoice> choices);

// Per group: predicted KLD contribution and bytes of each candidate (same length, any order).
struct HybridOptionSet {
    std::vector<double> kld;
    std::vector<uint64_t> bytes;
};

struct HybridPlan {
    std::vector<size_t> choice;  // per group, an index into its HybridOptionSet
    double predicted_kld = 0;
    uint64_t bytes = 0;
    bool target_met = false;  // false: even the largest types predict more than the target
};

HybridPlan choose_hybrid_types(std::span<const HybridOptionSet> groups, double target_kld);

}  // namespace unicorn
