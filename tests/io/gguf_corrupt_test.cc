// Malformed GGUF files: every class of corruption gives the expected StatusCode and a message
// that names the problem. Files are hand-built with testing::Bytes so each test breaks exactly
// one field.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "io/gguf.h"
#include "io/gguf_writer.h"
#include "io_test_util.h"

namespace unicorn::io {
namespace {

using ::testing::AnyOf;
using testing::Bytes;
using ::testing::HasSubstr;

constexpr uint32_t kF32 = 0;
constexpr uint32_t kQ8_0 = 8;

Status parse_status(std::vector<uint8_t> bytes) {
    auto r = GgufFile::parse_bytes(std::make_shared<const std::vector<uint8_t>>(std::move(bytes)));
    return r.status();
}

void expect_error(const std::vector<uint8_t>& bytes, StatusCode code, const std::string& needle) {
    Status s = parse_status(bytes);
    EXPECT_EQ(s.code(), code) << s.to_string();
    EXPECT_THAT(s.message(), HasSubstr(needle));
}

// One F32 tensor of 4 elements after one u32 key: the smallest interesting valid file.
Bytes valid_file() {
    Bytes b;
    b.header(3, 1, 1)
        .kv_u32("general.file_type", 0)
        .tensor_info("w", {4}, kF32, 0)
        .pad_to(32)
        .zeros(16);
    return b;
}

TEST(GgufCorrupt, BaselineIsValid) { EXPECT_TRUE(parse_status(valid_file().data).ok()); }

TEST(GgufCorrupt, VersionTwoIsAccepted) {
    Bytes b;
    b.header(2, 0, 1).kv_u32("x", 1);
    auto r = GgufFile::parse_bytes(std::make_shared<const std::vector<uint8_t>>(b.data));
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    EXPECT_EQ(r->version(), 2u);
}

TEST(GgufCorrupt, TruncatedAtEveryPosition) {
    GgufWriter w;
    w.set_string("general.architecture", "llama");
    w.set_array("tokenizer.ggml.tokens", std::vector<std::string>{"a", "bc", "def"});
    w.set_array("tokenizer.ggml.scores", std::vector<float>{0, 1, 2});
    w.set("nested",
          GgufValue::array_of(GgufType::kArray, {GgufValue::array(std::vector<uint16_t>{1, 2})}));
    std::vector<float> x(8, 1.0f);
    ASSERT_TRUE(w.add_tensor("a", DType::kF32, Shape{8}, x.data(), 32).ok());
    ASSERT_TRUE(w.add_tensor("b", DType::kF32, Shape{2, 4}, x.data(), 32).ok());
    const std::vector<uint8_t> full = *w.to_bytes();
    ASSERT_TRUE(parse_status(full).ok());
    for (size_t n = 0; n < full.size(); ++n) {
        Status s = parse_status(std::vector<uint8_t>(full.begin(), full.begin() + n));
        ASSERT_EQ(s.code(), StatusCode::kCorrupt) << "prefix " << n << ": " << s.to_string();
        EXPECT_THAT(s.message(),
                    AnyOf(HasSubstr("truncated"), HasSubstr("bytes left in the file"),
                          HasSubstr("cannot fit"), HasSubstr("past the end of the file"),
                          HasSubstr("more bytes")))
            << "prefix " << n;
    }
}

TEST(GgufCorrupt, EmptyInput) { expect_error({}, StatusCode::kCorrupt, "truncated"); }

TEST(GgufCorrupt, NotGguf) {
    expect_error(Bytes().raw("GGML", 4).u32(3).data, StatusCode::kCorrupt, "not a GGUF file");
}

TEST(GgufCorrupt, VersionOneRejected) {
    expect_error(Bytes().header(1, 0, 0).data, StatusCode::kUnsupported,
                 "GGUF version 1 is not supported");
}

TEST(GgufCorrupt, UnknownVersionsRejected) {
    expect_error(Bytes().header(4, 0, 0).data, StatusCode::kUnsupported, "unknown GGUF version 4");
    expect_error(Bytes().header(0, 0, 0).data, StatusCode::kUnsupported, "unknown GGUF version 0");
}

TEST(GgufCorrupt, ByteSwappedVersionIsBigEndian) {
    expect_error(Bytes().header(0x03000000, 0, 0).data, StatusCode::kUnsupported,
                 "big-endian GGUF not supported");
    expect_error(Bytes().header(0x02000000, 0, 0).data, StatusCode::kUnsupported,
                 "big-endian GGUF not supported");
}

TEST(GgufCorrupt, ByteSwappedMagicIsBigEndian) {
    expect_error(Bytes().raw("FUGG", 4).u32(3).u64(0).u64(0).data, StatusCode::kUnsupported,
                 "big-endian GGUF not supported");
}

TEST(GgufCorrupt, AbsurdTensorCount) {
    expect_error(Bytes().header(3, 1ull << 60, 0).data, StatusCode::kCorrupt,
                 "tensor count 1152921504606846976 cannot fit");
    expect_error(Bytes().header(3, ~0ull, 0).data, StatusCode::kCorrupt, "tensor count");
}

TEST(GgufCorrupt, AbsurdMetadataCount) {
    expect_error(Bytes().header(3, 0, ~0ull).data, StatusCode::kCorrupt, "metadata count");
}

TEST(GgufCorrupt, AbsurdArrayCount) {
    Bytes b;
    b.header(3, 0, 1).str("tokens").u32(9).u32(8).u64(1ull << 62);
    expect_error(b.data, StatusCode::kCorrupt,
                 "array count 4611686018427387904 of string cannot fit");
    Bytes c;
    c.header(3, 0, 1).str("scores").u32(9).u32(6).u64(~0ull);
    expect_error(c.data, StatusCode::kCorrupt, "array count");
    Bytes d;
    d.header(3, 0, 1).str("nested").u32(9).u32(9).u64(1ull << 40);
    expect_error(d.data, StatusCode::kCorrupt, "array count");
}

TEST(GgufCorrupt, StringLongerThanFile) {
    Bytes key;
    key.header(3, 0, 1).u64(1ull << 40).raw("abc", 3).zeros(16);
    expect_error(key.data, StatusCode::kCorrupt, "string length 1099511627776");
    Bytes value;
    value.header(3, 0, 1).str("general.name").u32(8).u64(100).raw("short", 5);
    Status s = parse_status(value.data);
    EXPECT_EQ(s.code(), StatusCode::kCorrupt);
    EXPECT_THAT(s.message(), HasSubstr("string length 100"));
    EXPECT_THAT(s.message(), HasSubstr("metadata key 'general.name'"));
    Bytes name;
    name.header(3, 1, 0).u64(~0ull).zeros(30);
    expect_error(name.data, StatusCode::kCorrupt, "the name of tensor 0");
}

TEST(GgufCorrupt, UnknownValueTypes) {
    expect_error(Bytes().header(3, 0, 1).str("k").u32(13).u32(0).data, StatusCode::kCorrupt,
                 "metadata key 'k' has unknown value type 13");
    expect_error(Bytes().header(3, 0, 1).str("k").u32(9).u32(99).u64(0).data, StatusCode::kCorrupt,
                 "unknown element type 99");
}

TEST(GgufCorrupt, DeeplyNestedArrays) {
    Bytes b;
    b.header(3, 0, 1).str("deep").u32(9);
    for (int i = 0; i < 20; ++i) b.u32(9).u64(1);
    b.u32(0).u64(0);
    expect_error(b.data, StatusCode::kCorrupt, "nested more than 8 deep");
}

TEST(GgufCorrupt, DuplicateKeys) {
    expect_error(Bytes().header(3, 0, 2).kv_u32("a", 1).kv_u32("a", 2).data, StatusCode::kCorrupt,
                 "duplicate metadata key 'a'");
}

TEST(GgufCorrupt, TooManyDimensions) {
    Bytes b;
    b.header(3, 1, 0).tensor_info("w", {1, 1, 1, 1, 1}, kF32, 0).pad_to(32).zeros(4);
    expect_error(b.data, StatusCode::kCorrupt, "tensor 'w' has 5 dimensions (at most 4)");
}

TEST(GgufCorrupt, UnknownTensorType) {
    Bytes b;
    b.header(3, 1, 0).tensor_info("x", {4}, 99, 0).pad_to(32).zeros(16);
    expect_error(b.data, StatusCode::kUnsupported, "tensor 'x' has unknown ggml type 99");
    Bytes iq;
    iq.header(3, 1, 0).tensor_info("y", {256}, 16, 0).pad_to(32).zeros(66);
    expect_error(iq.data, StatusCode::kUnsupported, "ggml type IQ2_XXS (16)");
}

TEST(GgufCorrupt, RowNotWholeBlocks) {
    Bytes b;
    b.header(3, 1, 0).tensor_info("q", {33, 2}, kQ8_0, 0).pad_to(32).zeros(200);
    expect_error(b.data, StatusCode::kCorrupt,
                 "row length 33 is not a multiple of the block size 32");
}

TEST(GgufCorrupt, ElementCountOverflow) {
    Bytes b;
    b.header(3, 1, 0).tensor_info("big", {1ull << 32, 1ull << 32}, kF32, 0).pad_to(32).zeros(16);
    expect_error(b.data, StatusCode::kCorrupt, "too many elements");
    Bytes c;
    c.header(3, 1, 0).tensor_info("neg", {~0ull}, kF32, 0).pad_to(32).zeros(16);
    expect_error(c.data, StatusCode::kCorrupt, "too many elements");
    Bytes d;  // fits int64 elements, but not as bytes in this file
    d.header(3, 1, 0).tensor_info("huge", {1ull << 40}, kF32, 0).pad_to(32).zeros(16);
    expect_error(d.data, StatusCode::kCorrupt, "more bytes");
}

TEST(GgufCorrupt, OffsetPastEnd) {
    Bytes b;
    b.header(3, 1, 0).tensor_info("w", {4}, kF32, 64).pad_to(32).zeros(16);
    expect_error(b.data, StatusCode::kCorrupt,
                 "tensor 'w' (offset 64, 16 bytes) extends past the end");
    Bytes c;  // offset so large that offset + data start wraps around 64 bits
    c.header(3, 1, 0).tensor_info("w", {4}, kF32, ~0ull - 31).pad_to(32).zeros(16);
    expect_error(c.data, StatusCode::kCorrupt, "extends past the end");
}

TEST(GgufCorrupt, MisalignedOffset) {
    Bytes b;
    b.header(3, 1, 0).tensor_info("w", {4}, kF32, 4).pad_to(32).zeros(32);
    expect_error(b.data, StatusCode::kCorrupt,
                 "tensor 'w' offset 4 is not a multiple of the alignment 32");
}

TEST(GgufCorrupt, AlignmentNotPowerOfTwo) {
    Bytes b;
    b.header(3, 0, 1).kv_u32("general.alignment", 48);
    expect_error(b.data, StatusCode::kCorrupt, "general.alignment 48 is not a power of two");
    Bytes z;
    z.header(3, 0, 1).kv_u32("general.alignment", 0);
    expect_error(z.data, StatusCode::kCorrupt, "not a power of two");
}

TEST(GgufCorrupt, AlignmentWrongType) {
    Bytes b;
    b.header(3, 0, 1).str("general.alignment").u32(10).u64(32);
    expect_error(b.data, StatusCode::kCorrupt, "general.alignment must be u32, found u64 32");
}

TEST(GgufCorrupt, CustomAlignmentIsHonoured) {
    Bytes b;
    b.header(3, 1, 1)
        .kv_u32("general.alignment", 64)
        .tensor_info("w", {4}, kF32, 0)
        .pad_to(64)
        .zeros(16);
    auto r = GgufFile::parse_bytes(std::make_shared<const std::vector<uint8_t>>(b.data));
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    EXPECT_EQ(r->data_offset() % 64, 0u);
    Bytes m;  // offset 32 is aligned for the default but not for 64
    m.header(3, 1, 1)
        .kv_u32("general.alignment", 64)
        .tensor_info("w", {4}, kF32, 32)
        .pad_to(64)
        .zeros(64);
    expect_error(m.data, StatusCode::kCorrupt, "not a multiple of the alignment 64");
}

TEST(GgufCorrupt, DuplicateTensorNames) {
    Bytes b;
    b.header(3, 2, 0)
        .tensor_info("w", {4}, kF32, 0)
        .tensor_info("w", {4}, kF32, 32)
        .pad_to(32)
        .zeros(64);
    expect_error(b.data, StatusCode::kCorrupt, "duplicate tensor name 'w'");
}

TEST(GgufCorrupt, OverlappingTensors) {
    Bytes b;
    b.header(3, 2, 0)
        .tensor_info("a", {16}, kF32, 0)
        .tensor_info("b", {4}, kF32, 32)
        .pad_to(32)
        .zeros(64);
    expect_error(b.data, StatusCode::kCorrupt,
                 "tensors 'a' (offset 0, 64 bytes) and 'b' (offset 32) overlap");
    Bytes same;  // listed out of order, same offset
    same.header(3, 2, 0)
        .tensor_info("b", {4}, kF32, 32)
        .tensor_info("a", {4}, kF32, 32)
        .pad_to(32)
        .zeros(64);
    expect_error(same.data, StatusCode::kCorrupt, "overlap");
}

TEST(GgufCorrupt, EmptyTensorsMayShareOffsets) {
    Bytes b;
    b.header(3, 3, 0)
        .tensor_info("e1", {0}, kF32, 0)
        .tensor_info("w", {4}, kF32, 0)
        .tensor_info("e2", {0, 5}, kF32, 0)
        .pad_to(32)
        .zeros(16);
    auto r = GgufFile::parse_bytes(std::make_shared<const std::vector<uint8_t>>(b.data));
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    EXPECT_EQ(r->tensor("e2")->shape, (Shape{5, 0}));
    EXPECT_EQ(r->tensor("e2")->nbytes, 0u);
}

TEST(GgufCorrupt, LongTensorNamesAreAcceptedWhenInBounds) {
    const std::string name(200, 'n');  // over GGUF's 64-byte limit, but the bytes are there
    Bytes b;
    b.header(3, 1, 0).tensor_info(name, {4}, kF32, 0).pad_to(32).zeros(16);
    auto r = GgufFile::parse_bytes(std::make_shared<const std::vector<uint8_t>>(b.data));
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    EXPECT_NE(r->tensor(name), nullptr);
}

TEST(GgufCorrupt, MetadataOnlyFileNeedsNoPadding) {
    Bytes b;
    b.header(3, 0, 1).kv_string("general.architecture", "llama");  // ends right after the value
    auto r = GgufFile::parse_bytes(std::make_shared<const std::vector<uint8_t>>(b.data));
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    EXPECT_EQ(*r->get_string("general.architecture"), "llama");
}

TEST(GgufCorrupt, ErrorsCarryThePath) {
    testing::TempDir dir;
    const std::string path = dir.file("bad.gguf");
    testing::write_file(path, Bytes().header(1, 0, 0).data);
    auto r = GgufFile::open(path);
    EXPECT_THAT(r.status().message(), HasSubstr(path + ": GGUF version 1"));
}

}  // namespace
}  // namespace unicorn::io
