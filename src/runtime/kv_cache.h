// One sequence's KV cache. Global layers keep every position; sliding layers keep a ring of
// window-1+max_chunk rows — the most a chunk of max_chunk queries can see — so their memory is
// bounded by the window, not the context. Layers whose spec names a source layer (KV sharing)
// allocate nothing and read the source's rows. Rows are F32 [width] (kv_heads·head_dim).
#pragma once

#include <cstdint>
#include <vector>

#include "backend/backend.h"
#include "exec/batch.h"
#include "models/model.h"

namespace unicorn {

class KvCache final : public KvSequence {
  public:
    // max_positions: context size; max_chunk: the most tokens one forward() appends. With a
    // backend, the rows live in its memory (a GPU's) and are copied by it; else in host memory.
    KvCache(const std::vector<KvLayerSpec>& layout, int32_t max_positions, int32_t max_chunk,
            Backend* memory = nullptr);

    Result<KvLayerView> append(int layer, const Tensor& k, const Tensor& v,
                               std::span<const int32_t> positions) override;
    KvLayerView view(int layer) override;
    int32_t length() const override { return length_; }
    int32_t max_positions() const { return max_positions_; }
    size_t bytes() const;
    // Forget everything (positions restart at 0).
    void clear();
    // Whether the first n positions can be kept and the rest dropped (prefix reuse): always
    // for global layers; a sliding layer's ring must still hold the window before position n,
    // which holds while nothing wrapped or when at most max_chunk positions are dropped.
    bool can_truncate(int32_t n) const;
    // Keeps positions [0, n) (can_truncate(n) must hold); the next append is at position n.
    void truncate(int32_t n);

  private:
    struct Layer {
        int64_t width = 0;
        int32_t capacity = 0;  // rows
        bool ring = false;
        Tensor k, v;  // F32 [capacity, width]
        std::vector<int32_t> positions;
        int32_t filled = 0;    // rows holding data
        int32_t next_pos = 0;  // positions appended so far
        int32_t source = -1;   // >= 0: shares that layer's storage
    };
    std::vector<Layer> layers_;
    Backend* memory_ = nullptr;
    int last_owner_ = -1;  // the last layer with its own storage: it advances length_
    int32_t max_positions_;
    int32_t max_chunk_;
    int32_t length_ = 0;
};

}  // namespace unicorn
