// The --save-logits / --kl-base file: encoding error bounds, a write/read round trip, and a
// clear error for every kind of mismatched or damaged file.
#include "runtime/logit_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#include "runtime/eval_metrics.h"

namespace unicorn::eval {
namespace {

std::string tmp(const std::string& name) {
    return (std::filesystem::temp_directory_path() /
            ("unicorn_logits_" + std::to_string(::getpid()) + "_" + name))
        .string();
}

std::vector<float> random_logits(std::mt19937& rng, size_t n, float scale) {
    std::normal_distribution<float> d(0.0f, scale);
    std::vector<float> v(n);
    for (float& x : v) x = d(rng);
    return v;
}

std::vector<double> exact_log_softmax(const std::vector<float>& l) {
    const double max = *std::max_element(l.begin(), l.end());
    double sum = 0;
    for (float x : l) sum += std::exp(x - max);
    std::vector<double> out;
    for (float x : l) out.push_back(x - max - std::log(sum));
    return out;
}

TEST(LogitFile, RowEncodingErrorIsWithinTheStatedBound) {
    std::mt19937 rng(7);
    const size_t vocab = 1001;  // odd: the row carries a pad
    const std::vector<float> logits = random_logits(rng, vocab, 8.0f);  // spans > 32 nats
    std::vector<uint8_t> row(row_bytes(vocab));
    encode_row(logits, 17, row.data());
    const StoredRow r = view_row(row.data());
    const std::vector<double> exact = exact_log_softmax(logits);
    EXPECT_EQ(r.top, argmax(logits));
    EXPECT_NEAR(r.target_lp, exact[17], 1e-5);
    std::vector<float> decoded(vocab);
    decode_row(r, decoded);
    const double top = exact[static_cast<size_t>(r.top)];
    int dropped = 0;
    for (size_t i = 0; i < vocab; ++i) {
        if (exact[i] < top - kLogProbRange + 1e-3) {  // below the stored range
            if (std::isinf(decoded[i])) ++dropped;
            continue;
        }
        // Half a step of 32/65535 nats, plus the renormalization shift (tiny) and float error.
        EXPECT_NEAR(decoded[i], exact[i], 0.5 * kLogProbRange / 65535 + 2e-5) << i;
    }
    EXPECT_GT(dropped, 0);  // the test data does reach past the range
}

TEST(LogitFile, DecodedBaseAgainstItsOwnLogitsGivesZeroKl) {
    std::mt19937 rng(11);
    const std::vector<float> logits = random_logits(rng, 4096, 3.0f);
    std::vector<uint8_t> row(row_bytes(4096));
    encode_row(logits, 5, row.data());
    std::vector<float> base(4096);
    const StoredRow r = view_row(row.data());
    decode_row(r, base);
    const PositionComparison c = compare_position(logits, base, r.top, r.target_lp, 5);
    EXPECT_LT(std::fabs(c.kld), 1e-7);
    EXPECT_TRUE(c.same_top);
    EXPECT_NEAR(c.nll, c.nll_base, 1e-5);
}

struct SavedFile {
    std::string path;
    LogitFileInfo info{7, 8, 2, "model.gguf"};  // vocab 7, ctx 8: 3 scored rows a chunk
    std::vector<int32_t> tokens = {2, 1, 3, 4, 5, 6, 0, 1, 4, 4, 3, 2, 1, 0, 6, 5};
    std::vector<std::vector<uint8_t>> chunks;
};

SavedFile save(const std::string& name) {
    SavedFile s;
    s.path = tmp(name);
    std::mt19937 rng(3);
    auto w = LogitFileWriter::create(s.path, s.info, s.tokens);
    EXPECT_TRUE(w.ok()) << w.status().to_string();
    for (int c = 0; c < s.info.n_chunks; ++c) {
        std::vector<uint8_t> rows(s.info.scored() * row_bytes(s.info.vocab));
        for (int r = 0; r < s.info.scored(); ++r)
            encode_row(random_logits(rng, 7, 2.0f), r, rows.data() + r * row_bytes(7));
        EXPECT_TRUE((*w)->append_chunk(rows).ok());
        s.chunks.push_back(rows);
    }
    EXPECT_TRUE((*w)->finish().ok());
    return s;
}

TEST(LogitFile, RoundTripKeepsHeaderTokensAndRows) {
    const SavedFile s = save("roundtrip.bin");
    auto r = LogitFileReader::open(s.path);
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    EXPECT_EQ((*r)->info().vocab, 7);
    EXPECT_EQ((*r)->info().n_ctx, 8);
    EXPECT_EQ((*r)->info().n_chunks, 2);
    EXPECT_EQ((*r)->info().model, "model.gguf");
    EXPECT_EQ((*r)->tokens(), s.tokens);
    std::vector<uint8_t> rows;
    for (int c = 0; c < 2; ++c) {
        ASSERT_TRUE((*r)->read_chunk(c, &rows).ok());
        EXPECT_EQ(rows, s.chunks[c]);
    }
    EXPECT_TRUE((*r)->check_matches(7, 8, 2, s.tokens).ok());
    std::vector<int32_t> longer = s.tokens;
    longer.push_back(3);  // the text may go on past the saved chunks
    EXPECT_TRUE((*r)->check_matches(7, 8, 1, longer).ok());
    std::filesystem::remove(s.path);
}

void expect_error(const Status& s, const std::string& needle) {
    EXPECT_FALSE(s.ok());
    EXPECT_NE(s.message().find(needle), std::string::npos) << s.message();
}

TEST(LogitFile, MismatchedRunsAreRefusedWithTheReason) {
    const SavedFile s = save("mismatch.bin");
    auto r = LogitFileReader::open(s.path);
    ASSERT_TRUE(r.ok());
    expect_error((*r)->check_matches(9, 8, 2, s.tokens),
                 "vocabulary of 7 tokens; this model has 9");
    expect_error((*r)->check_matches(7, 4, 2, s.tokens), "--ctx 8; this run uses --ctx 4");
    expect_error((*r)->check_matches(7, 8, 3, s.tokens), "holds 2 chunks; this run asks for 3");
    std::vector<int32_t> other = s.tokens;
    other[11] = 6;
    expect_error((*r)->check_matches(7, 8, 2, other), "first difference at token 11, chunk 2");
    std::filesystem::remove(s.path);
}

TEST(LogitFile, DamagedFilesAreRefusedWithTheReason) {
    const SavedFile s = save("damaged.bin");
    const auto size = std::filesystem::file_size(s.path);
    std::filesystem::resize_file(s.path, size - 5);
    auto truncated = LogitFileReader::open(s.path);
    ASSERT_FALSE(truncated.ok());
    EXPECT_NE(truncated.status().message().find("truncated"), std::string::npos);
    {
        std::fstream f(s.path, std::ios::in | std::ios::out | std::ios::binary);
        f.write("NOTLOGIT", 8);
    }
    auto magic = LogitFileReader::open(s.path);
    ASSERT_FALSE(magic.ok());
    EXPECT_NE(magic.status().message().find("wrong magic"), std::string::npos);
    std::filesystem::remove(s.path);
    auto missing = LogitFileReader::open(s.path);
    ASSERT_FALSE(missing.ok());
    EXPECT_NE(missing.status().message().find("cannot open"), std::string::npos);
}

TEST(LogitFile, UnfinishedWriteLeavesNoFile) {
    const std::string path = tmp("unfinished.bin");
    const LogitFileInfo info{7, 8, 2, "m"};
    const std::vector<int32_t> tokens(16, 1);
    {
        auto w = LogitFileWriter::create(path, info, tokens);
        ASSERT_TRUE(w.ok());
        EXPECT_FALSE((*w)->finish().ok());  // no chunk appended
    }
    EXPECT_FALSE(std::filesystem::exists(path));
    EXPECT_FALSE(std::filesystem::exists(path + ".tmp"));
}

}  // namespace
}  // namespace unicorn::eval
