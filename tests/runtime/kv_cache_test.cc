// The KV cache's layer kinds: global layers keep every position, sliding layers a bounded ring,
// and KV-sharing layers (Gemma 3n's last layers) allocate nothing and read their source's rows.
#include "runtime/kv_cache.h"

#include <gtest/gtest.h>

#include <numeric>

namespace unicorn {
namespace {

Tensor rows(int64_t n, int64_t width, float base) {
    Tensor t = Tensor::empty(DType::kF32, Shape{n, width});
    for (int64_t i = 0; i < n * width; ++i) t.data_as<float>()[i] = base + static_cast<float>(i);
    return t;
}

TEST(KvCacheTest, SharedLayersStoreNothingAndReadTheirSource) {
    // Layers: 0 global, 1 sliding (window 3), 2 reads 1, 3 reads 0.
    const std::vector<KvLayerSpec> layout = {{4, 0, -1}, {4, 3, -1}, {4, 3, 1}, {4, 0, 0}};
    KvCache kv(layout, 64, 2);
    const std::vector<KvLayerSpec> own_only = {{4, 0, -1}, {4, 3, -1}};
    EXPECT_EQ(kv.bytes(), KvCache(own_only, 64, 2).bytes());

    for (int32_t step = 0; step < 5; ++step) {
        std::vector<int32_t> pos(2);
        std::iota(pos.begin(), pos.end(), 2 * step);
        for (int layer : {0, 1}) {
            auto v = kv.append(layer, rows(2, 4, 100.0f * layer + 10.0f * step),
                               rows(2, 4, -100.0f * layer - 10.0f * step), pos);
            ASSERT_TRUE(v.ok()) << v.status().to_string();
        }
        // Both owners appended: the sequence advanced by the chunk even though the last layers
        // never append.
        EXPECT_EQ(kv.length(), 2 * step + 2);
        for (auto [reader, source] : {std::pair{2, 1}, std::pair{3, 0}}) {
            KvLayerView r = kv.view(reader), s = kv.view(source);
            EXPECT_EQ(r.k.data(), s.k.data());
            EXPECT_EQ(r.v.data(), s.v.data());
            ASSERT_EQ(r.positions.size(), s.positions.size());
            EXPECT_TRUE(std::equal(r.positions.begin(), r.positions.end(), s.positions.begin()));
        }
        // The sliding source keeps window-1+chunk rows at most; the global one everything.
        EXPECT_LE(kv.view(2).k.rows(), 3 - 1 + 2);
        EXPECT_EQ(kv.view(3).k.rows(), 2 * step + 2);
    }
    EXPECT_FALSE(kv.append(2, rows(1, 4, 0), rows(1, 4, 0), std::vector<int32_t>{10}).ok());
    kv.clear();
    EXPECT_EQ(kv.length(), 0);
    EXPECT_EQ(kv.view(2).k.rows(), 0);
}

}  // namespace
}  // namespace unicorn
