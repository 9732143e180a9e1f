// The base-model log-probabilities that `unicorn eval --save-logits` writes and `--kl-base`
// reads: for every scored position of every chunk, what KL divergence, top-1 agreement and
// PPL(base) need.
//
// File layout (little-endian):
//   offset  0  char[8]  magic "UNILOGPR"
//           8  u32      version (1)
//          12  u32      vocab        logits per position
//          16  u32      n_ctx        tokens per chunk
//          20  u32      n_chunks
//          24  u32      first        first scored position (n_ctx / 2)
//          28  u32      scored       positions scored per chunk (n_ctx − 1 − first)
//          32  f32      range        nats below the top log-prob that are stored (kLogProbRange)
//          36  u32      name_len     then name_len bytes: the base model's file name
//   then   i32[n_chunks · n_ctx]     the evaluated tokens, as the text gave them (the BOS that
//                                    replaces each chunk's first token is not stored)
//   then   n_chunks · scored rows of row_bytes(vocab) bytes each, chunk by chunk:
//          i32 top        the base's argmax, from its float logits (exact, ties → first)
//          f32 top_lp     log p(top)
//          f32 target_lp  log p(next token), exact (so PPL(base) carries no storage error)
//          u16 q[vocab]   log-probabilities, linear over [top_lp − range, top_lp]:
//                         lp = top_lp − range · (1 − q / 65535); q = 0 means "less than that"
//          (u16 pad when vocab is odd, keeping rows 4-byte aligned)
//
// Why this encoding: a 262k vocabulary in float32 costs 256 × 262144 × 4 = 268 MB per chunk of
// 512; this is half that. fp16/bf16 log-probs would be the same size but coarse where it
// matters (fp16 steps by 2^-6 nats at −16, bf16 by 2^-3): a linear 16-bit code over a fixed
// 32-nat range steps by 32/65535 = 4.9e-4 nats everywhere, an error of at most 2.4e-4 nats per
// log-probability (0.025 % in probability). Tokens more than 32 nats below the top (p < 1.3e-14
// of the top's) are dropped: at most 262144 · 1.3e-14 = 3.3e-9 of the mass. (A 24-nat range
// dropped measurably more: Gemma 3 against its own saved logits showed KLD ≈ 3e-7, which was
// the dropped tail.) The reader renormalizes the decoded distribution, so the rounding enters
// KL only at second order (≤ ½ · (2.4e-4)² ≈ 3e-8 nats): a model compared with its own saved
// logits gives KLD ≈ 0 (measured on Gemma 3 270M: mean 5e-9, |KLD| ≤ 2e-7 at any position,
// the float arithmetic of decoding).
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/status.h"

namespace unicorn::eval {

inline constexpr char kLogitFileMagic[8] = {'U', 'N', 'I', 'L', 'O', 'G', 'P', 'R'};
inline constexpr uint32_t kLogitFileVersion = 1;
inline constexpr float kLogProbRange = 32.0f;

struct LogitFileInfo {
    int32_t vocab = 0;
    int32_t n_ctx = 0;
    int32_t n_chunks = 0;
    std::string model;  // the base model's file name, for reports

    int32_t first() const { return n_ctx / 2; }
    int32_t scored() const { return n_ctx - 1 - first(); }
};

// Bytes of one stored position.
size_t row_bytes(int64_t vocab);

// One stored position, decoded in place from a row's bytes.
struct StoredRow {
    int32_t top = 0;
    float top_lp = 0;
    float target_lp = 0;
    const uint16_t* q = nullptr;  // vocab codes
};
StoredRow view_row(const uint8_t* row);

// Encodes one position's logits (target: the next token) into row_bytes(logits.size()) bytes.
void encode_row(std::span<const float> logits, int32_t target, uint8_t* row);
// Decodes a row into normalized log-probabilities; dropped tokens become −inf.
void decode_row(const StoredRow& row, std::span<float> log_probs);

class LogitFileWriter {
  public:
    // Writes `path`.tmp, renamed to `path` by finish(); `tokens` holds n_chunks · n_ctx ids.
    static Result<std::unique_ptr<LogitFileWriter>> create(const std::string& path,
                                                           const LogitFileInfo& info,
                                                           std::span<const int32_t> tokens);
    ~LogitFileWriter();  // removes the temporary file unless finish() succeeded
    // The next chunk's scored rows, back to back (scored() · row_bytes(vocab) bytes).
    Status append_chunk(std::span<const uint8_t> rows);
    Status finish();  // every chunk appended: syncs and renames

  private:
    LogitFileWriter() = default;
    std::string path_, tmp_;
    LogitFileInfo info_;
    std::FILE* f_ = nullptr;
    int32_t chunks_written_ = 0;
    bool done_ = false;
};

class LogitFileReader {
  public:
    // Validates the header and the file's size; errors name the file and what is wrong.
    static Result<std::unique_ptr<LogitFileReader>> open(const std::string& path);
    ~LogitFileReader();

    const LogitFileInfo& info() const { return info_; }
    const std::vector<int32_t>& tokens() const { return tokens_; }
    // Chunk c's scored rows into `rows` (resized to scored() · row_bytes(vocab)).
    Status read_chunk(int32_t c, std::vector<uint8_t>* rows);
    // An error unless this file was saved for the same vocabulary, context and tokens as a run
    // over `tokens` (the whole tokenized text) with `n_chunks` chunks of `n_ctx`.
    Status check_matches(int64_t vocab, int32_t n_ctx, int32_t n_chunks,
                         std::span<const int32_t> tokens) const;

  private:
    LogitFileReader() = default;
    std::string path_;
    LogitFileInfo info_;
    std::vector<int32_t> tokens_;
    std::FILE* f_ = nullptr;
    int64_t rows_offset_ = 0;
};

}  // namespace unicorn::eval
