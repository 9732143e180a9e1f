// open_weights picks the format from the path; both sources answer the same questions.
#include "io/weight_source.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "io/gguf_writer.h"
#include "io_test_util.h"

namespace unicorn::io {
namespace {

using testing::as_bytes;
using ::testing::HasSubstr;
using testing::TempDir;

void write_gguf(const std::string& path) {
    GgufWriter w;
    w.set_string("general.architecture", "llama");
    std::vector<float> x = {1, 2, 3, 4, 5, 6};
    ASSERT_TRUE(w.add_tensor("token_embd.weight", DType::kF32, Shape{3, 2}, x.data(), 24).ok());
    ASSERT_TRUE(w.add_tensor("output_norm.weight", DType::kF32, Shape{2}, x.data(), 8).ok());
    ASSERT_TRUE(w.write(path).ok());
}

void write_st(const std::string& path) {
    testing::write_file(path,
                        testing::make_safetensors(
                            {{"model.norm.weight", "F32", {2}, as_bytes(std::vector<float>{1, 2})},
                             {"position_ids", "I64", {1}, as_bytes(std::vector<int64_t>{0})}}));
}

TEST(WeightSource, Gguf) {
    TempDir dir;
    write_gguf(dir.file("m.gguf"));
    auto ws = open_weights(dir.file("m.gguf"));
    ASSERT_TRUE(ws.ok()) << ws.status().to_string();
    EXPECT_EQ((*ws)->format(), "gguf");
    EXPECT_EQ((*ws)->list(), (std::vector<std::string>{"token_embd.weight", "output_norm.weight"}));
    EXPECT_TRUE((*ws)->has("output_norm.weight"));
    Tensor t = *(*ws)->get("token_embd.weight");
    EXPECT_EQ(t.shape(), (Shape{3, 2}));
    EXPECT_EQ(t.data_as<float>()[5], 6.0f);
    auto missing = (*ws)->get("output.weight");
    EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
    EXPECT_THAT(missing.status().message(),
                HasSubstr("tensor 'output.weight' not found in " + dir.file("m.gguf")));
    auto* gguf = dynamic_cast<GgufWeightSource*>(ws->get());
    ASSERT_NE(gguf, nullptr);
    EXPECT_EQ(*gguf->gguf().get_string("general.architecture"), "llama");
}

TEST(WeightSource, Safetensors) {
    TempDir dir;
    write_st(dir.file("model.safetensors"));
    testing::write_file(dir.file("config.json"), std::string("{}"));
    for (const std::string& path : {dir.path(), dir.file("model.safetensors")}) {
        auto ws = open_weights(path);
        ASSERT_TRUE(ws.ok()) << ws.status().to_string();
        EXPECT_EQ((*ws)->format(), "safetensors");
        EXPECT_EQ((*ws)->path(), path);
        EXPECT_EQ((*ws)->list(), (std::vector<std::string>{"model.norm.weight", "position_ids"}));
        EXPECT_EQ((*ws)->get("model.norm.weight")->data_as<float>()[1], 2.0f);
        EXPECT_EQ((*ws)->get("position_ids").status().code(), StatusCode::kUnsupported);
        auto missing = (*ws)->get("lm_head.weight");
        EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
        EXPECT_THAT(missing.status().message(),
                    HasSubstr("tensor 'lm_head.weight' not found in " + path));
    }
}

TEST(WeightSource, FolderChoices) {
    TempDir dir;
    EXPECT_EQ(open_weights(dir.path()).status().code(), StatusCode::kNotFound);
    EXPECT_EQ(open_weights(dir.file("missing.gguf")).status().code(), StatusCode::kNotFound);
    write_gguf(dir.file("a.gguf"));
    auto one = open_weights(dir.path());
    ASSERT_TRUE(one.ok()) << one.status().to_string();
    EXPECT_EQ((*one)->format(), "gguf");
    write_gguf(dir.file("b.gguf"));
    auto two = open_weights(dir.path());
    EXPECT_EQ(two.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(two.status().message(), HasSubstr("holds 2 .gguf files"));
    write_st(dir.file("model.safetensors"));  // safetensors are the canonical weights
    auto st = open_weights(dir.path());
    ASSERT_TRUE(st.ok()) << st.status().to_string();
    EXPECT_EQ((*st)->format(), "safetensors");
}

TEST(WeightSource, SniffsUnknownExtensions) {
    TempDir dir;
    write_gguf(dir.file("weights.bin"));
    auto g = open_weights(dir.file("weights.bin"));
    ASSERT_TRUE(g.ok()) << g.status().to_string();
    EXPECT_EQ((*g)->format(), "gguf");
    write_st(dir.file("weights.dat"));
    auto s = open_weights(dir.file("weights.dat"));
    ASSERT_TRUE(s.ok()) << s.status().to_string();
    EXPECT_EQ((*s)->format(), "safetensors");
    testing::write_file(dir.file("junk.bin"), std::string("definitely not weights"));
    EXPECT_EQ(open_weights(dir.file("junk.bin")).status().code(), StatusCode::kCorrupt);
}

}  // namespace
}  // namespace unicorn::io
