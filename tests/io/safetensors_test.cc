// safetensors: single files, malformed headers, sharded checkpoints and folder layouts.
#include "io/safetensors.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "io_test_util.h"

namespace unicorn::io {
namespace {

using testing::as_bytes;
using ::testing::HasSubstr;
using testing::make_safetensors;
using testing::make_safetensors_raw;
using testing::StEntry;
using testing::TempDir;

std::vector<StEntry> sample_entries() {
    return {
        {"model.embed_tokens.weight",
         "F32",
         {2, 3},
         as_bytes(std::vector<float>{1, 2, 3, 4, 5, 6})},
        {"model.norm.weight",
         "BF16",
         {4},
         as_bytes(std::vector<uint16_t>{0x3f80, 0x4000, 0xbf80, 0})},
        {"lm_head.weight",
         "F16",
         {2, 2},
         as_bytes(std::vector<uint16_t>{0x3c00, 0x4000, 0x4200, 0x4400})},
        {"position_ids", "I64", {1, 3}, as_bytes(std::vector<int64_t>{0, 1, 2})},
        {"empty", "F32", {0, 4}, {}},
    };
}

Result<SafetensorsFile> parse(std::vector<uint8_t> bytes) {
    return SafetensorsFile::parse_bytes(
        std::make_shared<const std::vector<uint8_t>>(std::move(bytes)));
}

void expect_error(std::vector<uint8_t> bytes, StatusCode code, const std::string& needle) {
    auto r = parse(std::move(bytes));
    EXPECT_EQ(r.status().code(), code) << r.status().to_string();
    EXPECT_THAT(r.status().message(), HasSubstr(needle));
}

TEST(Safetensors, SingleFileViews) {
    TempDir dir;
    const std::string path = dir.file("model.safetensors");
    testing::write_file(path, make_safetensors(sample_entries()));
    auto f = SafetensorsFile::open(path);
    ASSERT_TRUE(f.ok()) << f.status().to_string();
    EXPECT_EQ(f->tensors().size(), 5u);  // __metadata__ is not a tensor
    EXPECT_EQ(f->data_offset() % 8, 0u);

    Tensor emb = *f->tensor_view("model.embed_tokens.weight");
    EXPECT_EQ(emb.dtype(), DType::kF32);
    EXPECT_EQ(emb.shape(), (Shape{2, 3}));
    EXPECT_EQ(emb.data_as<float>()[5], 6.0f);
    // A view points into the mapping (no copy) and keeps it alive.
    EXPECT_EQ(emb.data(), f->tensor("model.embed_tokens.weight")->data);
    { SafetensorsFile gone = std::move(f).value(); }
    EXPECT_EQ(emb.data_as<float>()[0], 1.0f);
}

TEST(Safetensors, DtypesAndUnsupportedOnes) {
    auto f = parse(make_safetensors(sample_entries()));
    ASSERT_TRUE(f.ok()) << f.status().to_string();
    Tensor norm = *f->tensor_view("model.norm.weight");
    EXPECT_EQ(norm.dtype(), DType::kBF16);
    EXPECT_EQ(norm.data_as<uint16_t>()[1], 0x4000);
    EXPECT_EQ(f->tensor_view("lm_head.weight")->dtype(), DType::kF16);
    EXPECT_EQ(f->tensor_view("empty")->numel(), 0);

    // Listed, with its dtype name, but a view is refused naming the tensor.
    const SafetensorsTensorInfo* ids = f->tensor("position_ids");
    ASSERT_NE(ids, nullptr);
    EXPECT_EQ(ids->dtype_name, "I64");
    EXPECT_FALSE(ids->dtype.has_value());
    auto v = f->tensor_view("position_ids");
    EXPECT_EQ(v.status().code(), StatusCode::kUnsupported);
    EXPECT_THAT(v.status().message(), HasSubstr("tensor 'position_ids' has dtype I64"));

    auto missing = f->tensor_view("nope");
    EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
    EXPECT_THAT(missing.status().message(), HasSubstr("tensor 'nope' not found"));
}

TEST(Safetensors, MoreThanFourDimensionsIsUnsupportedOnUse) {
    auto f = parse(
        make_safetensors({{"conv3d", "F32", {1, 1, 1, 1, 2}, as_bytes(std::vector<float>{1, 2})}}));
    ASSERT_TRUE(f.ok()) << f.status().to_string();
    auto v = f->tensor_view("conv3d");
    EXPECT_EQ(v.status().code(), StatusCode::kUnsupported);
    EXPECT_THAT(v.status().message(), HasSubstr("5 dimensions"));
}

TEST(Safetensors, MisalignedDataIsCopiedAligned) {
    // An unpadded header whose length puts the data section at an odd offset.
    std::string header = R"({"x":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}})";
    while ((8 + header.size()) % 4 != 1) header += ' ';
    std::vector<uint8_t> bytes = make_safetensors_raw(header, 0);
    const std::vector<uint8_t> data = as_bytes(std::vector<float>{1.5f, 2.5f, 3.5f});
    bytes.insert(bytes.end(), data.begin(), data.end());
    auto f = parse(bytes);
    ASSERT_TRUE(f.ok()) << f.status().to_string();
    ASSERT_NE(reinterpret_cast<uintptr_t>(f->tensor("x")->data) % 4, 0u);
    Tensor t = *f->tensor_view("x");
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data()) % 4, 0u);
    EXPECT_EQ(t.data_as<float>()[2], 3.5f);
}

TEST(SafetensorsCorrupt, TooSmall) { expect_error({1, 2, 3}, StatusCode::kCorrupt, "too small"); }

TEST(SafetensorsCorrupt, HeaderLengthPastEnd) {
    testing::Bytes b;
    b.u64(1000).raw("{}", 2);
    expect_error(b.data, StatusCode::kCorrupt,
                 "header length 1000 is larger than the 2 bytes after it");
}

TEST(SafetensorsCorrupt, HeaderLengthAbsurd) {
    testing::Bytes b;
    b.u64(~0ull).raw("{}", 2);
    expect_error(b.data, StatusCode::kCorrupt, "exceeds the safetensors limit");
}

TEST(SafetensorsCorrupt, HeaderNotJson) {
    expect_error(make_safetensors_raw("{\"a\": ", 0), StatusCode::kCorrupt,
                 "header is not valid JSON");
    expect_error(make_safetensors_raw("[1, 2]", 0), StatusCode::kCorrupt,
                 "does not start with '{'");
    expect_error(make_safetensors_raw("", 0), StatusCode::kCorrupt, "does not start with '{'");
    expect_error(make_safetensors_raw(std::string(100, '{'), 0), StatusCode::kCorrupt,
                 "nests deeper");
}

TEST(SafetensorsCorrupt, EntryFieldsChecked) {
    expect_error(make_safetensors_raw(R"({"x": 5})", 0), StatusCode::kCorrupt,
                 "tensor 'x': header entry must be an object");
    expect_error(make_safetensors_raw(R"({"x": {"shape": [1], "data_offsets": [0, 4]}})", 4),
                 StatusCode::kCorrupt, "'dtype' must be a string");
    expect_error(make_safetensors_raw(
                     R"({"x": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}})", 4),
                 StatusCode::kCorrupt, "non-negative");
    expect_error(
        make_safetensors_raw(R"({"x": {"dtype": "F32", "shape": [1], "data_offsets": [0]}})", 4),
        StatusCode::kCorrupt, "'data_offsets' must be two non-negative integers");
    expect_error(
        make_safetensors_raw(
            R"({"x": {"dtype": "F32", "shape": [4294967296, 4294967296], "data_offsets": [0, 4]}})",
            4),
        StatusCode::kCorrupt, "too many elements");
}

TEST(SafetensorsCorrupt, OffsetsOutOfRange) {
    expect_error(
        make_safetensors_raw(R"({"x": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}})", 4),
        StatusCode::kCorrupt,
        "tensor 'x': data_offsets [0, 8] are outside the 4-byte data section");
    expect_error(make_safetensors_raw(
                     R"({"x": {"dtype": "F32", "shape": [0], "data_offsets": [8, 4]}})", 16),
                 StatusCode::kCorrupt, "outside");
    expect_error(
        make_safetensors_raw(
            R"({"x": {"dtype": "F32", "shape": [1], "data_offsets": [18446744073709551615, 18446744073709551615]}})",
            4),
        StatusCode::kCorrupt, "outside");
}

TEST(SafetensorsCorrupt, ShapeDisagreesWithOffsets) {
    expect_error(make_safetensors_raw(
                     R"({"x": {"dtype": "BF16", "shape": [3], "data_offsets": [0, 8]}})", 8),
                 StatusCode::kCorrupt,
                 "tensor 'x' (BF16 with 3 elements) needs 6 bytes, but data_offsets [0, 8] span 8");
    // Checked for dtypes Unicorn does not use, too: the file is wrong either way.
    expect_error(
        make_safetensors_raw(R"({"x": {"dtype": "I64", "shape": [3], "data_offsets": [0, 8]}})", 8),
        StatusCode::kCorrupt, "needs 24 bytes");
}

TEST(SafetensorsCorrupt, OverlappingTensors) {
    expect_error(
        make_safetensors_raw(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                                          "b": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})",
                             8),
        StatusCode::kCorrupt, "overlap");
}

TEST(SafetensorsCorrupt, UnknownDtypeIsUnsupportedOnUse) {
    auto f = parse(make_safetensors_raw(
        R"({"x": {"dtype": "Q9_Z", "shape": [3], "data_offsets": [0, 5]}})", 8));
    ASSERT_TRUE(f.ok()) << f.status().to_string();
    EXPECT_EQ(f->tensor_view("x").status().code(), StatusCode::kUnsupported);
}

// ---------------------------------------------------------------------------------------
// Checkpoint folders

void write_index(const std::string& path, const nlohmann::json& weight_map) {
    testing::write_file(
        path,
        nlohmann::json{{"metadata", {{"total_size", 123}}}, {"weight_map", weight_map}}.dump(2));
}

TEST(SafetensorsModelTest, ShardedWithIndex) {
    TempDir dir;
    testing::write_file(
        dir.file("model-00001-of-00002.safetensors"),
        make_safetensors({{"a", "F32", {2}, as_bytes(std::vector<float>{1, 2})},
                          {"b", "BF16", {1}, as_bytes(std::vector<uint16_t>{0x3f80})}}));
    testing::write_file(
        dir.file("model-00002-of-00002.safetensors"),
        make_safetensors({{"c", "F16", {3}, as_bytes(std::vector<uint16_t>{1, 2, 3})}}));
    write_index(dir.file("model.safetensors.index.json"),
                {{"a", "model-00001-of-00002.safetensors"},
                 {"b", "model-00001-of-00002.safetensors"},
                 {"c", "model-00002-of-00002.safetensors"}});
    for (const std::string& path : {dir.path(), dir.file("model.safetensors.index.json")}) {
        auto m = SafetensorsModel::open(path);
        ASSERT_TRUE(m.ok()) << m.status().to_string();
        EXPECT_EQ(m->names(), (std::vector<std::string>{"a", "b", "c"}));
        EXPECT_EQ(m->files().size(), 2u);
        EXPECT_EQ(m->tensor_view("c")->data_as<uint16_t>()[2], 3);
        EXPECT_EQ(m->tensor_view("a")->data_as<float>()[1], 2.0f);
        auto missing = m->tensor_view("d");
        EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
        EXPECT_THAT(missing.status().message(), HasSubstr("tensor 'd' not found in " + path));
    }
}

TEST(SafetensorsModelTest, IndexProblems) {
    TempDir dir;
    testing::write_file(dir.file("s1.safetensors"),
                        make_safetensors({{"a", "F32", {1}, as_bytes(std::vector<float>{1})}}));
    write_index(dir.file("model.safetensors.index.json"),
                {{"a", "s1.safetensors"}, {"b", "s1.safetensors"}});
    auto r = SafetensorsModel::open(dir.path());
    EXPECT_EQ(r.status().code(), StatusCode::kCorrupt);
    EXPECT_THAT(r.status().message(), HasSubstr("maps tensor 'b' to"));

    write_index(dir.file("model.safetensors.index.json"), {{"a", "s2.safetensors"}});
    r = SafetensorsModel::open(dir.path());
    EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
    EXPECT_THAT(r.status().message(), HasSubstr("lists shard 's2.safetensors'"));

    write_index(dir.file("model.safetensors.index.json"), {{"a", "../s1.safetensors"}});
    r = SafetensorsModel::open(dir.path());
    EXPECT_EQ(r.status().code(), StatusCode::kCorrupt);
    EXPECT_THAT(r.status().message(), HasSubstr("not a file in the checkpoint folder"));

    testing::write_file(dir.file("model.safetensors.index.json"),
                        std::string(R"({"weight_map": 3})"));
    EXPECT_THAT(SafetensorsModel::open(dir.path()).status().message(),
                HasSubstr("'weight_map' must be an object"));
}

TEST(SafetensorsModelTest, IndexPicksAmongDuplicates) {
    TempDir dir;
    testing::write_file(dir.file("s1.safetensors"),
                        make_safetensors({{"a", "F32", {1}, as_bytes(std::vector<float>{1})}}));
    testing::write_file(dir.file("s2.safetensors"),
                        make_safetensors({{"a", "F32", {1}, as_bytes(std::vector<float>{2})}}));
    write_index(dir.file("model.safetensors.index.json"), {{"a", "s2.safetensors"}});
    auto m = SafetensorsModel::open(dir.path());
    ASSERT_TRUE(m.ok()) << m.status().to_string();
    EXPECT_EQ(m->tensor_view("a")->data_as<float>()[0], 2.0f);
}

TEST(SafetensorsModelTest, FolderLayouts) {
    TempDir dir;
    EXPECT_EQ(SafetensorsModel::open(dir.path()).status().code(), StatusCode::kNotFound);
    EXPECT_EQ(SafetensorsModel::open(dir.file("nothing")).status().code(), StatusCode::kNotFound);

    // Without an index: every *.safetensors, and a name in two files is an error.
    testing::write_file(dir.file("b.safetensors"),
                        make_safetensors({{"x", "F32", {1}, as_bytes(std::vector<float>{1})}}));
    testing::write_file(dir.file("a.safetensors"),
                        make_safetensors({{"y", "F32", {1}, as_bytes(std::vector<float>{2})}}));
    auto m = SafetensorsModel::open(dir.path());
    ASSERT_TRUE(m.ok()) << m.status().to_string();
    EXPECT_EQ(m->names(), (std::vector<std::string>{"x", "y"}));
    testing::write_file(dir.file("c.safetensors"),
                        make_safetensors({{"x", "F32", {1}, as_bytes(std::vector<float>{3})}}));
    auto dup = SafetensorsModel::open(dir.path());
    EXPECT_EQ(dup.status().code(), StatusCode::kCorrupt);
    EXPECT_THAT(dup.status().message(), HasSubstr("tensor 'x' appears in both"));

    // model.safetensors wins over the others when there is no index.
    testing::write_file(dir.file("model.safetensors"),
                        make_safetensors({{"z", "F32", {1}, as_bytes(std::vector<float>{4})}}));
    m = SafetensorsModel::open(dir.path());
    ASSERT_TRUE(m.ok()) << m.status().to_string();
    EXPECT_EQ(m->names(), (std::vector<std::string>{"z"}));

    // A single file by path.
    m = SafetensorsModel::open(dir.file("a.safetensors"));
    ASSERT_TRUE(m.ok()) << m.status().to_string();
    EXPECT_EQ(m->names(), (std::vector<std::string>{"y"}));
}

TEST(SafetensorsModelTest, RealShardedFixture) {
    const std::string dir = std::string(UNICORN_TEST_DATA) + "/models/gemma3_tiny";
    if (!std::filesystem::exists(dir + "/model.safetensors.index.json"))
        GTEST_SKIP() << "no fixture at " << dir;
    auto m = SafetensorsModel::open(dir);
    ASSERT_TRUE(m.ok()) << m.status().to_string();
    std::ifstream in(dir + "/model.safetensors.index.json");
    const auto index = nlohmann::json::parse(in);
    EXPECT_EQ(m->names().size(), index["weight_map"].size());
    EXPECT_EQ(m->files().size(), 4u);
    auto emb = m->tensor_view("model.embed_tokens.weight");
    ASSERT_TRUE(emb.ok()) << emb.status().to_string();
    EXPECT_EQ(emb->shape(), (Shape{512, 64}));
}

}  // namespace
}  // namespace unicorn::io
