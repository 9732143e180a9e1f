// make_random_like (bench/random_like), run in-process: from a model's header alone it makes a
// copy with the same metadata, tensor table and size, random data of the intended scale in every
// weight type, and bytes that depend on the seed but not on the thread count.
#define MAKE_RANDOM_LIKE_NO_MAIN
#include "../../bench/random_like/make_random_like.cc"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "io_test_util.h"

namespace unicorn::io {
namespace {

using ::testing::HasSubstr;
using testing::TempDir;

int run_tool(std::vector<std::string> args) {
    args.insert(args.begin(), "make_random_like");
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    return random_like::tool_main(static_cast<int>(argv.size()), argv.data());
}

std::vector<uint8_t> file_bytes(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

// A source model with all-zero weights: one [2, 256] tensor of every weight type, a norm, a
// 3-D tensor, and metadata of several types with a non-default alignment. The last tensor is
// 64 bytes, so the file ends on the alignment as ggml's and gguf-py's files do.
void write_source(const std::string& path, DType extra = DType::kF32) {
    GgufWriter w;
    w.set_string("general.architecture", "llama");
    w.set_alignment(64);
    w.set_u32("llama.block_count", 1);
    w.set_array("tokenizer.ggml.tokens", std::vector<std::string>{"<s>", "a", "b"});
    w.set_array("tokenizer.ggml.scores", std::vector<float>{0, -1, -2});
    w.set_bool("tokenizer.ggml.add_bos_token", true);
    auto add = [&](const std::string& name, DType t, Shape shape) {
        const size_t n = static_cast<size_t>(shape.rows()) * dtype_row_bytes(t, shape.cols());
        const std::vector<uint8_t> zeros(n, 0);
        ASSERT_TRUE(w.add_tensor(name, t, shape, zeros.data(), n).ok()) << name;
    };
    for (DType t : kWeightDTypes) add(fmt::format("w.{}.weight", dtype_name(t)), t, Shape{2, 256});
    add("blk.0.altup.weight", DType::kF32, Shape{3, 2, 32});
    if (extra != DType::kF32) add("odd.weight", extra, Shape{4});
    add("output_norm.weight", DType::kF32, Shape{16});
    ASSERT_TRUE(w.write(path).ok());
}

// Mean and standard deviation of a tensor's values, dequantized.
std::pair<double, double> moments(const GgufTensorInfo& t) {
    const int64_t cols = t.shape.cols();
    const size_t row_bytes = dtype_row_bytes(t.dtype, cols);
    std::vector<float> row(static_cast<size_t>(cols));
    double sum = 0, sum2 = 0;
    for (int64_t r = 0; r < t.shape.rows(); ++r) {
        quant::dequantize_row(t.dtype, static_cast<const uint8_t*>(t.data) + r * row_bytes,
                              row.data(), cols);
        for (float v : row) {
            sum += v;
            sum2 += static_cast<double>(v) * v;
        }
    }
    const double n = static_cast<double>(t.shape.numel());
    const double mean = sum / n;
    return {mean, std::sqrt(std::max(0.0, sum2 / n - mean * mean))};
}

TEST(MakeRandomLike, CopyFromHeaderMatchesTheSourceTable) {
    TempDir dir;
    const std::string src_path = dir.file("src.gguf");
    const std::string hdr = dir.file("src.hdr");
    const std::string out = dir.file("random.gguf");
    write_source(src_path);
    auto src = GgufFile::open(src_path);
    ASSERT_TRUE(src.ok()) << src.status().to_string();

    ASSERT_EQ(run_tool({"--header-out", hdr, src_path}), 0);
    const std::vector<uint8_t> src_bytes = file_bytes(src_path);
    const std::vector<uint8_t> hdr_bytes = file_bytes(hdr);
    ASSERT_EQ(hdr_bytes.size(), src->data_offset());
    EXPECT_TRUE(std::equal(hdr_bytes.begin(), hdr_bytes.end(), src_bytes.begin()));

    ASSERT_EQ(run_tool({"--seed", "5", "--threads", "3", "-o", out, hdr}), 0);
    EXPECT_FALSE(std::filesystem::exists(out + ".partial"));
    auto f = GgufFile::open(out);
    ASSERT_TRUE(f.ok()) << f.status().to_string();
    const std::vector<uint8_t> out_bytes = file_bytes(out);
    EXPECT_EQ(out_bytes.size(), src_bytes.size());
    EXPECT_TRUE(std::equal(hdr_bytes.begin(), hdr_bytes.end(), out_bytes.begin()));

    // The byte comparison above covers it; this says which key or tensor differs if not.
    EXPECT_EQ(f->alignment(), 64u);
    ASSERT_EQ(f->metadata().size(), src->metadata().size());
    for (size_t i = 0; i < f->metadata().size(); ++i) {
        EXPECT_EQ(f->metadata()[i].first, src->metadata()[i].first);
        EXPECT_EQ(f->metadata()[i].second.to_string(100), src->metadata()[i].second.to_string(100));
    }
    ASSERT_EQ(f->tensors().size(), src->tensors().size());
    for (size_t i = 0; i < f->tensors().size(); ++i) {
        const GgufTensorInfo& t = f->tensors()[i];
        const GgufTensorInfo& s = src->tensors()[i];
        SCOPED_TRACE(t.name);
        EXPECT_EQ(t.name, s.name);
        EXPECT_EQ(t.shape, s.shape);
        EXPECT_EQ(t.dtype, s.dtype);
        EXPECT_EQ(t.offset, s.offset);
        const auto* p = static_cast<const uint8_t*>(t.data);
        EXPECT_TRUE(std::any_of(p, p + t.nbytes, [](uint8_t b) { return b != 0; }));
        // Matrices: std 1/sqrt(fan_in) (quantization noise aside); vectors: 1 ± 0.1.
        const auto [mean, sd] = moments(t);
        if (t.shape.rank() == 1) {
            EXPECT_NEAR(mean, 1.0, 0.05);
            EXPECT_NEAR(sd, 0.1 / std::sqrt(3.0), 0.03);
        } else {
            const double want = 1.0 / std::sqrt(static_cast<double>(t.shape.cols()));
            EXPECT_NEAR(mean, 0.0, 0.25 * want);
            EXPECT_NEAR(sd, want, 0.25 * want);
        }
    }
}

TEST(MakeRandomLike, BytesDependOnTheSeedOnly) {
    TempDir dir;
    const std::string src = dir.file("src.gguf");
    write_source(src);
    // A full model works as input too; its header is all that is read.
    ASSERT_EQ(run_tool({"--threads", "1", "-o", dir.file("a.gguf"), src}), 0);
    ASSERT_EQ(run_tool({"--threads", "4", "-o", dir.file("b.gguf"), src}), 0);
    ASSERT_EQ(run_tool({"--seed", "1", "-o", dir.file("c.gguf"), src}), 0);
    const auto a = file_bytes(dir.file("a.gguf"));
    EXPECT_EQ(a, file_bytes(dir.file("b.gguf")));
    EXPECT_NE(a, file_bytes(dir.file("c.gguf")));
}

TEST(MakeRandomLike, TypeTheQuantizerCannotMakeIsNamed) {
    TempDir dir;
    const std::string src = dir.file("src.gguf");
    write_source(src, DType::kI32);
    const std::string out = dir.file("out.gguf");
    ::testing::internal::CaptureStderr();
    EXPECT_EQ(run_tool({"-o", out, src}), 1);
    EXPECT_THAT(::testing::internal::GetCapturedStderr(),
                HasSubstr("tensor 'odd.weight' has type I32, which the quantizer"));
    EXPECT_FALSE(std::filesystem::exists(out));
    // Only the source: the type is checked before any file is created.
    EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()),
                            std::filesystem::directory_iterator()),
              1);
}

TEST(MakeRandomLike, BadArgumentsAreUsageErrors) {
    ::testing::internal::CaptureStderr();
    EXPECT_EQ(run_tool({"in.gguf"}), 2);
    EXPECT_EQ(run_tool({"-o", "x.gguf"}), 2);
    EXPECT_EQ(run_tool({"--threads", "x", "-o", "x.gguf", "in.gguf"}), 2);
    EXPECT_EQ(run_tool({"-o", "x.gguf", "a.gguf", "b.gguf"}), 2);
    const std::string err = ::testing::internal::GetCapturedStderr();
    EXPECT_THAT(err, HasSubstr("nothing to do"));
    EXPECT_THAT(err, HasSubstr("one input expected"));
}

}  // namespace
}  // namespace unicorn::io
