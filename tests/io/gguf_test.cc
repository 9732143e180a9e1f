// GGUF writer ↔ reader round trips, typed getters and their coercions, tensor views.
#include "io/gguf.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "io/gguf_writer.h"
#include "io_test_util.h"

namespace unicorn::io {
namespace {

using ::testing::AnyOf;
using ::testing::HasSubstr;
using testing::TempDir;

std::shared_ptr<const std::vector<uint8_t>> bytes_of(const GgufWriter& w) {
    auto r = w.to_bytes();
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return std::make_shared<const std::vector<uint8_t>>(std::move(r).value());
}

GgufFile parse_ok(const GgufWriter& w) {
    auto r = GgufFile::parse_bytes(bytes_of(w));
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return std::move(r).value();
}

// Every metadata type once, including arrays of each element type and nested arrays.
void add_all_value_types(GgufWriter& w) {
    w.set_u8("t.u8", 200);
    w.set_i8("t.i8", -100);
    w.set_u16("t.u16", 60000);
    w.set_i16("t.i16", -30000);
    w.set_u32("t.u32", 4000000000u);
    w.set_i32("t.i32", -2000000000);
    w.set_f32("t.f32", 0.1f);
    w.set_bool("t.bool", true);
    w.set_string("t.string", "héllo\nworld");
    w.set_u64("t.u64", 18000000000000000000ull);
    w.set_i64("t.i64", -9000000000000000000ll);
    w.set_f64("t.f64", 1e300);
    w.set_string("t.empty_string", "");
    w.set_array("a.u8", std::vector<uint8_t>{1, 2, 255});
    w.set_array("a.i8", std::vector<int8_t>{-1, 0, 127});
    w.set_array("a.u16", std::vector<uint16_t>{65535});
    w.set_array("a.i16", std::vector<int16_t>{-32768, 5});
    w.set_array("a.u32", std::vector<uint32_t>{7, 8, 9});
    w.set_array("a.i32", std::vector<int32_t>{-1, 2, -3});
    w.set_array("a.f32", std::vector<float>{0.5f, -INFINITY, 3.25f});
    w.set_array("a.bool", std::vector<bool>{true, false, true});
    w.set_array("a.string", std::vector<std::string>{"<pad>", "", "▁the"});
    w.set_array("a.u64", std::vector<uint64_t>{1ull << 63});
    w.set_array("a.i64", std::vector<int64_t>{-5});
    w.set_array("a.f64", std::vector<double>{2.5, -0.0});
    w.set_array("a.empty", std::vector<int32_t>{});
    w.set("a.nested",
          GgufValue::array_of(GgufType::kArray, {GgufValue::array(std::vector<int32_t>{1, 2}),
                                                 GgufValue::array(std::vector<std::string>{"x"}),
                                                 GgufValue::array(std::vector<float>{})}));
}

TEST(GgufRoundTrip, EveryValueType) {
    GgufWriter w;
    add_all_value_types(w);
    GgufFile f = parse_ok(w);
    EXPECT_EQ(f.version(), 3u);
    EXPECT_EQ(f.metadata().size(), 27u);
    EXPECT_EQ(f.metadata()[0].first, "t.u8");  // file order kept

    EXPECT_EQ(f.find("t.u8")->type(), GgufType::kU8);
    EXPECT_EQ(*f.get_u32("t.u8"), 200u);
    EXPECT_EQ(*f.get_i32("t.i8"), -100);
    EXPECT_EQ(*f.get_u32("t.u16"), 60000u);
    EXPECT_EQ(*f.get_i32("t.i16"), -30000);
    EXPECT_EQ(*f.get_u32("t.u32"), 4000000000u);
    EXPECT_EQ(*f.get_i32("t.i32"), -2000000000);
    EXPECT_EQ(*f.get_f32("t.f32"), 0.1f);
    EXPECT_EQ(f.find("t.f32")->type(), GgufType::kF32);
    EXPECT_TRUE(*f.get_bool("t.bool"));
    EXPECT_EQ(*f.get_string("t.string"), "héllo\nworld");
    EXPECT_EQ(*f.get_u64("t.u64"), 18000000000000000000ull);
    EXPECT_EQ(*f.get_i64("t.i64"), -9000000000000000000ll);
    EXPECT_EQ(*f.get_f64("t.f64"), 1e300);
    EXPECT_EQ(*f.get_string("t.empty_string"), "");

    EXPECT_EQ(f.find("a.u8")->elem_type(), GgufType::kU8);
    EXPECT_EQ(*f.find("a.u8")->as_i64_array(), (std::vector<int64_t>{1, 2, 255}));
    EXPECT_EQ(*f.find("a.i8")->as_i64_array(), (std::vector<int64_t>{-1, 0, 127}));
    EXPECT_EQ(*f.find("a.u16")->as_i64_array(), (std::vector<int64_t>{65535}));
    EXPECT_EQ(*f.find("a.i16")->as_i64_array(), (std::vector<int64_t>{-32768, 5}));
    EXPECT_EQ(*f.get_u32_array("a.u32"), (std::vector<uint32_t>{7, 8, 9}));
    EXPECT_EQ(*f.get_i32_array("a.i32"), (std::vector<int32_t>{-1, 2, -3}));
    const std::vector<float> f32s = *f.get_f32_array("a.f32");
    ASSERT_EQ(f32s.size(), 3u);
    EXPECT_EQ(f32s[0], 0.5f);
    EXPECT_TRUE(std::isinf(f32s[1]) && f32s[1] < 0);
    EXPECT_EQ(f32s[2], 3.25f);
    EXPECT_EQ(f.find("a.bool")->elem_type(), GgufType::kBool);
    EXPECT_TRUE(*f.find("a.bool")->at(0).as_bool());
    EXPECT_FALSE(*f.find("a.bool")->at(1).as_bool());
    EXPECT_EQ(*f.get_string_array("a.string"), (std::vector<std::string>{"<pad>", "", "▁the"}));
    ASSERT_NE(f.find("a.string")->strings(), nullptr);
    EXPECT_EQ(*f.find("a.u64")->at(0).as_u64(), 1ull << 63);
    EXPECT_EQ(*f.find("a.i64")->at(0).as_i64(), -5);
    EXPECT_EQ(*f.find("a.f64")->as_f64_array(), (std::vector<double>{2.5, -0.0}));
    EXPECT_EQ(f.find("a.empty")->size(), 0u);
    EXPECT_EQ(f.find("a.empty")->elem_type(), GgufType::kI32);

    const GgufValue* nested = f.find("a.nested");
    ASSERT_NE(nested, nullptr);
    EXPECT_EQ(nested->elem_type(), GgufType::kArray);
    ASSERT_EQ(nested->size(), 3u);
    EXPECT_EQ(*nested->at(0).as_i64_array(), (std::vector<int64_t>{1, 2}));
    EXPECT_EQ(*nested->at(1).as_string_array(), (std::vector<std::string>{"x"}));
    EXPECT_EQ(nested->at(2).elem_type(), GgufType::kF32);
    EXPECT_EQ(nested->to_string(), "array<array>[3] [[1, 2], [\"x\"], []]");
}

TEST(GgufRoundTrip, ReencodesByteForByte) {
    GgufWriter w;
    add_all_value_types(w);
    const std::vector<uint8_t> first = *w.to_bytes();
    GgufFile f = parse_ok(w);
    GgufWriter again;
    for (const auto& [key, value] : f.metadata()) again.set(key, value);
    EXPECT_EQ(*again.to_bytes(), first);
}

struct TensorCase {
    std::string name;
    DType dtype;
    Shape shape;
    std::vector<uint8_t> bytes;
};

std::vector<TensorCase> sample_tensors() {
    std::vector<TensorCase> cases;
    std::vector<float> f32(6);
    for (size_t i = 0; i < f32.size(); ++i) f32[i] = 0.5f * static_cast<float>(i) - 1.0f;
    cases.push_back({"blk.0.attn_q.weight", DType::kF32, Shape{2, 3}, testing::as_bytes(f32)});
    std::vector<uint16_t> f16 = {0x3c00, 0xc000, 0x0000, 0x7bff, 0x0001};  // 1, -2, 0, max, tiny
    cases.push_back({"output_norm.weight", DType::kF16, Shape{5}, testing::as_bytes(f16)});
    // Q8_0: 2 rows of 64 = 4 blocks of 34 bytes (half scale + 32 int8), arbitrary bytes.
    std::vector<uint8_t> q8(4 * 34);
    for (size_t i = 0; i < q8.size(); ++i) q8[i] = static_cast<uint8_t>(i * 37 + 11);
    cases.push_back({"token_embd.weight", DType::kQ8_0, Shape{2, 64}, q8});
    std::vector<float> four_d(2 * 1 * 3 * 4, 7.0f);
    cases.push_back(
        {"altup_proj.weight", DType::kF32, Shape{2, 1, 3, 4}, testing::as_bytes(four_d)});
    cases.push_back({"empty.weight", DType::kF32, Shape{0, 8}, {}});
    return cases;
}

void expect_tensors(const GgufFile& f, const std::vector<TensorCase>& cases) {
    ASSERT_EQ(f.tensors().size(), cases.size());
    const auto* base = f.file()->data();
    for (size_t i = 0; i < cases.size(); ++i) {
        const TensorCase& c = cases[i];
        const GgufTensorInfo& info = f.tensors()[i];
        SCOPED_TRACE(c.name);
        EXPECT_EQ(info.name, c.name);
        EXPECT_EQ(info.dtype, c.dtype);
        EXPECT_EQ(info.shape, c.shape) << info.shape.to_string();
        EXPECT_EQ(info.nbytes, c.bytes.size());
        EXPECT_EQ((static_cast<const uint8_t*>(info.data) - base) % f.alignment(), 0u);
        EXPECT_EQ(info.offset % f.alignment(), 0u);
        auto t = f.tensor_view(c.name);
        ASSERT_TRUE(t.ok()) << t.status().to_string();
        EXPECT_EQ(t->dtype(), c.dtype);
        EXPECT_EQ(t->shape(), c.shape);
        if (f.alignment() >= 4) {
            EXPECT_EQ(t->data(), info.data);  // a view, not a copy
        }
        EXPECT_EQ(reinterpret_cast<uintptr_t>(t->data()) % (c.dtype == DType::kF32 ? 4 : 2), 0u);
        if (!c.bytes.empty()) {
            EXPECT_EQ(std::memcmp(t->data(), c.bytes.data(), c.bytes.size()), 0);
        }
    }
}

class GgufTensorRoundTrip : public ::testing::TestWithParam<uint32_t> {};

TEST_P(GgufTensorRoundTrip, ThroughAFile) {
    const uint32_t alignment = GetParam();
    TempDir dir;
    GgufWriter w;
    if (alignment != kGgufDefaultAlignment) w.set_alignment(alignment);
    w.set_string("general.architecture", "llama");
    const auto cases = sample_tensors();
    for (const auto& c : cases)
        ASSERT_TRUE(w.add_tensor(c.name, c.dtype, c.shape, c.bytes.data(), c.bytes.size()).ok());
    const std::string path = dir.file("model.gguf");
    ASSERT_TRUE(w.write(path).ok());
    EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));

    auto f = GgufFile::open(path);
    ASSERT_TRUE(f.ok()) << f.status().to_string();
    EXPECT_EQ(f->alignment(), alignment);
    EXPECT_EQ(f->data_offset() % alignment, 0u);
    EXPECT_EQ(f->path(), path);
    expect_tensors(*f, cases);
    EXPECT_EQ(*f->get_string("general.architecture"), "llama");

    // A view outlives the GgufFile: it owns the mapping.
    Tensor t = *f->tensor_view("blk.0.attn_q.weight");
    { GgufFile gone = std::move(f).value(); }
    EXPECT_EQ(t.data_as<float>()[5], 1.5f);
}

INSTANTIATE_TEST_SUITE_P(Alignments, GgufTensorRoundTrip,
                         ::testing::Values(32u, 1u, 2u, 64u, 4096u));

TEST(GgufWriter, TensorFromViewIsNotCopiedUntilWrite) {
    Tensor src = Tensor::zeros(DType::kF32, Shape{4, 8});
    src.data_as<float>()[31] = 42.0f;
    GgufWriter w;
    ASSERT_TRUE(w.add_tensor("x", src).ok());
    src.data_as<float>()[0] = -1.0f;  // written after add_tensor: must appear in the file
    GgufFile f = parse_ok(w);
    Tensor t = *f.tensor_view("x");
    EXPECT_EQ(t.shape(), (Shape{4, 8}));
    EXPECT_EQ(t.data_as<float>()[0], -1.0f);
    EXPECT_EQ(t.data_as<float>()[31], 42.0f);
}

TEST(GgufWriter, RejectsBadTensors) {
    GgufWriter w;
    std::vector<uint8_t> bytes(34);
    EXPECT_EQ(w.add_tensor("q", DType::kQ8_0, Shape{33}, bytes.data(), 34).code(),
              StatusCode::kInvalidArgument);
    Status s = w.add_tensor("f", DType::kF32, Shape{3}, bytes.data(), 8);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(s.message(), HasSubstr("needs 12 bytes, given 8"));
    ASSERT_TRUE(w.add_tensor("f", DType::kF32, Shape{2}, bytes.data(), 8).ok());
    EXPECT_THAT(w.add_tensor("f", DType::kF32, Shape{2}, bytes.data(), 8).message(),
                HasSubstr("duplicate"));
    EXPECT_EQ(w.add_tensor(std::string(64, 'n'), DType::kF32, Shape{2}, bytes.data(), 8).code(),
              StatusCode::kInvalidArgument);
    EXPECT_TRUE(w.add_tensor(std::string(63, 'n'), DType::kF32, Shape{2}, bytes.data(), 8).ok());
}

TEST(GgufWriter, RejectsBadAlignmentAtWrite) {
    GgufWriter w;
    w.set_alignment(48);
    auto r = w.to_bytes();
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(r.status().message(), HasSubstr("not a power of two"));
}

TEST(GgufWriter, UnwritablePathIsAnIoError) {
    GgufWriter w;
    w.set_u32("x", 1);
    Status s = w.write("/nonexistent_dir_for_unicorn_tests/model.gguf");
    EXPECT_EQ(s.code(), StatusCode::kIoError);
    EXPECT_THAT(s.message(), HasSubstr("cannot create"));
    TempDir dir;
    // The target is a directory: the temp file is written, the rename fails and is cleaned up.
    std::filesystem::create_directory(dir.file("taken"));
    std::filesystem::create_directory(dir.file("taken/sub"));
    s = w.write(dir.file("taken"));
    EXPECT_EQ(s.code(), StatusCode::kIoError);
    EXPECT_FALSE(std::filesystem::exists(dir.file("taken.tmp")));
}

TEST(GgufWriter, SetReplacesInPlace) {
    GgufWriter w;
    w.set_u32("a", 1);
    w.set_u32("b", 2);
    w.set_string("a", "x");
    GgufFile f = parse_ok(w);
    ASSERT_EQ(f.metadata().size(), 2u);
    EXPECT_EQ(f.metadata()[0].first, "a");
    EXPECT_EQ(*f.get_string("a"), "x");
}

// ---------------------------------------------------------------------------------------
// Getters

GgufFile getter_file() {
    GgufWriter w;
    w.set_u8("u8", 7);
    w.set_i32("neg", -1);
    w.set_f32("f_integral", 3.0f);  // gemma3n shared_kv_layers was once written as f32
    w.set_f32("f_fraction", 2.5f);
    w.set_u64("big", 1ull << 40);
    w.set_string("s", "llama");
    w.set_f64("f64", 1e-6);
    w.set_u8("one", 1);
    w.set_array("layers", std::vector<int32_t>{10, 20, 30});
    w.set_array("neg_layers", std::vector<int32_t>{1, -2});
    w.set_array("strs", std::vector<std::string>{"a", "b"});
    w.set_f64("huge_f64", 1e300);
    return parse_ok(w);
}

TEST(GgufGetters, Coercions) {
    GgufFile f = getter_file();
    EXPECT_EQ(*f.get_u32("u8"), 7u);
    EXPECT_EQ(*f.get_i64("u8"), 7);
    EXPECT_EQ(*f.get_f32("u8"), 7.0f);
    EXPECT_EQ(*f.get_i32("neg"), -1);
    EXPECT_EQ(*f.get_u32("f_integral"), 3u);
    EXPECT_EQ(*f.get_u64("big"), 1ull << 40);
    EXPECT_NEAR(*f.get_f32("f64"), 1e-6f, 1e-12);
    EXPECT_TRUE(*f.get_bool("one"));
    EXPECT_EQ(*f.get_u32_array("layers"), (std::vector<uint32_t>{10, 20, 30}));
    EXPECT_EQ(*f.get_f32_array("layers"), (std::vector<float>{10, 20, 30}));
}

TEST(GgufGetters, ErrorsNameTheKeyAndProblem) {
    GgufFile f = getter_file();
    auto r = f.get_u32("missing");
    EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
    EXPECT_THAT(r.status().message(), HasSubstr("'missing' not found"));

    r = f.get_u32("neg");
    EXPECT_EQ(r.status().code(), StatusCode::kOutOfRange);
    EXPECT_THAT(r.status().message(), HasSubstr("'neg'"));
    EXPECT_THAT(r.status().message(), HasSubstr("negative"));

    r = f.get_u32("f_fraction");
    EXPECT_EQ(r.status().code(), StatusCode::kCorrupt);
    EXPECT_THAT(r.status().message(), HasSubstr("f32 2.5 is not a non-negative integer"));

    r = f.get_u32("big");
    EXPECT_EQ(r.status().code(), StatusCode::kOutOfRange);
    EXPECT_THAT(r.status().message(), HasSubstr("does not fit"));

    r = f.get_u32("s");
    EXPECT_EQ(r.status().code(), StatusCode::kCorrupt);
    EXPECT_THAT(r.status().message(),
                HasSubstr("metadata key 's': expected an integer, found string \"llama\""));

    EXPECT_EQ(f.get_string("u8").status().code(), StatusCode::kCorrupt);
    EXPECT_EQ(f.get_bool("u8").status().code(), StatusCode::kCorrupt);  // 7 is not 0/1
    EXPECT_EQ(f.get_f32("huge_f64").status().code(), StatusCode::kOutOfRange);
    EXPECT_THAT(f.get_u32_array("neg_layers").status().message(), HasSubstr("element 1"));
    EXPECT_EQ(f.get_i32_array("s").status().code(), StatusCode::kCorrupt);
    EXPECT_EQ(f.get_string_array("layers").status().code(), StatusCode::kCorrupt);
}

TEST(GgufGetters, DefaultsOnlyForAbsentKeys) {
    GgufFile f = getter_file();
    EXPECT_EQ(*f.get_u32_or("missing", 5), 5u);
    EXPECT_EQ(*f.get_u32_or("u8", 5), 7u);
    EXPECT_EQ(*f.get_f32_or("missing", 0.5f), 0.5f);
    EXPECT_EQ(*f.get_string_or("missing", "d"), "d");
    EXPECT_TRUE(*f.get_bool_or("missing", true));
    EXPECT_EQ(*f.get_i32_or("missing", -3), -3);
    EXPECT_EQ(*f.get_u64_or("missing", 9), 9u);
    EXPECT_EQ(f.get_u32_or("s", 5).status().code(), StatusCode::kCorrupt);
}

TEST(GgufGetters, PerLayerScalarOrArray) {
    GgufFile f = getter_file();
    EXPECT_EQ(*f.get_u32_per_layer("u8", 3), (std::vector<uint32_t>{7, 7, 7}));
    EXPECT_EQ(*f.get_u32_per_layer("layers", 3), (std::vector<uint32_t>{10, 20, 30}));
    auto r = f.get_u32_per_layer("layers", 4);
    EXPECT_EQ(r.status().code(), StatusCode::kCorrupt);
    EXPECT_THAT(r.status().message(), HasSubstr("has 3 elements, expected 4"));
}

TEST(GgufTensors, MissingTensorNamesTensorAndFile) {
    GgufWriter w;
    float x = 1;
    ASSERT_TRUE(w.add_tensor("a", DType::kF32, Shape{1}, &x, 4).ok());
    GgufFile f = parse_ok(w);
    EXPECT_EQ(f.tensor("b"), nullptr);
    auto t = f.tensor_view("b");
    EXPECT_EQ(t.status().code(), StatusCode::kNotFound);
    EXPECT_THAT(t.status().message(), HasSubstr("tensor 'b' not found in <memory>"));
}

// ---------------------------------------------------------------------------------------
// Header-only files (open_header): a model cut after its tensor table, as make_random_like
// ships it.

// Metadata large enough that the header outweighs any one tensor, so a file cut after the
// header fails open() on a byte range rather than on a tensor larger than the whole file.
std::vector<uint8_t> header_test_model() {
    GgufWriter w;
    w.set_string("general.architecture", "llama");
    w.set_array("tokenizer.ggml.tokens", std::vector<std::string>(200, "token"));
    for (const auto& c : sample_tensors())
        EXPECT_TRUE(w.add_tensor(c.name, c.dtype, c.shape, c.bytes.data(), c.bytes.size()).ok());
    return *w.to_bytes();
}

std::string write_prefix(const TempDir& dir, const std::vector<uint8_t>& bytes, size_t n) {
    const std::string path = dir.file("prefix" + std::to_string(n) + ".gguf");
    testing::write_file(path, bytes.data(), n);
    return path;
}

TEST(GgufHeaderOnly, FileCutAfterTheHeaderParsesWithoutData) {
    TempDir dir;
    const std::vector<uint8_t> full = header_test_model();
    auto whole = GgufFile::parse_bytes(std::make_shared<const std::vector<uint8_t>>(full));
    ASSERT_TRUE(whole.ok()) << whole.status().to_string();
    const size_t header = whole->data_offset();
    ASSERT_LT(header, full.size());

    // Cut at data_offset (what --header-out writes), and inside the padding before it.
    for (size_t n : {header, header - 1}) {
        SCOPED_TRACE(n);
        auto f = GgufFile::open_header(write_prefix(dir, full, n));
        ASSERT_TRUE(f.ok()) << f.status().to_string();
        EXPECT_EQ(f->data_offset(), header);
        EXPECT_EQ(f->metadata().size(), whole->metadata().size());
        EXPECT_EQ(*f->get_string_array("tokenizer.ggml.tokens"),
                  *whole->get_string_array("tokenizer.ggml.tokens"));
        ASSERT_EQ(f->tensors().size(), whole->tensors().size());
        for (size_t i = 0; i < f->tensors().size(); ++i) {
            const GgufTensorInfo& t = f->tensors()[i];
            EXPECT_EQ(t.name, whole->tensors()[i].name);
            EXPECT_EQ(t.shape, whole->tensors()[i].shape);
            EXPECT_EQ(t.dtype, whole->tensors()[i].dtype);
            EXPECT_EQ(t.offset, whole->tensors()[i].offset);
            EXPECT_EQ(t.nbytes, whole->tensors()[i].nbytes);
            EXPECT_EQ(t.data, nullptr) << t.name;
        }
        auto v = f->tensor_view("token_embd.weight");
        EXPECT_EQ(v.status().code(), StatusCode::kInvalidArgument);
        EXPECT_THAT(v.status().message(), HasSubstr("has no data"));
    }
}

TEST(GgufHeaderOnly, TensorsWhoseBytesArePresentKeepTheirData) {
    TempDir dir;
    const std::vector<uint8_t> full = header_test_model();
    auto whole = GgufFile::parse_bytes(std::make_shared<const std::vector<uint8_t>>(full));
    ASSERT_TRUE(whole.ok());
    auto all = GgufFile::open_header(write_prefix(dir, full, full.size()));
    ASSERT_TRUE(all.ok()) << all.status().to_string();
    for (const GgufTensorInfo& t : all->tensors()) EXPECT_NE(t.data, nullptr) << t.name;
    // Cut one byte into the third tensor: the first two are whole, the rest have no data.
    const size_t cut = whole->data_offset() + whole->tensors()[2].offset + 1;
    auto part = GgufFile::open_header(write_prefix(dir, full, cut));
    ASSERT_TRUE(part.ok()) << part.status().to_string();
    const auto& ts = part->tensors();
    EXPECT_NE(ts[0].data, nullptr);
    EXPECT_NE(ts[1].data, nullptr);
    EXPECT_EQ(ts[2].data, nullptr);
    EXPECT_EQ(ts[3].data, nullptr);
    EXPECT_EQ(std::memcmp(ts[1].data, whole->tensors()[1].data, ts[1].nbytes), 0);
    EXPECT_TRUE(part->tensor_view(ts[0].name).ok());
}

TEST(GgufHeaderOnly, OpenStillRejectsAFileWithoutItsData) {
    TempDir dir;
    const std::vector<uint8_t> full = header_test_model();
    auto whole = GgufFile::parse_bytes(std::make_shared<const std::vector<uint8_t>>(full));
    ASSERT_TRUE(whole.ok());
    const std::string path = write_prefix(dir, full, whole->data_offset());
    auto f = GgufFile::open(path);
    EXPECT_EQ(f.status().code(), StatusCode::kCorrupt);
    EXPECT_THAT(f.status().message(), HasSubstr(path));
    EXPECT_THAT(f.status().message(),
                HasSubstr("tensor 'blk.0.attn_q.weight' (offset 0, 24 bytes) extends past the "
                          "end of the file"));
}

TEST(GgufHeaderOnly, FileCutInsideTheHeaderFailsBoth) {
    TempDir dir;
    const std::vector<uint8_t> full = header_test_model();
    auto whole = GgufFile::parse_bytes(std::make_shared<const std::vector<uint8_t>>(full));
    ASSERT_TRUE(whole.ok());
    // Inside the tensor table (the padding after it is under 32 bytes), inside the metadata
    // (the token list), inside the magic.
    for (size_t n : {whole->data_offset() - 32, size_t{300}, size_t{3}}) {
        SCOPED_TRACE(n);
        const std::string path = write_prefix(dir, full, n);
        for (const auto& r : {GgufFile::open(path), GgufFile::open_header(path)}) {
            EXPECT_EQ(r.status().code(), StatusCode::kCorrupt);
            EXPECT_THAT(r.status().message(),
                        AnyOf(HasSubstr("truncated"), HasSubstr("bytes left in the file"),
                              HasSubstr("cannot fit")));
        }
    }
}

TEST(GgufHeaderOnly, ByteRangesAreStillChecked) {
    using testing::Bytes;
    auto parse = [](const Bytes& b) {
        return GgufFile::parse_header(
            MappedFile::from_buffer(std::make_shared<const std::vector<uint8_t>>(b.data)));
    };
    Bytes overlap;  // no data at all, yet the table contradicts itself
    overlap.header(3, 2, 0).tensor_info("a", {16}, 0, 0).tensor_info("b", {4}, 0, 32).pad_to(32);
    EXPECT_THAT(parse(overlap).status().message(), HasSubstr("overlap"));
    Bytes far;  // an end no file can reach, which would overflow later sums
    far.header(3, 1, 0).tensor_info("w", {1ull << 40}, 0, (1ull << 63) - (1ull << 41)).pad_to(32);
    auto r = parse(far);
    EXPECT_EQ(r.status().code(), StatusCode::kCorrupt);
    EXPECT_THAT(r.status().message(), HasSubstr("ends past 2^63 bytes"));
    Bytes ok;  // the same tensor just below 2^63 is only described
    ok.header(3, 1, 0).tensor_info("w", {1ull << 40}, 0, 1ull << 61).pad_to(32);
    auto o = parse(ok);
    ASSERT_TRUE(o.ok()) << o.status().to_string();
    EXPECT_EQ(o->tensors()[0].data, nullptr);
    EXPECT_EQ(o->tensors()[0].nbytes, size_t{1} << 42);
}

TEST(GgufValueTest, ToStringIsShortAndEscaped) {
    EXPECT_EQ(GgufValue::u32(32).to_string(), "u32 32");
    EXPECT_EQ(GgufValue::i8(-3).to_string(), "i8 -3");
    EXPECT_EQ(GgufValue::f32(0.1f).to_string(), "f32 0.1");
    EXPECT_EQ(GgufValue::boolean(false).to_string(), "bool false");
    EXPECT_EQ(GgufValue::string("a\"\x01").to_string(), "string \"a\\\"\\x01\"");
    std::vector<int32_t> many(100, 1);
    EXPECT_EQ(GgufValue::array(many).to_string(2), "array<i32>[100] [1, 1, ...]");
}

}  // namespace
}  // namespace unicorn::io
