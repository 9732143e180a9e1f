// GgufWriter::metadata / staged_tensors: what a caller staged can be read back before writing
// (the quantizer reads HF models through the converter this way) — in insertion order, a
// replaced key in its first place, copied and viewed tensors with their bytes, generated ones
// without.
#include <gtest/gtest.h>

#include <cstring>

#include "io/gguf_writer.h"

namespace unicorn::io {
namespace {

TEST(GgufWriterStaged, ReadsBackWhatWasAdded) {
    GgufWriter w;
    w.set_string("general.architecture", "llama");
    w.set_u32("llama.block_count", 1);
    w.set_string("general.architecture", "gemma3");  // replaced in place
    const float copied[4] = {1, 2, 3, 4};
    ASSERT_TRUE(w.add_tensor("a.weight", DType::kF32, Shape{2, 2}, copied, sizeof(copied)).ok());
    Tensor viewed = Tensor::empty(DType::kF16, Shape{3, 32});
    std::memset(viewed.data(), 7, viewed.nbytes());
    ASSERT_TRUE(w.add_tensor("b.weight", viewed).ok());
    ASSERT_TRUE(
        w.add_generated_tensor("c.weight", DType::kQ8_0, Shape{1, 32}, [](int64_t, int64_t, void*) {
             return ok_status();
         }).ok());

    ASSERT_EQ(w.metadata().size(), 2u);
    EXPECT_EQ(w.metadata()[0].first, "general.architecture");
    EXPECT_EQ(*w.metadata()[0].second.as_string(), "gemma3");
    EXPECT_EQ(w.metadata()[1].first, "llama.block_count");

    const std::vector<GgufWriter::StagedTensor> t = w.staged_tensors();
    ASSERT_EQ(t.size(), 3u);
    EXPECT_EQ(t[0].name, "a.weight");
    EXPECT_EQ(t[0].shape, (Shape{2, 2}));
    ASSERT_EQ(t[0].nbytes, sizeof(copied));
    EXPECT_EQ(std::memcmp(t[0].data, copied, sizeof(copied)), 0);
    EXPECT_NE(t[0].data, static_cast<const void*>(copied));  // the writer's own copy
    EXPECT_EQ(t[1].dtype, DType::kF16);
    EXPECT_EQ(t[1].data, viewed.data());  // a view: no copy
    EXPECT_EQ(t[1].nbytes, viewed.nbytes());
    EXPECT_EQ(t[2].dtype, DType::kQ8_0);
    EXPECT_EQ(t[2].data, nullptr);
    EXPECT_EQ(t[2].nbytes, dtype_row_bytes(DType::kQ8_0, 32));
}

}  // namespace
}  // namespace unicorn::io
