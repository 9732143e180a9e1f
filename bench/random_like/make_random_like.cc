// make_random_like: a random-weight copy of a GGUF model, for speed work on a machine that
// cannot receive the real file. Only the header (metadata, tokenizer included, and the tensor
// table: a few MB) has to travel:
//
//   make_random_like --header-out model.hdr model.gguf   # where the model is
//   make_random_like -o random.gguf model.hdr            # where the benchmark runs
//
// The copy has every metadata key of the input, in order and with its type, the same alignment,
// and every tensor with the same name, shape, dtype and offset: its header is the input's byte
// for byte (except that a version 2 input becomes version 3, the one GgufWriter writes) and it
// ends where ggml and gguf-py end a file, after padding the last tensor to the alignment.
//
// Values are uniform, with std 1/sqrt(fan_in) for tensors of rank 2 or more (fan_in = the
// innermost dimension; for token_embd that is the embedding width, so embeddings get
// 1/sqrt(cols)) and 1 ± 0.1 for 1-D tensors (norm weights), then quantized to the tensor's
// dtype by the reference quantizer (quant/quantize.h). Element i of row r is a hash of
// (seed, tensor name, r, i), so a seed gives the same file whatever the thread count.
//
// Usage: make_random_like [--seed N] [--threads N] [--header-out FILE] [-o FILE] IN.gguf
#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/status.h"
#include "core/thread_pool.h"
#include "io/gguf.h"
#include "io/gguf_writer.h"
#include "io/mapped_file.h"
#include "quant/quantize.h"

namespace unicorn::random_like {
namespace {

struct Options {
    uint64_t seed = 0;
    int threads = 0;  // 0: one per core
    std::string header_out;
    std::string out;
    std::string in;
};

// murmur3's 64-bit finalizer: a bijection with full avalanche, enough to turn a counter into
// independent-looking bits.
uint64_t mix64(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    return x ^ (x >> 33);
}

uint64_t tensor_key(uint64_t seed, const std::string& name) {
    uint64_t h = mix64(seed + 0x9e3779b97f4a7c15ull);
    for (unsigned char c : name) h = mix64(h ^ c);
    return h;
}

// uniform(center ± half_width)
struct Uniform {
    float center;
    float half_width;
};

Uniform distribution(const Shape& shape) {
    if (shape.rank() <= 1) return {1.0f, 0.1f};
    const double fan_in = static_cast<double>(std::max<int64_t>(1, shape.cols()));
    return {0.0f, static_cast<float>(std::sqrt(3.0 / fan_in))};  // uniform(±a) has std a/√3
}

// Row `row` of a tensor as floats: each pair of elements comes from one hash of its position.
void random_row(uint64_t key, Uniform u, int64_t row, float* out, int64_t n) {
    const uint64_t row_key = mix64(key ^ mix64(static_cast<uint64_t>(row)));
    const float scale = 2.0f * u.half_width / 16777216.0f;  // 24 random bits per value
    const float lo = u.center - u.half_width;
    for (int64_t i = 0; i < n; i += 2) {
        const uint64_t x = mix64(row_key + static_cast<uint64_t>(i));
        out[i] = lo + scale * static_cast<float>(x >> 40);
        if (i + 1 < n) out[i + 1] = lo + scale * static_cast<float>((x >> 8) & 0xffffffu);
    }
}

uint64_t align_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

// The input's first data_offset() bytes (zeros for any padding a short header file lacks).
std::vector<uint8_t> header_bytes(const io::GgufFile& f) {
    const size_t have = std::min(f.file()->size(), f.data_offset());
    std::vector<uint8_t> h(f.data_offset(), 0);
    std::memcpy(h.data(), f.file()->data(), have);
    return h;
}

Status write_file(const std::string& path, const std::vector<uint8_t>& bytes) {
    const std::string tmp = path + ".tmp";
    std::FILE* f = std::fopen(tmp.c_str(), "wb");
    if (f == nullptr)
        return io_error(fmt::format("cannot create '{}': {}", tmp, std::strerror(errno)));
    const bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
    if (std::fclose(f) != 0 || !ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
        const std::string msg = fmt::format("cannot write '{}': {}", path, std::strerror(errno));
        std::remove(tmp.c_str());
        return io_error(msg);
    }
    return ok_status();
}

// Appends zeros up to `size` bytes (the writer stops at the last tensor's end).
Status pad_file(const std::string& path, uint64_t size) {
    std::FILE* f = std::fopen(path.c_str(), "ab");
    if (f == nullptr)
        return io_error(fmt::format("cannot open '{}': {}", path, std::strerror(errno)));
    bool ok = std::fseek(f, 0, SEEK_END) == 0;
    const long at = ok ? std::ftell(f) : -1;
    ok = at >= 0 && static_cast<uint64_t>(at) <= size;
    const std::vector<uint8_t> zeros(ok ? size - static_cast<uint64_t>(at) : 0, 0);
    // (fwrite of nothing from an empty vector's null data is undefined behaviour: skip it.)
    ok = ok && (zeros.empty() || std::fwrite(zeros.data(), 1, zeros.size(), f) == zeros.size());
    if (std::fclose(f) != 0 || !ok)
        return io_error(fmt::format("cannot pad '{}' to {} bytes", path, size));
    return ok_status();
}

// Adds every tensor of `src` to `w` as a generated tensor; `pool` must outlive w.write().
Status add_tensors(const io::GgufFile& src, uint64_t seed, ThreadPool& pool, io::GgufWriter& w) {
    for (const io::GgufTensorInfo& t : src.tensors()) {
        if (!quant::has_reference(t.dtype)) {
            return unsupported(fmt::format(
                "tensor '{}' has type {}, which the quantizer (quant/quantize.h) cannot produce",
                t.name, dtype_name(t.dtype)));
        }
    }
    for (const io::GgufTensorInfo& t : src.tensors()) {
        const DType dtype = t.dtype;
        const int64_t cols = t.shape.cols();
        const size_t row_bytes = dtype_row_bytes(dtype, cols);
        const uint64_t key = tensor_key(seed, t.name);
        const Uniform u = distribution(t.shape);
        auto fill = [&pool, dtype, cols, row_bytes, key, u](int64_t row_begin, int64_t rows,
                                                            void* dst) {
            auto* base = static_cast<uint8_t*>(dst);
            const int64_t grain = std::max<int64_t>(1, 16384 / std::max<int64_t>(cols, 1));
            pool.parallel_for(rows, grain, [&](int64_t b, int64_t e) {
                std::vector<float> values(static_cast<size_t>(cols));
                for (int64_t r = b; r < e; ++r) {
                    random_row(key, u, row_begin + r, values.data(), cols);
                    quant::quantize_row(dtype, values.data(), base + r * row_bytes, cols);
                }
            });
            return ok_status();
        };
        UNI_RETURN_IF_ERROR(w.add_generated_tensor(t.name, dtype, t.shape, fill));
    }
    return ok_status();
}

// Where GgufWriter puts each tensor (packed in table order, each at the next multiple of the
// alignment) and the end of the data section once padded as ggml pads it; a note when that
// layout is not the input's.
uint64_t check_layout(const io::GgufFile& src) {
    uint64_t offset = 0;
    size_t moved = 0;
    const io::GgufTensorInfo* first = nullptr;
    for (const io::GgufTensorInfo& t : src.tensors()) {
        if (t.offset != offset && moved++ == 0) first = &t;
        offset = align_up(offset + t.nbytes, src.alignment());
    }
    if (first != nullptr) {
        std::fprintf(stderr,
                     "make_random_like: note: %zu tensors are not where the input has them (the "
                     "copy packs them in table order; first: '%s' at input offset %llu)\n",
                     moved, first->name.c_str(), static_cast<unsigned long long>(first->offset));
    }
    return offset;
}

// "identical to the input's", or where the copy's header first differs.
std::string compare_headers(const std::vector<uint8_t>& in, const std::string& out_path) {
    auto out = io::MappedFile::open(out_path);
    if (!out.ok()) return "unreadable: " + out.status().to_string();
    const uint8_t* o = (*out)->data();
    const size_t n = std::min(in.size(), (*out)->size());
    const auto diff = std::mismatch(in.begin(), in.begin() + static_cast<ptrdiff_t>(n), o);
    if (diff.first == in.begin() + static_cast<ptrdiff_t>(n) && n == in.size())
        return "identical to the input's";
    return fmt::format("differs from the input's at byte {}", diff.first - in.begin());
}

Status make_copy(const Options& o, const io::GgufFile& src) {
    const auto start = std::chrono::steady_clock::now();
    io::GgufWriter w;
    for (const auto& [key, value] : src.metadata()) w.set(key, value);
    ThreadPool pool(o.threads);
    UNI_RETURN_IF_ERROR(add_tensors(src, o.seed, pool, w));
    const uint64_t size = src.data_offset() + check_layout(src);

    // The writer renames its own temporary file into place; this one is renamed to the real
    // name only once padded, so OUT is never a partial copy.
    const std::string partial = o.out + ".partial";
    Status s = w.write(partial);
    if (s.ok()) s = pad_file(partial, size);
    const std::string header = s.ok() ? compare_headers(header_bytes(src), partial) : "";
    if (s.ok() && std::rename(partial.c_str(), o.out.c_str()) != 0) {
        s = io_error(
            fmt::format("cannot rename '{}' to '{}': {}", partial, o.out, std::strerror(errno)));
    }
    if (!s.ok()) {
        std::remove(partial.c_str());
        return s;
    }
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf(
        "make_random_like: wrote %s: %zu tensors, %llu bytes (header %zu bytes, %s), seed %llu, "
        "%d threads, %.2f s\n",
        o.out.c_str(), src.tensors().size(), static_cast<unsigned long long>(size),
        src.data_offset(), header.c_str(), static_cast<unsigned long long>(o.seed), pool.size(),
        secs);
    return ok_status();
}

Status run(const Options& o) {
    // Header-only parsing reads a full model and a bare header alike.
    UNI_ASSIGN_OR_RETURN(io::GgufFile src, io::GgufFile::open_header(o.in));
    if (!o.header_out.empty()) {
        UNI_RETURN_IF_ERROR(write_file(o.header_out, header_bytes(src)));
        std::printf(
            "make_random_like: wrote %s: the header of %s, %zu bytes (%zu metadata keys, "
            "%zu tensors)\n",
            o.header_out.c_str(), o.in.c_str(), src.data_offset(), src.metadata().size(),
            src.tensors().size());
    }
    if (!o.out.empty()) UNI_RETURN_IF_ERROR(make_copy(o, src));
    return ok_status();
}

void usage(std::FILE* f) {
    std::fprintf(
        f,
        "usage: make_random_like [--seed N] [--threads N] [--header-out FILE] [-o FILE] IN\n"
        "  IN            a GGUF model, or just its header (the first bytes, as --header-out "
        "writes them)\n"
        "  --header-out  write IN's header (metadata and tensor table, no weights) to FILE\n"
        "  -o            write a copy of IN with random weights to FILE\n"
        "  --seed        random seed (default 0); the file depends on nothing else\n"
        "  --threads     generator threads (default: one per core)\n");
}

Result<Options> parse_args(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> Result<std::string> {
            if (i + 1 >= argc) return invalid_argument(fmt::format("{} needs a value", a));
            return std::string(argv[++i]);
        };
        auto integer = [&](int64_t hi) -> Result<int64_t> {
            UNI_ASSIGN_OR_RETURN(std::string v, value());
            char* end = nullptr;
            errno = 0;
            const long long n = std::strtoll(v.c_str(), &end, 10);
            if (v.empty() || *end != '\0' || errno != 0 || n < 0 || n > hi)
                return invalid_argument(fmt::format("{} {}: expected 0..{}", a, v, hi));
            return static_cast<int64_t>(n);
        };
        if (a == "-h" || a == "--help") {
            usage(stdout);
            std::exit(0);
        } else if (a == "--seed") {
            UNI_ASSIGN_OR_RETURN(int64_t n, integer(std::numeric_limits<int64_t>::max()));
            o.seed = static_cast<uint64_t>(n);
        } else if (a == "--threads") {
            UNI_ASSIGN_OR_RETURN(int64_t n, integer(1024));
            o.threads = static_cast<int>(n);
        } else if (a == "--header-out") {
            UNI_ASSIGN_OR_RETURN(o.header_out, value());
        } else if (a == "-o" || a == "--output") {
            UNI_ASSIGN_OR_RETURN(o.out, value());
        } else if (a.size() > 1 && a[0] == '-') {
            return invalid_argument(fmt::format("unknown argument '{}'", a));
        } else if (!o.in.empty()) {
            return invalid_argument(fmt::format("one input expected, got '{}' and '{}'", o.in, a));
        } else {
            o.in = a;
        }
    }
    if (o.in.empty()) return invalid_argument("an input GGUF (or header) is required");
    if (o.out.empty() && o.header_out.empty())
        return invalid_argument("nothing to do: give -o FILE and/or --header-out FILE");
    return o;
}

}  // namespace

// main() without the process around it, so tests can run the tool in-process.
int tool_main(int argc, char** argv) {
    auto opts = parse_args(argc, argv);
    if (!opts.ok()) {
        std::fprintf(stderr, "make_random_like: %s\n", opts.status().to_string().c_str());
        usage(stderr);
        return 2;
    }
    Status s = run(*opts);
    if (!s.ok()) {
        std::fprintf(stderr, "make_random_like: %s\n", s.to_string().c_str());
        return 1;
    }
    return 0;
}

}  // namespace unicorn::random_like

#ifndef MAKE_RANDOM_LIKE_NO_MAIN
int main(int argc, char** argv) { return unicorn::random_like::tool_main(argc, argv); }
#endif
