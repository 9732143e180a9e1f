#include "runtime/logit_file.h"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>

namespace unicorn::eval {

static_assert(std::endian::native == std::endian::little, "the logits file is little-endian");

namespace {

constexpr size_t kRowHeaderBytes = 12;  // top, top_lp, target_lp
constexpr uint32_t kMaxNameBytes = 4096;
constexpr float kCodeMax = 65535.0f;

size_t header_bytes(size_t name_len) { return 40 + name_len; }

std::string os_error() { return std::strerror(errno); }

template <typename T>
void put(std::vector<uint8_t>& out, T v) {
    const auto* p = reinterpret_cast<const uint8_t*>(&v);
    out.insert(out.end(), p, p + sizeof(T));
}

template <typename T>
T get(const uint8_t* p) {
    T v;
    std::memcpy(&v, p, sizeof(T));
    return v;
}

}  // namespace

size_t row_bytes(int64_t vocab) {
    return kRowHeaderBytes + 2 * static_cast<size_t>(vocab + (vocab & 1));
}

StoredRow view_row(const uint8_t* row) {
    StoredRow r;
    r.top = get<int32_t>(row);
    r.top_lp = get<float>(row + 4);
    r.target_lp = get<float>(row + 8);
    r.q = reinterpret_cast<const uint16_t*>(row + kRowHeaderBytes);
    return r;
}

void encode_row(std::span<const float> logits, int32_t target, uint8_t* row) {
    float max = logits[0];
    int32_t top = 0;
    for (size_t i = 1; i < logits.size(); ++i) {
        if (logits[i] > max) {
            max = logits[i];
            top = static_cast<int32_t>(i);
        }
    }
    double sum = 0.0;
    for (float x : logits) sum += std::exp(x - max);
    const double lse = static_cast<double>(max) + std::log(sum);
    const float top_lp = static_cast<float>(static_cast<double>(max) - lse);
    const float target_lp =
        static_cast<float>(static_cast<double>(logits[static_cast<size_t>(target)]) - lse);
    std::memcpy(row, &top, 4);
    std::memcpy(row + 4, &top_lp, 4);
    std::memcpy(row + 8, &target_lp, 4);
    // lp − (top_lp − range) = logit − max + range, scaled to [0, 65535].
    const float scale = kCodeMax / kLogProbRange;
    uint16_t* q = reinterpret_cast<uint16_t*>(row + kRowHeaderBytes);
    for (size_t i = 0; i < logits.size(); ++i) {
        const float v = (logits[i] - max + kLogProbRange) * scale;
        q[i] = v <= 0.0f ? 0 : static_cast<uint16_t>(std::min(kCodeMax, std::nearbyint(v)));
    }
    if (logits.size() & 1) q[logits.size()] = 0;  // the pad
}

void decode_row(const StoredRow& row, std::span<float> log_probs) {
    const float step = kLogProbRange / kCodeMax;
    double sum = 0.0;
    for (size_t i = 0; i < log_probs.size(); ++i) {
        if (row.q[i] == 0) {
            log_probs[i] = -INFINITY;
            continue;
        }
        // Measured down from the top: the likely tokens, which dominate KL, keep float's full
        // precision (top_lp − range + step · q would round every value at the scale of the range).
        log_probs[i] = row.top_lp - step * static_cast<float>(65535 - row.q[i]);
        sum += std::exp(static_cast<double>(log_probs[i]));
    }
    // Rounding leaves Σ p a little off 1; renormalizing keeps KL(base ‖ base) at ~0.
    const float shift = static_cast<float>(std::log(sum));
    for (float& lp : log_probs) lp -= shift;
}

// ---- writer ----

Result<std::unique_ptr<LogitFileWriter>> LogitFileWriter::create(const std::string& path,
                                                                 const LogitFileInfo& info,
                                                                 std::span<const int32_t> tokens) {
    if (info.vocab <= 0 || info.n_ctx < 2 || info.n_chunks <= 0 ||
        tokens.size() != static_cast<size_t>(info.n_chunks) * static_cast<size_t>(info.n_ctx))
        return invalid_argument(fmt::format(
            "logits file {}: inconsistent layout (vocab {}, ctx {}, {} chunks, {} tokens)", path,
            info.vocab, info.n_ctx, info.n_chunks, tokens.size()));
    std::unique_ptr<LogitFileWriter> w(new LogitFileWriter());
    w->path_ = path;
    w->tmp_ = path + ".tmp";
    w->info_ = info;
    w->info_.model = info.model.substr(0, kMaxNameBytes);
    w->f_ = std::fopen(w->tmp_.c_str(), "wb");
    if (w->f_ == nullptr) return io_error(fmt::format("cannot write {}: {}", w->tmp_, os_error()));
    std::vector<uint8_t> h(kLogitFileMagic, kLogitFileMagic + 8);
    put<uint32_t>(h, kLogitFileVersion);
    put<uint32_t>(h, static_cast<uint32_t>(info.vocab));
    put<uint32_t>(h, static_cast<uint32_t>(info.n_ctx));
    put<uint32_t>(h, static_cast<uint32_t>(info.n_chunks));
    put<uint32_t>(h, static_cast<uint32_t>(info.first()));
    put<uint32_t>(h, static_cast<uint32_t>(info.scored()));
    put<float>(h, kLogProbRange);
    put<uint32_t>(h, static_cast<uint32_t>(w->info_.model.size()));
    h.insert(h.end(), w->info_.model.begin(), w->info_.model.end());
    if (std::fwrite(h.data(), 1, h.size(), w->f_) != h.size() ||
        std::fwrite(tokens.data(), sizeof(int32_t), tokens.size(), w->f_) != tokens.size())
        return io_error(fmt::format("cannot write {}: {}", w->tmp_, os_error()));
    return w;
}

LogitFileWriter::~LogitFileWriter() {
    if (f_ != nullptr) std::fclose(f_);
    if (!done_) std::filesystem::remove(tmp_);
}

Status LogitFileWriter::append_chunk(std::span<const uint8_t> rows) {
    const size_t want = static_cast<size_t>(info_.scored()) * row_bytes(info_.vocab);
    if (rows.size() != want || chunks_written_ >= info_.n_chunks)
        return internal_error(fmt::format("logits file {}: chunk {} has {} bytes, expected {}",
                                          path_, chunks_written_, rows.size(), want));
    if (std::fwrite(rows.data(), 1, rows.size(), f_) != rows.size())
        return io_error(fmt::format("cannot write {}: {}", tmp_, os_error()));
    ++chunks_written_;
    return ok_status();
}

Status LogitFileWriter::finish() {
    if (chunks_written_ != info_.n_chunks)
        return internal_error(fmt::format("logits file {}: {} of {} chunks written", path_,
                                          chunks_written_, info_.n_chunks));
    const bool flushed = std::fflush(f_) == 0;
    const bool closed = std::fclose(f_) == 0;
    f_ = nullptr;
    if (!flushed || !closed) return io_error(fmt::format("cannot write {}: {}", tmp_, os_error()));
    std::error_code ec;
    std::filesystem::rename(tmp_, path_, ec);
    if (ec) return io_error(fmt::format("cannot rename {} to {}: {}", tmp_, path_, ec.message()));
    done_ = true;
    return ok_status();
}

// ---- reader ----

Result<std::unique_ptr<LogitFileReader>> LogitFileReader::open(const std::string& path) {
    std::unique_ptr<LogitFileReader> r(new LogitFileReader());
    r->path_ = path;
    r->f_ = std::fopen(path.c_str(), "rb");
    if (r->f_ == nullptr) return not_found(fmt::format("cannot open {}: {}", path, os_error()));
    std::fseek(r->f_, 0, SEEK_END);
    const int64_t size = std::ftell(r->f_);
    std::fseek(r->f_, 0, SEEK_SET);
    uint8_t h[40];
    const auto bad = [&](const std::string& what) {
        return corrupt(
            fmt::format("{} is not a usable logits file from unicorn eval "
                        "--save-logits: {}",
                        path, what));
    };
    if (size < 40 || std::fread(h, 1, 40, r->f_) != 40) return bad("too short for its header");
    if (std::memcmp(h, kLogitFileMagic, 8) != 0) return bad("wrong magic");
    const uint32_t version = get<uint32_t>(h + 8);
    if (version != kLogitFileVersion)
        return bad(
            fmt::format("format version {}, this build reads {}", version, kLogitFileVersion));
    const uint32_t vocab = get<uint32_t>(h + 12), n_ctx = get<uint32_t>(h + 16);
    const uint32_t n_chunks = get<uint32_t>(h + 20), first = get<uint32_t>(h + 24);
    const uint32_t scored = get<uint32_t>(h + 28), name_len = get<uint32_t>(h + 36);
    const float range = get<float>(h + 32);
    if (vocab == 0 || vocab > (1u << 24) || n_ctx < 2 || n_ctx > (1u << 24) || n_chunks == 0 ||
        n_chunks > (1u << 24) || first != n_ctx / 2 || scored != n_ctx - 1 - first)
        return bad(
            fmt::format("inconsistent header (vocab {}, ctx {}, {} chunks, first {}, "
                        "scored {})",
                        vocab, n_ctx, n_chunks, first, scored));
    if (range != kLogProbRange)
        return bad(fmt::format("log-prob range {}, this build reads {}", range, kLogProbRange));
    if (name_len > kMaxNameBytes) return bad("model name too long");
    r->info_ = {static_cast<int32_t>(vocab), static_cast<int32_t>(n_ctx),
                static_cast<int32_t>(n_chunks), std::string(name_len, '\0')};
    const uint64_t n_tokens = uint64_t{n_chunks} * n_ctx;
    const uint64_t want = header_bytes(name_len) + n_tokens * 4 +
                          uint64_t{n_chunks} * scored * row_bytes(static_cast<int64_t>(vocab));
    if (static_cast<uint64_t>(size) != want)
        return bad(
            fmt::format("{} bytes, its header implies {} (truncated or not one file)", size, want));
    r->tokens_.resize(n_tokens);
    if ((name_len > 0 && std::fread(r->info_.model.data(), 1, name_len, r->f_) != name_len) ||
        std::fread(r->tokens_.data(), 4, n_tokens, r->f_) != n_tokens)
        return io_error(fmt::format("cannot read {}: {}", path, os_error()));
    for (int32_t t : r->tokens_)
        if (t < 0 || static_cast<uint32_t>(t) >= vocab)
            return bad(fmt::format("token id {} outside its vocabulary of {}", t, vocab));
    r->rows_offset_ = static_cast<int64_t>(header_bytes(name_len) + n_tokens * 4);
    return r;
}

LogitFileReader::~LogitFileReader() {
    if (f_ != nullptr) std::fclose(f_);
}

Status LogitFileReader::read_chunk(int32_t c, std::vector<uint8_t>* rows) {
    const size_t bytes = static_cast<size_t>(info_.scored()) * row_bytes(info_.vocab);
    rows->resize(bytes);
    const int64_t at = rows_offset_ + static_cast<int64_t>(c) * static_cast<int64_t>(bytes);
    if (c < 0 || c >= info_.n_chunks || std::fseek(f_, at, SEEK_SET) != 0 ||
        std::fread(rows->data(), 1, bytes, f_) != bytes)
        return io_error(fmt::format("cannot read chunk {} of {}: {}", c, path_, os_error()));
    return ok_status();
}

Status LogitFileReader::check_matches(int64_t vocab, int32_t n_ctx, int32_t n_chunks,
                                      std::span<const int32_t> tokens) const {
    if (vocab != info_.vocab)
        return invalid_argument(
            fmt::format("--kl-base {} was saved for a vocabulary of {} tokens; this model has {}",
                        path_, info_.vocab, vocab));
    if (n_ctx != info_.n_ctx)
        return invalid_argument(
            fmt::format("--kl-base {} was saved with --ctx {}; this run uses --ctx {}", path_,
                        info_.n_ctx, n_ctx));
    if (n_chunks > info_.n_chunks)
        return invalid_argument(fmt::format("--kl-base {} holds {} chunks; this run asks for {}",
                                            path_, info_.n_chunks, n_chunks));
    const size_t need = static_cast<size_t>(n_chunks) * static_cast<size_t>(n_ctx);
    if (tokens.size() < need)
        return invalid_argument(
            fmt::format("--kl-base {}: the text gives {} tokens, the {} chunks to compare need {}",
                        path_, tokens.size(), n_chunks, need));
    const auto diff = std::mismatch(tokens.begin(), tokens.begin() + static_cast<ptrdiff_t>(need),
                                    tokens_.begin());
    if (diff.first != tokens.begin() + static_cast<ptrdiff_t>(need)) {
        const auto at = diff.first - tokens.begin();
        return invalid_argument(fmt::format(
            "--kl-base {} was saved over different tokens (first difference at token {}, chunk "
            "{}): use the same text and a model with the same tokenizer",
            path_, at, at / n_ctx + 1));
    }
    return ok_status();
}

}  // namespace unicorn::eval
