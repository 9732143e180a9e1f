// GgufWriter::add_generated_tensor: bytes produced chunk by chunk at write time must give the
// same file as the copied bytes would, in row order, within the chunk limit, and a failing
// fill function must leave no file behind.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "io/gguf.h"
#include "io/gguf_writer.h"
#include "io_test_util.h"

namespace unicorn::io {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;

// Byte i of a tensor is a function of (seed, i), so any chunking gives the same bytes.
uint8_t pattern_byte(uint32_t seed, size_t i) {
    return static_cast<uint8_t>((i * 2654435761u + seed * 40503u) >> 7);
}

std::vector<uint8_t> pattern(uint32_t seed, size_t n) {
    std::vector<uint8_t> v(n);
    for (size_t i = 0; i < n; ++i) v[i] = pattern_byte(seed, i);
    return v;
}

struct Case {
    std::string name;
    DType dtype;
    Shape shape;
    size_t nbytes;
};

// Ranks 0 to 3, a block-quantized row, an empty tensor, rows that no chunk size divides.
std::vector<Case> cases() {
    return {
        {"scalar", DType::kF32, Shape{}, 4},
        {"vec", DType::kF32, Shape{7}, 28},
        {"mat", DType::kBF16, Shape{13, 6}, 13 * 6 * 2},
        {"q8", DType::kQ8_0, Shape{5, 64}, 5 * 2 * 34},
        {"cube", DType::kF32, Shape{3, 5, 4}, 3 * 5 * 4 * 4},
        {"empty", DType::kF32, Shape{0, 8}, 0},
    };
}

std::vector<uint8_t> file_bytes(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

struct Call {
    std::string tensor;
    int64_t row_begin;
    int64_t row_count;
};

// The same tensors twice: once copied, once generated with a chunk of `chunk_bytes`.
// Records every fill call.
void build(GgufWriter& copied, GgufWriter& generated, size_t chunk_bytes,
           std::vector<Call>* calls) {
    copied.set_string("general.architecture", "test");
    generated.set_string("general.architecture", "test");
    generated.set_fill_chunk_bytes(chunk_bytes);
    uint32_t seed = 1;
    for (const Case& c : cases()) {
        const std::vector<uint8_t> bytes = pattern(seed, c.nbytes);
        ASSERT_TRUE(copied.add_tensor(c.name, c.dtype, c.shape, bytes.data(), bytes.size()).ok());
        const size_t row_bytes = c.shape.rank() == 0    ? c.nbytes
                                 : c.shape.dim(-1) == 0 ? 0
                                                        : dtype_row_bytes(c.dtype, c.shape.dim(-1));
        auto fill = [seed, row_bytes, name = c.name, calls](int64_t begin, int64_t count,
                                                            void* dst) {
            calls->push_back({name, begin, count});
            auto* out = static_cast<uint8_t*>(dst);
            for (size_t i = 0; i < static_cast<size_t>(count) * row_bytes; ++i)
                out[i] = pattern_byte(seed, static_cast<size_t>(begin) * row_bytes + i);
            return ok_status();
        };
        ASSERT_TRUE(generated.add_generated_tensor(c.name, c.dtype, c.shape, fill).ok());
        ++seed;
    }
}

class GeneratedTensorChunks : public ::testing::TestWithParam<size_t> {};

TEST_P(GeneratedTensorChunks, SameFileAsCopiedBytes) {
    const size_t chunk_bytes = GetParam();
    GgufWriter copied, generated;
    std::vector<Call> calls;
    build(copied, generated, chunk_bytes, &calls);

    auto want = copied.to_bytes();
    auto got = generated.to_bytes();
    ASSERT_TRUE(want.ok() && got.ok());
    EXPECT_EQ(*got, *want);

    TempDir dir;
    calls.clear();
    ASSERT_TRUE(generated.write(dir.file("g.gguf")).ok());
    EXPECT_FALSE(std::filesystem::exists(dir.file("g.gguf.tmp")));
    EXPECT_EQ(file_bytes(dir.file("g.gguf")), *want);

    // Row order, no gaps, at least one row per call and no more than the chunk allows.
    for (const Case& c : cases()) {
        const int64_t rows = c.shape.rows();
        const size_t row_bytes = rows == 0 || c.nbytes == 0 ? 1 : c.nbytes / rows;
        const int64_t max_rows = std::max<int64_t>(1, chunk_bytes / row_bytes);
        int64_t next = 0;
        for (const Call& call : calls) {
            if (call.tensor != c.name) continue;
            EXPECT_EQ(call.row_begin, next) << c.name;
            EXPECT_GE(call.row_count, 1) << c.name;
            EXPECT_LE(call.row_count, max_rows) << c.name;
            next += call.row_count;
        }
        EXPECT_EQ(next, c.nbytes == 0 ? 0 : rows) << c.name;
    }

    auto f = GgufFile::open(dir.file("g.gguf"));
    ASSERT_TRUE(f.ok()) << f.status().to_string();
    for (const Case& c : cases()) {
        const GgufTensorInfo* t = f->tensor(c.name);
        ASSERT_NE(t, nullptr) << c.name;
        EXPECT_EQ(t->shape, c.shape) << c.name;
        EXPECT_EQ(t->dtype, c.dtype) << c.name;
        EXPECT_EQ(t->nbytes, c.nbytes) << c.name;
    }
}

// 1 byte: one row per call even when a row is larger than the chunk; 40: several rows per
// call with a remainder; 1 MiB: every tensor in one call.
INSTANTIATE_TEST_SUITE_P(ChunkBytes, GeneratedTensorChunks, ::testing::Values(1u, 40u, 1u << 20));

TEST(GeneratedTensors, WriteReusesOneChunkBuffer) {
    GgufWriter w;
    w.set_fill_chunk_bytes(64);
    std::vector<const void*> buffers;
    auto fill = [&](int64_t, int64_t count, void* dst) {
        buffers.push_back(dst);
        std::memset(dst, 0, static_cast<size_t>(count) * 16 * 4);
        return ok_status();
    };
    ASSERT_TRUE(w.add_generated_tensor("a", DType::kF32, Shape{10, 16}, fill).ok());
    TempDir dir;
    ASSERT_TRUE(w.write(dir.file("a.gguf")).ok());
    ASSERT_EQ(buffers.size(), 10u);  // 64 bytes = one 16-float row per call
    EXPECT_TRUE(std::all_of(buffers.begin(), buffers.end(),
                            [&](const void* p) { return p == buffers[0]; }));
}

TEST(GeneratedTensors, FillErrorLeavesNoFile) {
    GgufWriter w;
    w.set_fill_chunk_bytes(8);
    ASSERT_TRUE(
        w.add_generated_tensor("ok", DType::kF32, Shape{4}, [](int64_t, int64_t n, void* dst) {
             std::memset(dst, 0, static_cast<size_t>(n) * 16);
             return ok_status();
         }).ok());
    ASSERT_TRUE(w.add_generated_tensor("bad", DType::kF32, Shape{6, 2},
                                       [](int64_t begin, int64_t n, void* dst) {
                                           if (begin >= 2)
                                               return io_error("generator gave up at row 2");
                                           std::memset(dst, 0, static_cast<size_t>(n) * 8);
                                           return ok_status();
                                       })
                    .ok());
    TempDir dir;
    Status s = w.write(dir.file("m.gguf"));
    EXPECT_EQ(s.code(), StatusCode::kIoError);
    EXPECT_THAT(s.message(), HasSubstr("gave up at row 2"));
    EXPECT_FALSE(std::filesystem::exists(dir.file("m.gguf")));
    EXPECT_FALSE(std::filesystem::exists(dir.file("m.gguf.tmp")));
    auto r = w.to_bytes();
    EXPECT_THAT(r.status().message(), HasSubstr("gave up at row 2"));
}

TEST(GeneratedTensors, RejectsBadTensors) {
    GgufWriter w;
    auto zero = [](int64_t, int64_t, void*) { return ok_status(); };
    EXPECT_EQ(w.add_generated_tensor("q", DType::kQ8_0, Shape{33}, zero).code(),
              StatusCode::kInvalidArgument);
    EXPECT_THAT(w.add_generated_tensor("none", DType::kF32, Shape{2}, nullptr).message(),
                HasSubstr("no fill function"));
    ASSERT_TRUE(w.add_generated_tensor("x", DType::kF32, Shape{2}, zero).ok());
    EXPECT_THAT(w.add_generated_tensor("x", DType::kF32, Shape{2}, zero).message(),
                HasSubstr("duplicate"));
    std::vector<uint8_t> bytes(8);
    EXPECT_THAT(w.add_tensor("x", DType::kF32, Shape{2}, bytes.data(), 8).message(),
                HasSubstr("duplicate"));
    EXPECT_EQ(w.add_generated_tensor(std::string(64, 'n'), DType::kF32, Shape{2}, zero).code(),
              StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace unicorn::io
