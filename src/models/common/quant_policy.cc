#include "models/common/quant_policy.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

namespace unicorn {
namespace {

// llama_ftype values (llama.h), written as general.file_type.
constexpr QuantScheme kSchemes[] = {
    {"F32", 0, DType::kF32},      {"F16", 1, DType::kF16},      {"BF16", 32, DType::kBF16},
    {"Q8_0", 7, DType::kQ8_0},    {"Q6_K", 18, DType::kQ6_K},   {"Q5_K_M", 17, DType::kQ5_K},
    {"Q5_K_S", 16, DType::kQ5_K}, {"Q4_K_M", 15, DType::kQ4_K}, {"Q4_K_S", 14, DType::kQ4_K},
    {"Q5_0", 8, DType::kQ5_0},    {"Q5_1", 9, DType::kQ5_1},    {"Q4_0", 2, DType::kQ4_0},
    {"Q4_1", 3, DType::kQ4_1},    {"Q3_K_M", 12, DType::kQ3_K}, {"Q3_K_S", 11, DType::kQ3_K},
    {"Q3_K_L", 13, DType::kQ3_K}, {"Q2_K", 10, DType::kQ2_K},
};

// The types a tensor can be written in (the reference quantizers of quant/quantize.h).
constexpr DType kTensorTypes[] = {DType::kF32,  DType::kF16,  DType::kBF16, DType::kQ8_0,
                                  DType::kQ6_K, DType::kQ5_K, DType::kQ4_K, DType::kQ3_K,
                                  DType::kQ2_K, DType::kQ5_0, DType::kQ5_1, DType::kQ4_0,
                                  DType::kQ4_1};

std::string upper(std::string_view s) {
    std::string u(s);
    for (char& c : u) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return u;
}

bool has(const std::string& s, std::string_view part) { return s.find(part) != std::string::npos; }

// llama.cpp's broad tensor categories (tensor_get_category).
enum class Category {
    kTokenEmbd,
    kOutput,
    kAttnV,
    kAttnK,
    kAttnQ,
    kAttnOut,
    kFfnUp,
    kFfnGate,
    kFfnDown,
    kOther
};

Category category_of(const std::string& name) {
    if (name == "output.weight") return Category::kOutput;
    // Gemma 3n's per-layer embedding table counts as a token embedding.
    if (name == "token_embd.weight" || name == "per_layer_token_embd.weight")
        return Category::kTokenEmbd;
    // attn_v-like: the fused QKV (and MLA's kv_b) hold V, so they get attn_v's extra bits.
    if (has(name, "attn_qkv.weight") || has(name, "attn_kv_b.weight") || has(name, "attn_v.weight"))
        return Category::kAttnV;
    if (has(name, "attn_k.weight")) return Category::kAttnK;
    if (has(name, "attn_q.weight")) return Category::kAttnQ;
    if (has(name, "attn_output.weight")) return Category::kAttnOut;
    if (has(name, "ffn_up")) return Category::kFfnUp;
    if (has(name, "ffn_gate")) return Category::kFfnGate;
    if (has(name, "ffn_down")) return Category::kFfnDown;
    return Category::kOther;
}

// tensor_allows_quantization: 2-D or larger weights, except norms and the tensors llama.cpp
// keeps as they are because they are small (Gemma 3n's AltUp/LAuReL matrices and per-layer
// projection), routers, or positional tables.
bool allows_quantization(const QuantTensor& t) {
    const std::string& n = t.name;
    if (t.shape.rank() < 2) return false;
    if (n.size() < 6 || n.compare(n.size() - 6, 6, "weight") != 0) return false;
    for (std::string_view keep : {"_norm.weight", "ffn_gate_inp.weight", "altup", "laurel",
                                  "per_layer_model_proj", "attn_rel_b.weight"})
        if (has(n, keep)) return false;
    return n != "position_embd.weight" && n != "token_types.weight";
}

// Layers that get more bits in the _M mixes: the first and last eighth, and every third
// layer in between.
bool use_more_bits(int64_t i, int64_t n) {
    return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2;
}

bool fits(DType t, int64_t cols) { return cols % dtype_block_size(t) == 0; }

// tensor_type_fallback: a row that is not a whole number of the type's blocks gets the
// nearest 32-block type, and F16 when even that does not fit.
DType fallback(DType t, int64_t cols) {
    DType f = t;
    switch (t) {
        case DType::kQ2_K:
        case DType::kQ3_K:
            f = DType::kQ4_0;
            break;
        case DType::kQ4_K:
            f = DType::kQ5_0;
            break;
        case DType::kQ5_K:
            f = DType::kQ5_1;
            break;
        case DType::kQ6_K:
            f = DType::kQ8_0;
            break;
        default:
            break;  // a 32-block type: nothing smaller to fall back to
    }
    return fits(f, cols) ? f : DType::kF16;
}

// The per-model counters of llama_tensor_get_type_impl.
struct MixState {
    int64_t n_attn_v = 0, i_attn_v = 0, i_ffn_down = 0;
    bool tied = true;  // no output.weight: the token embedding doubles as the output
};

// llama_tensor_get_type_impl for the schemes in kSchemes (no experts).
DType mix_type(const QuantModelFacts& m, const QuantRequest& r, MixState& s, Category c,
               int64_t cols) {
    const std::string_view scheme = r.scheme.name;
    DType t = r.scheme.base;
    if (c == Category::kOutput || (s.tied && c == Category::kTokenEmbd)) {
        if (r.output_type) return *r.output_type;
        // The output projection keeps more bits: Q6_K, or Q8_0 when its rows do not fit the
        // scheme's block (the check uses the scheme's block size, not Q6_K's).
        if (!fits(t, cols)) return DType::kQ8_0;
        return t == DType::kQ8_0 ? t : DType::kQ6_K;
    }
    const int64_t n_gqa = m.n_kv_heads > 0 ? m.n_heads / m.n_kv_heads : 0;
    if (c == Category::kAttnV) {
        const int64_t i = s.i_attn_v++;
        if (scheme == "Q2_K") {
            t = n_gqa >= 4 ? DType::kQ4_K : DType::kQ3_K;
        } else if (scheme == "Q3_K_M") {
            t = i < 2 ? DType::kQ5_K : DType::kQ4_K;
        } else if (scheme == "Q3_K_L" || (scheme == "Q4_K_S" && i < 4)) {
            t = DType::kQ5_K;
        } else if ((scheme == "Q4_K_M" || scheme == "Q5_K_M") && use_more_bits(i, s.n_attn_v)) {
            t = DType::kQ6_K;
        }
        // Llama 2/3 70B (80 layers, GQA): attn_v is 8× smaller than attn_q, so more bits are
        // almost free.
        const bool is_70b = m.arch == "llama" && m.n_layers == 80 && m.n_heads != m.n_kv_heads;
        if (is_70b && (t == DType::kQ3_K || t == DType::kQ4_K)) t = DType::kQ5_K;
        return t;
    }
    if (c == Category::kFfnDown) {
        // Without experts llama.cpp uses the running count, not the name, as the layer index.
        const int64_t i = s.i_ffn_down++, n = m.n_layers;
        if (scheme == "Q2_K") return DType::kQ3_K;
        if (scheme == "Q3_K_M") return i < n / 16 ? DType::kQ5_K : DType::kQ4_K;
        if (scheme == "Q3_K_L") return DType::kQ5_K;
        if (scheme == "Q4_K_M" || scheme == "Q5_K_M") return use_more_bits(i, n) ? DType::kQ6_K : t;
        if (scheme == "Q4_K_S" && i < n / 8) return DType::kQ5_K;
        // Only with an imatrix, so that a file made without one stays what it always was.
        if (r.has_imatrix && i < n / 8) {
            if (scheme == "Q4_0") return DType::kQ4_1;
            if (scheme == "Q5_0") return DType::kQ5_1;
        }
        return t;
    }
    if (c == Category::kAttnOut) {
        if (scheme == "Q2_K") return DType::kQ3_K;
        if (scheme == "Q3_K_M") return DType::kQ4_K;
        if (scheme == "Q3_K_L") return DType::kQ5_K;
    }
    return t;
}

Status check_fits(const char* flag, DType t, const QuantTensor& q) {
    if (fits(t, q.shape.cols())) return ok_status();
    return invalid_argument(fmt::format(
        "{} {} does not fit tensor '{}' {}: its rows of {} elements are not a whole number of "
        "{}-element blocks",
        flag, dtype_name(t), q.name, q.shape.to_string(), q.shape.cols(), dtype_block_size(t)));
}

}  // namespace

std::span<const QuantScheme> quant_schemes() { return kSchemes; }

Result<QuantScheme> find_quant_scheme(std::string_view name) {
    std::string u = upper(name);
    if (u == "Q3_K" || u == "Q4_K" || u == "Q5_K") u += "_M";  // llama-quantize's aliases
    std::string valid;
    for (const QuantScheme& s : kSchemes) {
        if (u == s.name) return s;
        valid += (valid.empty() ? "" : ", ") + std::string(s.name);
    }
    return invalid_argument(fmt::format("unknown quantization type '{}' (valid: {})", name, valid));
}

Result<DType> parse_quant_tensor_type(std::string_view name) {
    const std::string u = upper(name);
    std::string valid;
    for (DType t : kTensorTypes) {
        if (u == dtype_name(t)) return t;
        valid += (valid.empty() ? "" : ", ") + std::string(dtype_name(t));
    }
    return invalid_argument(fmt::format("unknown tensor type '{}' (valid: {})", name, valid));
}

bool llama_cpp_tensor_less(const std::string& a, const std::string& b) {
    // As sscanf("blk.%d.") reads it: the number after "blk.", else -1 (outside the blocks).
    const auto layer = [](const std::string& s) -> int64_t {
        if (s.rfind("blk.", 0) != 0 || s.size() < 5 ||
            !std::isdigit(static_cast<unsigned char>(s[4])))
            return -1;
        int64_t v = 0;
        for (size_t i = 4; i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])); ++i)
            v = v * 10 + (s[i] - '0');
        return v;
    };
    const int64_t la = layer(a), lb = layer(b);
    return la != lb ? la < lb : a < b;
}

Result<std::vector<QuantChoice>> choose_quant_types(const QuantModelFacts& model,
                                                    const QuantRequest& request,
                                                    std::span<const QuantTensor> tensors) {
    MixState state;
    for (const QuantTensor& t : tensors) {
        const Category c = category_of(t.name);
        if (c == Category::kAttnV) ++state.n_attn_v;
        if (c == Category::kOutput) state.tied = false;
    }
    const DType base = request.scheme.base;
    std::vector<QuantChoice> out;
    out.reserve(tensors.size());
    for (const QuantTensor& t : tensors) {
        QuantChoice choice{t.dtype, allows_quantization(t), false};
        if (!choice.quantizable) {
            out.push_back(choice);  // kept in its input type, whatever the scheme
            continue;
        }
        const Category c = category_of(t.name);
        const int64_t cols = t.shape.cols();
        // Explicit types win over every rule, and are written as asked (no fallback).
        if (request.token_embd_type && c == Category::kTokenEmbd) {
            UNI_RETURN_IF_ERROR(check_fits("--token-embedding-type", *request.token_embd_type, t));
            choice.type = *request.token_embd_type;
        } else if (request.output_type && c == Category::kOutput) {
            UNI_RETURN_IF_ERROR(check_fits("--output-tensor-type", *request.output_type, t));
            choice.type = *request.output_type;
        } else if (!dtype_is_quantized(base)) {
            choice.type = base;  // F32/F16/BF16: no mix, and every row fits
        } else {
            DType want = request.pure ? base : mix_type(model, request, state, c, cols);
            choice.fell_back = !fits(want, cols);
            choice.type = choice.fell_back ? fallback(want, cols) : want;
        }
        out.push_back(choice);
    }
    return out;
}

}  // namespace unicorn
