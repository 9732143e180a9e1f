#include "runtime/kv_cache.h"

#include <fmt/format.h>

#include <algorithm>
#include <climits>
#include <cstring>

#include "core/check.h"

namespace unicorn {

KvCache::KvCache(const std::vector<KvLayerSpec>& layout, int32_t max_positions, int32_t max_chunk,
                 Backend* memory)
    : memory_(memory), max_positions_(max_positions), max_chunk_(max_chunk) {
    for (const KvLayerSpec& s : layout) {
        Layer l;
        l.width = s.width;
        if (s.source >= 0) {
            UNI_CHECK(s.source < static_cast<int32_t>(layers_.size()) &&
                      layers_[s.source].source < 0 && layers_[s.source].width == s.width);
            l.source = s.source;
            layers_.push_back(std::move(l));
            continue;
        }
        last_owner_ = static_cast<int>(layers_.size());
        l.capacity = max_positions;
        if (s.window > 0 && s.window - 1 + max_chunk < max_positions) {
            l.capacity = s.window - 1 + max_chunk;
            l.ring = true;
        }
        const Shape shape{l.capacity, l.width};
        if (memory_ != nullptr) {
            // Allocation failure of a device cache is a fatal setup error here; Session sizes
            // the context so it fits (an out-of-memory Status would need a factory).
            auto k = memory_->alloc(DType::kF32, shape), v = memory_->alloc(DType::kF32, shape);
            UNI_CHECK_MSG(k.ok() && v.ok(), "KV cache allocation failed: {}",
                          (k.ok() ? v.status() : k.status()).to_string());
            l.k = std::move(*k);
            l.v = std::move(*v);
        } else {
            l.k = Tensor::empty(DType::kF32, shape);
            l.v = Tensor::empty(DType::kF32, shape);
        }
        l.positions.assign(static_cast<size_t>(l.capacity), -1);
        layers_.push_back(std::move(l));
    }
}

Result<KvLayerView> KvCache::append(int layer, const Tensor& k, const Tensor& v,
                                    std::span<const int32_t> positions) {
    if (layer < 0 || layer >= static_cast<int>(layers_.size()))
        return internal_error(fmt::format("KV cache has no layer {}", layer));
    Layer& l = layers_[layer];
    if (l.source >= 0)
        return internal_error(
            fmt::format("KV layer {} shares layer {}'s cache and cannot append", layer, l.source));
    const int64_t t = k.rows();
    if (k.cols() != l.width || v.cols() != l.width || v.rows() != t ||
        static_cast<int64_t>(positions.size()) != t)
        return internal_error(fmt::format("KV append of {} rows × {} into a layer of width {}", t,
                                          k.cols(), l.width));
    if (t > max_chunk_)
        return internal_error(
            fmt::format("KV append of {} rows exceeds the chunk limit {}", t, max_chunk_));
    std::vector<int64_t> slots(static_cast<size_t>(t));
    for (int64_t i = 0; i < t; ++i) {
        const int32_t pos = positions[i];
        if (pos != l.next_pos + i)
            return internal_error(fmt::format("KV layer {}: position {} appended after {}", layer,
                                              pos, l.next_pos + i - 1));
        if (pos >= max_positions_)
            return resource_exhausted(fmt::format(
                "context is full: {} positions (use a larger context size)", max_positions_));
        slots[static_cast<size_t>(i)] = l.ring ? pos % l.capacity : pos;
    }
    if (memory_ != nullptr) {
        UNI_RETURN_IF_ERROR(memory_->copy_rows(k, {}, l.k, slots, t));
        UNI_RETURN_IF_ERROR(memory_->copy_rows(v, {}, l.v, slots, t));
    } else {
        host_copy_rows(k, {}, l.k, slots, t);
        host_copy_rows(v, {}, l.v, slots, t);
    }
    for (int64_t i = 0; i < t; ++i) {
        const auto slot = static_cast<int32_t>(slots[i]);
        l.positions[slot] = positions[i];
        l.filled = std::max(l.filled, slot + 1);
    }
    l.next_pos += static_cast<int32_t>(t);
    // The sequence length advances with the last layer that stores; layers run in order.
    if (layer == last_owner_) length_ = l.next_pos;
    return view(layer);
}

KvLayerView KvCache::view(int layer) {
    if (layers_[layer].source >= 0) layer = layers_[layer].source;
    Layer& l = layers_[layer];
    return {l.k.slice_rows(0, l.filled), l.v.slice_rows(0, l.filled),
            std::span<const int32_t>(l.positions.data(), static_cast<size_t>(l.filled))};
}

size_t KvCache::bytes() const {
    size_t b = 0;
    for (const Layer& l : layers_)
        if (l.source < 0) b += 2 * l.k.nbytes();
    return b;
}

bool KvCache::can_truncate(int32_t n) const {
    if (n < 0 || n > length_) return false;
    for (const Layer& l : layers_) {
        if (l.source >= 0 || !l.ring || l.next_pos <= l.capacity) continue;
        // The ring holds positions [next_pos - capacity, next_pos); the next query at n needs
        // [n - (capacity - max_chunk), n), so at most max_chunk positions may go.
        if (l.next_pos - n > max_chunk_) return false;
    }
    return true;
}

void KvCache::truncate(int32_t n) {
    UNI_CHECK(can_truncate(n));
    for (Layer& l : layers_) {
        if (l.source >= 0) continue;
        if (!l.ring || l.next_pos <= l.capacity) {
            // Rows [0, n) hold positions [0, n): the rest leave the view.
            l.filled = std::min(l.filled, n);
            std::fill(l.positions.begin() + l.filled, l.positions.end(), -1);
        } else {
            // Dropped positions' slots would otherwise stay visible until overwritten: mark
            // them past every query (causally masked), never -1 (which a query would see).
            for (int32_t p = n; p < l.next_pos; ++p)
                l.positions[static_cast<size_t>(p % l.capacity)] = INT32_MAX;
        }
        l.next_pos = n;
    }
    length_ = n;
}

void KvCache::clear() {
    for (Layer& l : layers_) {
        if (l.source >= 0) continue;
        l.filled = 0;
        l.next_pos = 0;
        std::fill(l.positions.begin(), l.positions.end(), -1);
    }
    length_ = 0;
}

}  // namespace unicorn
