// The KV cache's layer kinds: global layers keep every position, sliding layers a bounded ring,
// and KV-sharing layers (Gemma 3n's last layers) allocate nothing and read their source's rows.
#include "runtime/kv_cache.h"

#include <gtest/gtest.h>

#include <climits>
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

// Prefix reuse: a cache cut back to n positions and fed the same rows again equals one that
// was fed them once; a sliding layer's ring refuses a cut that would need rows it overwrote.
TEST(KvCacheTest, TruncateKeepsAPrefixThatGrowsAgainLikeTheOriginal) {
    // Layer 0 global, layer 1 sliding (window 3, chunks of 2: a ring of 4 rows).
    const std::vector<KvLayerSpec> layout = {{4, 0, -1}, {4, 3, -1}};
    auto feed = [](KvCache& kv, int32_t from, int32_t to) {
        for (int32_t p = from; p < to; ++p)
            for (int layer : {0, 1})
                ASSERT_TRUE(kv.append(layer, rows(1, 4, 10.0f * p + layer),
                                      rows(1, 4, -10.0f * p - layer), std::vector<int32_t>{p})
                                .ok());
    };
    auto same = [](KvCache& a, KvCache& b, int layer) {
        KvLayerView x = a.view(layer), y = b.view(layer);
        ASSERT_EQ(x.k.rows(), y.k.rows());
        // Attention sees only rows whose position it may attend; compare those.
        for (int64_t r = 0; r < x.k.rows(); ++r) {
            ASSERT_EQ(x.positions[r], y.positions[r]) << "layer " << layer << " row " << r;
            for (int64_t c = 0; c < 4; ++c) {
                EXPECT_EQ(x.k.row<float>(r)[c], y.k.row<float>(r)[c]);
                EXPECT_EQ(x.v.row<float>(r)[c], y.v.row<float>(r)[c]);
            }
        }
    };
    KvCache whole(layout, 64, 2), cut(layout, 64, 2);
    feed(whole, 0, 10);
    feed(cut, 0, 3);  // not wrapped yet (3 ≤ 4 rows): any cut is possible
    EXPECT_TRUE(cut.can_truncate(0) && cut.can_truncate(2) && cut.can_truncate(3));
    EXPECT_FALSE(cut.can_truncate(4));  // past its length
    cut.truncate(1);
    EXPECT_EQ(cut.length(), 1);
    EXPECT_EQ(cut.view(0).k.rows(), 1);
    feed(cut, 1, 10);  // wrapped now: at most max_chunk (2) positions may go
    EXPECT_TRUE(cut.can_truncate(8));
    EXPECT_FALSE(cut.can_truncate(7));
    EXPECT_FALSE(cut.can_truncate(0));
    cut.truncate(8);
    EXPECT_EQ(cut.length(), 8);
    // The dropped positions' ring rows are masked (a position past every query), never -1.
    for (int32_t p : cut.view(1).positions) EXPECT_TRUE(p < 8 || p == INT32_MAX) << p;
    feed(cut, 8, 10);
    EXPECT_EQ(cut.length(), whole.length());
    same(cut, whole, 0);
    same(cut, whole, 1);
}

}  // namespace
}  // namespace unicorn
