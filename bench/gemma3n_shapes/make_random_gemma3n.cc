// make_random_gemma3n: a random-weight Gemma 3n text model in the exact shapes of
// google/gemma-3n-E2B or -E4B, as a GGUF in llama.cpp's `gemma3n` layout, for speed and memory
// work (the weights mean nothing; the shapes, dtypes, metadata and tokenizer are the real ones).
//
// Facts: docs/reference/gemma-architecture.md §1.1 (config values), §4.2 (tensor names, ne
// shapes), §4.3 (metadata keys), §4.4 item 8 (which tensors stay F32). The tensor list is the
// one llama.cpp's loader requires (llama_model_gemma3n::load_arch_tensors): wk/wv/attn_k_norm
// exist in every layer, the KV-sharing ones included. Metadata keys and value types are those
// llama.cpp's converter writes for gemma3n (Gemma3NModel.set_gguf_parameters: per-layer i32
// feed_forward_length, bool sliding_window_pattern, f32 activation_sparsity_scale, u32
// shared_kv_layers) plus rope.freq_base_swa and final_logit_softcapping. The vocabulary is
// 262144 tokens: every `tokenizer.*` key is copied from a real Gemma 3 GGUF (same
// SentencePiece vocabulary), so llama.cpp and Unicorn can tokenize with the file.
//
// Values are uniform with a chosen standard deviation (cheap and deterministic): matrices
// 1/sqrt(fan_in), token_embd 1/sqrt(2048) (Gemma multiplies it by sqrt(D)), per-layer token
// embeddings 0.05, norm weights and altup_correct_scale 1 ± 0.1 (Q/K norms 0.25 ± 0.025, see
// qk_norm below), AltUp coefficient matrices
// 0.05 (AltUp predictions stay close to their residual). Byte i of a tensor depends only on
// (seed, tensor name, row), never on chunking or threads, so a file is reproducible.
//
// Tensors are produced chunk by chunk while the file is written (GgufWriter generated
// tensors), so the 14 GB E4B BF16 file needs about 64 MiB of memory.
//
// Usage: make_random_gemma3n --variant E2B|E4B [--type BF16|F32] [--seed N] [--layers N]
//                            [--tokenizer-from GGUF] [--threads N] -o FILE
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

#include "core/cache_dir.h"
#include "core/dtype.h"
#include "core/half.h"
#include "core/shape.h"
#include "core/status.h"
#include "core/thread_pool.h"
#include "io/gguf.h"
#include "io/gguf_writer.h"

namespace unicorn {
namespace {

// Shared by E2B and E4B (reference §1.1).
constexpr int64_t kEmbd = 2048;         // D
constexpr int64_t kHeads = 8;           // H
constexpr int64_t kKvHeads = 2;         // Hkv
constexpr int64_t kHeadDim = 256;       // dh
constexpr int64_t kVocab = 262144;      // SentencePiece vocabulary = token_embd rows in GGUF
constexpr int64_t kPerLayerEmbd = 256;  // P, hidden_size_per_layer_input
constexpr int64_t kAltup = 4;           // altup_num_inputs
constexpr int64_t kLaurelRank = 64;
constexpr int64_t kSlidingWindow = 512;
constexpr int64_t kContext = 32768;
constexpr int64_t kSparseLayers = 10;   // activation_sparsity_pattern: 0.95 for layers 0–9
constexpr int64_t kFirstSharedKv = 20;  // L − num_kv_shared_layers, both variants
constexpr double kSparsityStd = 1.6448533535003662;  // Φ⁻¹(0.95), as the converter computes it
constexpr uint32_t kFileTypeF32 = 0;                 // llama_ftype LLAMA_FTYPE_ALL_F32
constexpr uint32_t kFileTypeBF16 = 32;               // LLAMA_FTYPE_MOSTLY_BF16

struct Variant {
    const char* name;
    int64_t layers;
    int64_t ffn;
    int64_t kv_shared_layers;
};
constexpr Variant kE2B{"E2B", 30, 8192, 10};
constexpr Variant kE4B{"E4B", 35, 16384, 15};

struct Options {
    Variant variant = kE2B;
    DType dtype = DType::kBF16;  // of the large matrices; norms and AltUp coefficients are F32
    uint64_t seed = 0;
    int64_t layers = 0;  // 0: the variant's
    std::string tokenizer_from;
    std::string out;
    int threads = 0;
};

// One tensor: its GGUF name, PyTorch-order shape, dtype, and uniform(center ± half_width).
struct Spec {
    std::string name;
    Shape shape;
    DType dtype;
    float center;
    float half_width;
};

uint64_t splitmix64(uint64_t& state) {
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

uint64_t fnv1a64(const std::string& s) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
    return h;
}

// Fills `count` values of row `row` of tensor `spec` into dst (F32 or BF16). Each row has its
// own splitmix64 stream, so rows can be produced in any order on any thread.
void fill_row(const Spec& spec, uint64_t tensor_seed, int64_t row, int64_t count, void* dst) {
    uint64_t state = tensor_seed ^ (static_cast<uint64_t>(row) * 0xd1b54a32d192ed03ull);
    splitmix64(state);
    constexpr float kInv24 = 1.0f / 16777216.0f;
    const float scale = 2.0f * spec.half_width * kInv24;
    const float offset = spec.center - spec.half_width;
    auto value = [&](uint32_t bits24) { return offset + scale * static_cast<float>(bits24); };
    if (spec.dtype == DType::kBF16) {
        auto* out = static_cast<uint16_t*>(dst);
        int64_t i = 0;
        for (; i + 1 < count; i += 2) {
            const uint64_t x = splitmix64(state);
            out[i] = f32_to_bf16(value(static_cast<uint32_t>(x >> 40)));
            out[i + 1] = f32_to_bf16(value(static_cast<uint32_t>(x >> 8) & 0xffffffu));
        }
        if (i < count) out[i] = f32_to_bf16(value(static_cast<uint32_t>(splitmix64(state) >> 40)));
    } else {
        auto* out = static_cast<float*>(dst);
        int64_t i = 0;
        for (; i + 1 < count; i += 2) {
            const uint64_t x = splitmix64(state);
            out[i] = value(static_cast<uint32_t>(x >> 40));
            out[i + 1] = value(static_cast<uint32_t>(x >> 8) & 0xffffffu);
        }
        if (i < count) out[i] = value(static_cast<uint32_t>(splitmix64(state) >> 40));
    }
}

// The whole tensor list in llama.cpp's names; `big` is the dtype of the large matrices.
std::vector<Spec> tensor_specs(const Variant& v, int64_t n_layer, DType big) {
    const float kSqrt3 = std::sqrt(3.0f);
    // uniform(±a) has std a/sqrt(3).
    auto uniform_std = [&](std::string name, Shape shape, DType dtype, double std_dev) {
        return Spec{std::move(name), shape, dtype, 0.0f, static_cast<float>(std_dev) * kSqrt3};
    };
    auto matrix = [&](std::string name, Shape shape /* [out, in] or [n, out, in] */) {
        const double fan_in = static_cast<double>(shape.dim(-1));
        return uniform_std(std::move(name), shape, big, 1.0 / std::sqrt(fan_in));
    };
    auto norm = [&](std::string name, int64_t n) {
        return Spec{std::move(name), Shape{n}, DType::kF32, 1.0f, 0.1f};
    };
    // Gemma 3n attends with scale 1: its Q/K norm weights play the part of 1/sqrt(head_dim).
    // At 1 ± 0.1 random unit-RMS heads would score q·k with std sqrt(256) = 16, a softmax so
    // peaked that fp32 rounding differences between two engines flip which key wins; 0.25
    // each gives scores of std 1, a well-conditioned model whose logits two correct engines
    // agree on.
    auto qk_norm = [&](std::string name, int64_t n) {
        return Spec{std::move(name), Shape{n}, DType::kF32, 0.25f, 0.025f};
    };
    const int64_t ple = kPerLayerEmbd * n_layer;
    const int64_t q_dim = kHeads * kHeadDim;     // 2048
    const int64_t kv_dim = kKvHeads * kHeadDim;  // 512

    std::vector<Spec> s;
    s.push_back(uniform_std("token_embd.weight", Shape{kVocab, kEmbd}, big,
                            1.0 / std::sqrt(static_cast<double>(kEmbd))));
    s.push_back(uniform_std("per_layer_token_embd.weight", Shape{kVocab, ple}, big, 0.05));
    s.push_back(matrix("per_layer_model_proj.weight", Shape{ple, kEmbd}));
    s.push_back(norm("per_layer_proj_norm.weight", kPerLayerEmbd));
    s.push_back(matrix("altup_proj.weight", Shape{kAltup - 1, kEmbd, kEmbd}));
    s.push_back(matrix("altup_unembd_proj.weight", Shape{kAltup - 1, kEmbd, kEmbd}));
    for (int64_t i = 0; i < n_layer; ++i) {
        auto n = [i](const char* what) { return fmt::format("blk.{}.{}.weight", i, what); };
        s.push_back(norm(n("attn_norm"), kEmbd));
        s.push_back(matrix(n("attn_q"), Shape{q_dim, kEmbd}));
        s.push_back(matrix(n("attn_k"), Shape{kv_dim, kEmbd}));
        s.push_back(matrix(n("attn_v"), Shape{kv_dim, kEmbd}));
        s.push_back(matrix(n("attn_output"), Shape{kEmbd, q_dim}));
        s.push_back(qk_norm(n("attn_q_norm"), kHeadDim));
        s.push_back(qk_norm(n("attn_k_norm"), kHeadDim));
        s.push_back(norm(n("post_attention_norm"), kEmbd));
        s.push_back(norm(n("ffn_norm"), kEmbd));
        s.push_back(matrix(n("ffn_gate"), Shape{v.ffn, kEmbd}));
        s.push_back(matrix(n("ffn_up"), Shape{v.ffn, kEmbd}));
        s.push_back(matrix(n("ffn_down"), Shape{kEmbd, v.ffn}));
        s.push_back(norm(n("post_ffw_norm"), kEmbd));
        s.push_back(matrix(n("inp_gate"), Shape{kPerLayerEmbd, kEmbd}));
        s.push_back(matrix(n("proj"), Shape{kEmbd, kPerLayerEmbd}));
        s.push_back(norm(n("post_norm"), kEmbd));
        // The converter keeps the two AltUp coefficient matrices in F32 (tensor_force_quant
        // list); 1-D tensors are always F32.
        s.push_back(uniform_std(n("altup_correct_coef"), Shape{kAltup, kAltup}, DType::kF32, 0.05));
        s.push_back(norm(n("altup_correct_scale"), kEmbd));
        s.push_back(uniform_std(n("altup_predict_coef"), Shape{kAltup * kAltup, kAltup},
                                DType::kF32, 0.05));
        s.push_back(matrix(n("altup_router"), Shape{kAltup, kEmbd}));
        s.push_back(norm(n("altup_router_norm"), kEmbd));
        s.push_back(matrix(n("laurel_l"), Shape{kLaurelRank, kEmbd}));
        s.push_back(matrix(n("laurel_r"), Shape{kEmbd, kLaurelRank}));
        s.push_back(norm(n("laurel_post_norm"), kEmbd));
    }
    s.push_back(norm("output_norm.weight", kEmbd));
    return s;
}

// Metadata as llama.cpp's converter writes it for gemma3n (reference §4.3).
void set_metadata(io::GgufWriter& w, const Options& o, int64_t n_layer) {
    const Variant& v = o.variant;
    const bool full = n_layer == v.layers;
    w.set_string("general.architecture", "gemma3n");
    w.set_string("general.type", "model");
    w.set_string("general.name", fmt::format("Gemma 3n {} random-weight shape{}", v.name,
                                             full ? "" : fmt::format(" ({} layers)", n_layer)));
    w.set_string("general.description",
                 fmt::format("Random weights (seed {}) in the shapes of google/gemma-3n-{}; "
                             "made by bench/make-gemma3n-shapes for speed and memory work",
                             o.seed, v.name));
    w.set_u32("gemma3n.block_count", static_cast<uint32_t>(n_layer));
    w.set_u32("gemma3n.context_length", kContext);
    w.set_u32("gemma3n.embedding_length", kEmbd);
    // intermediate_size is a per-layer list in the HF config, so the converter writes an
    // array; Python ints become i32 elements.
    w.set_array("gemma3n.feed_forward_length",
                std::vector<int32_t>(n_layer, static_cast<int32_t>(v.ffn)));
    w.set_u32("gemma3n.attention.head_count", kHeads);
    w.set_u32("gemma3n.attention.head_count_kv", kKvHeads);
    w.set_f32("gemma3n.rope.freq_base", 1000000.0f);
    w.set_f32("gemma3n.rope.freq_base_swa", 10000.0f);
    w.set_f32("gemma3n.attention.layer_norm_rms_epsilon", 1e-6f);
    w.set_u32("gemma3n.attention.key_length", kHeadDim);
    w.set_u32("gemma3n.attention.value_length", kHeadDim);
    w.set_u32("general.file_type", o.dtype == DType::kBF16 ? kFileTypeBF16 : kFileTypeF32);
    w.set_f32("gemma3n.final_logit_softcapping", 30.0f);
    w.set_u32("gemma3n.attention.sliding_window", kSlidingWindow);
    w.set_u32("gemma3n.altup.active_idx", 0);
    w.set_u32("gemma3n.altup.num_inputs", kAltup);
    w.set_u32("gemma3n.embedding_length_per_layer_input", kPerLayerEmbd);
    // The last layers reuse the K/V of layers 18/19; a cut-down model keeps layer 20 as the
    // first consumer, as llama.cpp hard-codes (n_layer_kv_from_start = 20).
    const int64_t shared =
        full ? v.kv_shared_layers : std::max<int64_t>(0, n_layer - kFirstSharedKv);
    w.set_u32("gemma3n.attention.shared_kv_layers", static_cast<uint32_t>(shared));
    std::vector<float> sparsity(n_layer);
    std::vector<bool> sliding(n_layer);
    for (int64_t i = 0; i < n_layer; ++i) {
        // Φ⁻¹(0.95) for the sparse layers, Φ⁻¹(0) = −inf for the dense ones.
        sparsity[i] = i < kSparseLayers ? static_cast<float>(kSparsityStd)
                                        : -std::numeric_limits<float>::infinity();
        sliding[i] = (i + 1) % 5 != 0;  // 4 sliding : 1 full
    }
    w.set_array("gemma3n.activation_sparsity_scale", sparsity);
    w.set_array("gemma3n.attention.sliding_window_pattern", sliding);
    w.set_u32("general.quantization_version", 2);
}

Status copy_tokenizer(io::GgufWriter& w, const std::string& path) {
    UNI_ASSIGN_OR_RETURN(io::GgufFile src, io::GgufFile::open(path));
    UNI_ASSIGN_OR_RETURN(std::vector<std::string> tokens,
                         src.get_string_array("tokenizer.ggml.tokens"));
    if (static_cast<int64_t>(tokens.size()) != kVocab) {
        return invalid_argument(fmt::format(
            "'{}' has {} tokens; Gemma 3n's text vocabulary has {} (use a Gemma 3 GGUF)", path,
            tokens.size(), kVocab));
    }
    size_t n = 0;
    for (const auto& [key, value] : src.metadata()) {
        if (key.rfind("tokenizer.", 0) == 0) {
            w.set(key, value);
            ++n;
        }
    }
    std::fprintf(stderr, "tokenizer: %zu tokenizer.* keys from %s\n", n, path.c_str());
    return ok_status();
}

// Prints a line at every 5% of the bytes produced, with the rate so far.
class Progress {
  public:
    explicit Progress(uint64_t total) : total_(total), start_(Clock::now()) {}
    void add(uint64_t bytes, const std::string& tensor) {
        done_ += bytes;
        const int pct = total_ == 0 ? 100 : static_cast<int>(done_ * 100 / total_);
        if (pct / 5 == last_ / 5 && done_ != total_) return;
        last_ = pct;
        const double s = seconds();
        std::fprintf(stderr, "[%3d%%] %6.2f / %.2f GB  %5.0f MB/s  %s\n", pct, done_ / 1e9,
                     total_ / 1e9, s > 0 ? done_ / 1e6 / s : 0.0, tensor.c_str());
        std::fflush(stderr);
    }
    double seconds() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }

  private:
    using Clock = std::chrono::steady_clock;
    uint64_t total_;
    uint64_t done_ = 0;
    int last_ = -1;
    Clock::time_point start_;
};

Status run(const Options& o) {
    const int64_t n_layer = o.layers > 0 ? o.layers : o.variant.layers;
    io::GgufWriter w;
    set_metadata(w, o, n_layer);
    // "none": no tokenizer keys (enough for `unicorn bench` and llama-quantize, e.g. on the GPU
    // machine, which has no copy of the Gemma GGUF).
    if (o.tokenizer_from != "none") UNI_RETURN_IF_ERROR(copy_tokenizer(w, o.tokenizer_from));

    const std::vector<Spec> specs = tensor_specs(o.variant, n_layer, o.dtype);
    uint64_t total = 0;
    for (const Spec& s : specs)
        total += static_cast<uint64_t>(s.shape.numel()) * dtype_row_bytes(s.dtype, 1);
    ThreadPool pool(o.threads);
    Progress progress(total);
    for (const Spec& spec : specs) {
        const uint64_t tensor_seed = [&] {
            uint64_t st = o.seed ^ fnv1a64(spec.name);
            return splitmix64(st);
        }();
        const int64_t cols = spec.shape.cols();
        const size_t row_bytes = dtype_row_bytes(spec.dtype, cols);
        auto fill = [&spec, &pool, &progress, tensor_seed, cols, row_bytes](
                        int64_t row_begin, int64_t row_count, void* dst) {
            auto* base = static_cast<uint8_t*>(dst);
            const int64_t grain = std::max<int64_t>(1, 65536 / std::max<int64_t>(cols, 1));
            pool.parallel_for(row_count, grain, [&](int64_t b, int64_t e) {
                for (int64_t r = b; r < e; ++r)
                    fill_row(spec, tensor_seed, row_begin + r, cols, base + r * row_bytes);
            });
            progress.add(static_cast<uint64_t>(row_count) * row_bytes, spec.name);
            return ok_status();
        };
        UNI_RETURN_IF_ERROR(w.add_generated_tensor(spec.name, spec.dtype, spec.shape, fill));
    }
    std::fprintf(stderr, "writing %s: %zu tensors, %.2f GB of weights, %s, seed %llu, %d threads\n",
                 o.out.c_str(), specs.size(), total / 1e9, dtype_name(o.dtype),
                 static_cast<unsigned long long>(o.seed), pool.size());
    UNI_RETURN_IF_ERROR(w.write(o.out));
    std::fprintf(stderr, "wrote %s in %.1f s\n", o.out.c_str(), progress.seconds());
    return ok_status();
}

void usage(std::FILE* f) {
    std::fprintf(f,
                 "usage: make_random_gemma3n --variant E2B|E4B [--type BF16|F32] [--seed N]\n"
                 "                           [--layers N] [--tokenizer-from GGUF] [--threads N]"
                 " -o FILE\n"
                 "  --type            dtype of the matrices (norms and AltUp coefficients are F32"
                 " either way; default BF16)\n"
                 "  --layers          fewer layers than the variant, for quick tests\n"
                 "  --tokenizer-from  GGUF whose tokenizer.* keys are copied (default: the Gemma 3"
                 " 270M model\n"
                 "                    from scripts/fetch-models; 'none': no tokenizer)\n"
                 "  --threads         generator threads (default: one per core)\n");
}

Result<Options> parse_args(int argc, char** argv) {
    Options o;
    o.tokenizer_from = cached_model_path("gemma-3-270m-Q4_K_M.gguf");
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> Result<std::string> {
            if (i + 1 >= argc) return invalid_argument(fmt::format("{} needs a value", a));
            return std::string(argv[++i]);
        };
        auto integer = [&](int64_t lo, int64_t hi) -> Result<int64_t> {
            UNI_ASSIGN_OR_RETURN(std::string v, value());
            char* end = nullptr;
            errno = 0;
            const long long n = std::strtoll(v.c_str(), &end, 10);
            if (v.empty() || *end != '\0' || errno != 0 || n < lo || n > hi)
                return invalid_argument(fmt::format("{} {}: expected {}..{}", a, v, lo, hi));
            return static_cast<int64_t>(n);
        };
        if (a == "-h" || a == "--help") {
            usage(stdout);
            std::exit(0);
        } else if (a == "--variant") {
            UNI_ASSIGN_OR_RETURN(std::string v, value());
            if (v == "E2B" || v == "e2b") {
                o.variant = kE2B;
            } else if (v == "E4B" || v == "e4b") {
                o.variant = kE4B;
            } else {
                return invalid_argument(fmt::format("--variant {}: expected E2B or E4B", v));
            }
        } else if (a == "--type") {
            UNI_ASSIGN_OR_RETURN(std::string v, value());
            if (v == "BF16" || v == "bf16") {
                o.dtype = DType::kBF16;
            } else if (v == "F32" || v == "f32") {
                o.dtype = DType::kF32;
            } else {
                return invalid_argument(fmt::format("--type {}: expected BF16 or F32", v));
            }
        } else if (a == "--seed") {
            UNI_ASSIGN_OR_RETURN(int64_t n, integer(0, std::numeric_limits<int64_t>::max()));
            o.seed = static_cast<uint64_t>(n);
        } else if (a == "--layers") {
            UNI_ASSIGN_OR_RETURN(o.layers, integer(1, 64));
        } else if (a == "--threads") {
            UNI_ASSIGN_OR_RETURN(int64_t n, integer(0, 1024));
            o.threads = static_cast<int>(n);
        } else if (a == "--tokenizer-from") {
            UNI_ASSIGN_OR_RETURN(o.tokenizer_from, value());
        } else if (a == "-o" || a == "--output") {
            UNI_ASSIGN_OR_RETURN(o.out, value());
        } else {
            return invalid_argument(fmt::format("unknown argument '{}'", a));
        }
    }
    if (o.out.empty()) return invalid_argument("-o FILE is required");
    if (o.layers > o.variant.layers) {
        return invalid_argument(fmt::format("--layers {}: {} has {} layers", o.layers,
                                            o.variant.name, o.variant.layers));
    }
    return o;
}

}  // namespace
}  // namespace unicorn

int main(int argc, char** argv) {
    auto opts = unicorn::parse_args(argc, argv);
    if (!opts.ok()) {
        std::fprintf(stderr, "make_random_gemma3n: %s\n", opts.status().to_string().c_str());
        unicorn::usage(stderr);
        return 2;
    }
    unicorn::Status s = unicorn::run(*opts);
    if (!s.ok()) {
        std::fprintf(stderr, "make_random_gemma3n: %s\n", s.to_string().c_str());
        return 1;
    }
    return 0;
}
