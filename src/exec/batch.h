// What a forward pass receives: chunks of one or more sequences, each with its KV cache.
// The KV storage lives in runtime/; models see it only through KvSequence.
#pragma once

#include <span>

#include "core/status.h"
#include "core/tensor.h"

namespace unicorn {

// Everything attention may read for one layer of one sequence: rows [0, size) of k and v
// (F32 [S, Hkv·Dh], possibly a ring buffer) and each row's absolute position.
struct KvLayerView {
    Tensor k;
    Tensor v;
    std::span<const int32_t> positions;
};

class KvSequence {
  public:
    virtual ~KvSequence() = default;
    // Stores k, v [T, width] for `layer` at `positions` and returns the view attention needs
    // (old rows still inside the layer's window plus the new ones).
    virtual Result<KvLayerView> append(int layer, const Tensor& k, const Tensor& v,
                                       std::span<const int32_t> positions) = 0;
    // Current contents of a layer (for layers that read another layer's cache).
    virtual KvLayerView view(int layer) = 0;
    // Number of positions already in the cache (the next token's position).
    virtual int32_t length() const = 0;
};

struct SequenceChunk {
    std::span<const int32_t> tokens;
    int32_t start_pos = 0;  // absolute position of tokens[0]
    KvSequence* kv = nullptr;
    bool all_logits = false;  // logits for every token (teacher forcing) or only the last
};

}  // namespace unicorn
