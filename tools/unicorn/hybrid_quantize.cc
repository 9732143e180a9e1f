#include "hybrid_quantize.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "commands.h"
#include "core/cache_dir.h"
#include "engine.h"
#include "io/gguf.h"
#include "models/hybrid_plan.h"
#include "models/importance_matrix.h"
#include "models/quantize_model.h"
#include "quant/quantize.h"
#include "runtime/eval_metrics.h"
#include "runtime/logit_file.h"
#include "runtime/session.h"

namespace unicorn::cli {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr int64_t kSampledRows = 64;  // per tensor, for the error energies

double since(Clock::time_point t) {
    return std::chrono::duration<double>(Clock::now() - t).count();
}

// Chunks of ctx tokens as `unicorn eval` cuts them (BOS rule, first token BOS).
Result<std::vector<std::vector<int32_t>>> text_chunks(const text::Tokenizer& tok,
                                                      const std::string& path, int ctx,
                                                      int max_chunks) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return not_found(fmt::format("text file {} cannot be read", path));
    std::stringstream ss;
    ss << in.rdbuf();
    UNI_ASSIGN_OR_RETURN(std::vector<int32_t> tokens,
                         tok.encode(ss.str(), /*add_special=*/true, /*parse_special=*/false));
    const int64_t n = std::min<int64_t>(max_chunks, static_cast<int64_t>(tokens.size()) / ctx);
    if (n < 1)
        return invalid_argument(
            fmt::format("{} gives {} tokens, less than one chunk of {}", path, tokens.size(), ctx));
    std::vector<std::vector<int32_t>> chunks;
    for (int64_t c = 0; c < n; ++c) {
        chunks.emplace_back(tokens.begin() + c * ctx, tokens.begin() + (c + 1) * ctx);
        if (tok.add_bos_default() && tok.bos() >= 0) chunks.back()[0] = tok.bos();
    }
    return chunks;
}

// The logits of the second half of a chunk, run alone from an empty cache.
Result<Tensor> chunk_logits(Engine& e, const std::vector<int32_t>& chunk) {
    const int ctx = static_cast<int>(chunk.size());
    Session session(*e.model, *e.ctx, SessionOptions{ctx, 256});
    UNI_RETURN_IF_ERROR(session.prefill(std::span(chunk).first(ctx / 2), false).status());
    return session.prefill(std::span(chunk).subspan(ctx / 2), true);
}

// The base's scored positions, encoded as `unicorn eval --save-logits` stores them.
Result<std::vector<std::vector<uint8_t>>> base_rows(
    Engine& e, const std::vector<std::vector<int32_t>>& chunks) {
    std::vector<std::vector<uint8_t>> out;
    for (const auto& chunk : chunks) {
        UNI_ASSIGN_OR_RETURN(Tensor logits, chunk_logits(e, chunk));
        const int64_t vocab = logits.cols(), first = static_cast<int64_t>(chunk.size()) / 2;
        const int64_t scored = static_cast<int64_t>(chunk.size()) - 1 - first;
        const size_t rb = eval::row_bytes(vocab);
        std::vector<uint8_t> rows(static_cast<size_t>(scored) * rb);
        e.pool->parallel_for(scored, 1, [&](int64_t b, int64_t end) {
            for (int64_t r = b; r < end; ++r)
                eval::encode_row({logits.row<float>(r), static_cast<size_t>(vocab)},
                                 chunk[first + 1 + r], rows.data() + r * rb);
        });
        out.push_back(std::move(rows));
    }
    return out;
}

// KL statistics of the model in `e` against the base rows, positions in order.
Result<eval::KlSummary> compare(Engine& e, const std::vector<std::vector<int32_t>>& chunks,
                                const std::vector<std::vector<uint8_t>>& base) {
    eval::KlStats kl;
    for (size_t c = 0; c < chunks.size(); ++c) {
        UNI_ASSIGN_OR_RETURN(Tensor logits, chunk_logits(e, chunks[c]));
        const int64_t vocab = logits.cols(), first = static_cast<int64_t>(chunks[c].size()) / 2;
        const int64_t scored = static_cast<int64_t>(chunks[c].size()) - 1 - first;
        const size_t rb = eval::row_bytes(vocab);
        std::vector<eval::PositionComparison> cmp(static_cast<size_t>(scored));
        e.pool->parallel_for(scored, 1, [&](int64_t b, int64_t end) {
            std::vector<float> lp(static_cast<size_t>(vocab));
            for (int64_t r = b; r < end; ++r) {
                const eval::StoredRow row = eval::view_row(base[c].data() + r * rb);
                eval::decode_row(row, lp);
                cmp[r] =
                    eval::compare_position({logits.row<float>(r), static_cast<size_t>(vocab)}, lp,
                                           row.top, row.target_lp, chunks[c][first + 1 + r]);
            }
        });
        for (const auto& p : cmp) kl.add(p);
    }
    return kl.summary();
}

// Σ importance·(w − q)² of a tensor quantized to t, estimated from evenly spaced rows and
// scaled to the whole tensor.
double error_energy(const io::GgufTensorInfo& t, DType type, const float* importance) {
    const int64_t rows = t.shape.rows(), cols = t.shape.cols();
    const int64_t step = std::max<int64_t>(1, rows / kSampledRows);
    const size_t src_row = dtype_row_bytes(t.dtype, cols);
    std::vector<float> w(static_cast<size_t>(cols)), back(w.size());
    std::vector<uint8_t> q(dtype_row_bytes(type, cols));
    double sum = 0;
    int64_t n = 0;
    for (int64_t r = 0; r < rows; r += step, ++n) {
        quant::dequantize_row(t.dtype, static_cast<const uint8_t*>(t.data) + r * src_row, w.data(),
                              cols);
        quant::quantize_row_weighted(type, w.data(), q.data(), cols, importance);
        quant::dequantize_row(type, q.data(), back.data(), cols);
        for (int64_t k = 0; k < cols; ++k) {
            const double d = static_cast<double>(back[k]) - static_cast<double>(w[k]);
            sum += (importance ? importance[k] : 1.0) * d * d;
        }
    }
    return sum * static_cast<double>(rows) / static_cast<double>(n);
}

// The base must be unquantized: the preset measures every type against it. Tensors outside the
// group under test are written as they are (their float type, F32, F16 or BF16).
Status check_base(const std::vector<QuantTensor>& tensors,
                  const std::vector<QuantChoice>& choices) {
    for (size_t i = 0; i < tensors.size(); ++i) {
        if (choices[i].quantizable && dtype_is_quantized(tensors[i].dtype))
            return invalid_argument(fmt::format(
                "the hybrid preset needs an F32/F16/BF16 base ('{}' is {}); dequantize it "
                "first: unicorn quantize IN BASE F16 --allow-requantize",
                tensors[i].name, dtype_name(tensors[i].dtype)));
    }
    return ok_status();
}

std::string mib(uint64_t b) {
    return fmt::format("{:.2f} MiB", static_cast<double>(b) / 1048576.0);
}

}  // namespace

int run_hybrid_quantize(const HybridFlags& f) {
    const auto t_start = Clock::now();
    if (!(f.target_kld > 0)) return fail("hybrid needs --target-kld X (a mean KLD in nats, > 0)");
    const std::string calib = f.calib.empty() ? cache_dir() + "/eval/botchan-alice.txt" : f.calib;
    if (!fs::is_regular_file(calib))
        return fail(
            fmt::format("calibration text {} does not exist{}", calib,
                        f.calib.empty() ? " (run scripts/fetch-eval-text or pass --calib)" : ""));
    if (fs::is_directory(f.input))
        return fail("the hybrid preset reads a GGUF base; convert the directory first");
    auto file = io::GgufFile::open(f.input);
    if (!file.ok()) return fail(file.status().to_string());
    std::optional<ImportanceMatrix> imatrix;
    if (!f.imatrix.empty()) {
        auto m = load_importance_matrix(f.imatrix);
        if (!m.ok()) return fail(m.status().message());
        imatrix = std::move(*m);
    }

    // The tensors, which of them are quantizable, and their groups.
    std::vector<QuantTensor> tensors;
    for (const auto& t : file->tensors()) tensors.push_back({t.name, t.dtype, t.shape});
    QuantRequest probe_request;
    probe_request.scheme = *find_quant_scheme("Q8_0");
    auto choices = choose_quant_types({"", 1, 0, 0}, probe_request, tensors);
    if (!choices.ok()) return fail(choices.status().message());
    if (Status s = check_base(tensors, *choices); !s.ok()) return fail(s.message());
    const QuantScheme keep = *find_quant_scheme("F16");  // every tensor's type is given
    std::map<std::string, DType> as_input;
    for (size_t i = 0; i < tensors.size(); ++i)
        if ((*choices)[i].quantizable) as_input[tensors[i].name] = tensors[i].dtype;
    const std::vector<HybridGroup> groups = hybrid_groups(tensors, *choices);

    // Base log-probabilities on the calibration chunks.
    auto base_engine = Engine::open(f.input, f.threads, "auto");
    if (!base_engine.ok()) return fail(base_engine.status().to_string());
    auto calib_chunks = text_chunks(*(*base_engine)->tokenizer, calib, f.ctx, f.calib_chunks);
    if (!calib_chunks.ok()) return fail(calib_chunks.status().message());
    auto calib_base = base_rows(**base_engine, *calib_chunks);
    if (!calib_base.ok()) return fail(calib_base.status().to_string());
    const int threads = static_cast<int>((*base_engine)->pool->size());
    base_engine->reset();
    fmt::print("hybrid: {} groups; calibration: {} chunk(s) of {} from {}\n", groups.size(),
               calib_chunks->size(), f.ctx, calib);

    const fs::path work =
        (fs::is_directory("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path()) /
        fmt::format("unicorn-hybrid-{}", ::getpid());
    fs::create_directories(work);
    struct Cleanup {
        fs::path dir;
        ~Cleanup() {
            std::error_code ec;
            fs::remove_all(dir, ec);
        }
    } cleanup{work};

    // Per group: measured KLD at the probe type, error energies of every candidate.
    std::vector<HybridOptionSet> options(groups.size());
    for (size_t g = 0; g < groups.size(); ++g) {
        const auto t0 = Clock::now();
        const HybridGroup& hg = groups[g];
        std::vector<double> energy(hg.types.size(), 0.0);
        for (size_t i : hg.tensors) {
            const io::GgufTensorInfo& t = file->tensors()[i];
            const std::vector<float>* imp = imatrix ? imatrix->find(t.name) : nullptr;
            const float* w =
                imp && static_cast<int64_t>(imp->size()) == t.shape.cols() ? imp->data() : nullptr;
            for (size_t c = 0; c < hg.types.size(); ++c)
                energy[c] += hg.types[c] == t.dtype ? 0.0 : error_energy(t, hg.types[c], w);
        }
        size_t probe = hg.types.size();
        for (DType want : {DType::kQ4_K, DType::kQ4_0, DType::kQ5_0, DType::kQ8_0})
            for (size_t c = 0; c < hg.types.size() && probe == hg.types.size(); ++c)
                if (hg.types[c] == want) probe = c;
        double probe_kld = 0;
        if (probe < hg.types.size() && energy[probe] > 0) {
            QuantizeOptions q;
            q.input = f.input;
            q.output = (work / "probe.gguf").string();
            q.request.scheme = keep;
            q.imatrix_path = f.imatrix;
            q.threads = f.threads;
            q.tensor_types = as_input;
            for (size_t i : hg.tensors) q.tensor_types[tensors[i].name] = hg.types[probe];
            auto s = quantize_model(q);
            if (!s.ok()) return fail(s.status().to_string());
            auto e = Engine::open(q.output, f.threads, "auto");
            if (!e.ok()) return fail(e.status().to_string());
            auto kl = compare(**e, *calib_chunks, *calib_base);
            if (!kl.ok()) return fail(kl.status().to_string());
            probe_kld = std::max(0.0, kl->kld.mean);
            fs::remove(q.output);
        }
        HybridOptionSet& o = options[g];
        for (size_t c = 0; c < hg.types.size(); ++c) {
            o.bytes.push_back(hg.type_bytes[c]);
            o.kld.push_back(probe < hg.types.size() && energy[probe] > 0
                                ? probe_kld * energy[c] / energy[probe]
                                : 0.0);
        }
        fmt::print("[{:>4}/{}] {:<24} {:>6}: KLD {:.6f}  ({:.1f} s)\n", g + 1, groups.size(),
                   hg.name, probe < hg.types.size() ? dtype_name(hg.types[probe]) : "-", probe_kld,
                   since(t0));
        std::fflush(stdout);
    }

    const HybridPlan plan = choose_hybrid_types(options, f.target_kld);
    // Tensor types, the type counts (for general.file_type, as llama.cpp guesses it: the most
    // common type) and a readable summary per kind.
    QuantizeOptions q;
    q.input = f.input;
    q.output = f.output;
    q.imatrix_path = f.imatrix;
    q.threads = f.threads;
    q.allow_requantize = f.allow_requantize;
    std::map<std::string, int> count;
    std::string listing;
    for (size_t g = 0; g < groups.size(); ++g) {
        const DType t = groups[g].types[plan.choice[g]];
        for (size_t i : groups[g].tensors) {
            q.tensor_types[tensors[i].name] = t;
            ++count[dtype_name(t)];
        }
        listing +=
            fmt::format("{}{}={}", listing.empty() ? "" : ",", groups[g].name, dtype_name(t));
    }
    const auto most = std::max_element(count.begin(), count.end(),
                                       [](auto& a, auto& b) { return a.second < b.second; });
    q.request.scheme = keep;
    for (const QuantScheme& s : quant_schemes())
        if (most != count.end() && most->first == dtype_name(s.base)) {
            q.request.scheme.file_type = s.file_type;
            break;
        }
    q.request.scheme.name = "hybrid";
    q.extra_metadata = {
        {"quantize.hybrid.target_kld", fmt::format("{}", f.target_kld)},
        {"quantize.hybrid.predicted_kld", fmt::format("{:.6f}", plan.predicted_kld)},
        {"quantize.hybrid.calibration", calib},
        {"quantize.hybrid.types", listing}};
    auto summary = quantize_model(q);
    if (!summary.ok()) return fail(summary.status().to_string());
    const double elems = static_cast<double>(summary->n_elements);
    const double bytes = static_cast<double>(summary->output_tensor_bytes);
    fmt::print(
        "plan: predicted KLD {:.5f} (target {}{}), tensors {} → {}, {:.2f} bits/weight, "
        "{:.2f}× smaller than BF16\n",
        plan.predicted_kld, f.target_kld, plan.target_met ? "" : ", NOT met at any size",
        mib(summary->input_tensor_bytes), mib(summary->output_tensor_bytes), 8.0 * bytes / elems,
        2.0 * elems / bytes);
    std::string types;
    for (const auto& [name, n] : summary->output_types)
        types += fmt::format("{}{} ×{}", types.empty() ? "" : ", ", name, n);
    fmt::print("  types: {}\n", types);
    // Per kind: which type each layer got (e.g. "attn_q: Q4_0 ×12, Q5_0 ×6").
    std::map<std::string, std::map<std::string, int>> per_kind;
    for (size_t g = 0; g < groups.size(); ++g) {
        std::string kind = groups[g].name;
        if (kind.rfind("blk.", 0) == 0) kind = kind.substr(kind.find('.', 4) + 1);
        ++per_kind[kind][dtype_name(groups[g].types[plan.choice[g]])];
    }
    for (const auto& [kind, m] : per_kind) {
        std::string s;
        for (const auto& [t, n] : m) s += fmt::format("{}{} ×{}", s.empty() ? "" : ", ", t, n);
        fmt::print("  {:<28} {}\n", kind, s);
    }
    fmt::print("wrote {} ({}) in {:.1f} s\n", f.output, mib(summary->output_file_bytes),
               since(t_start));

    if (f.eval_text.empty()) return 0;
    // The real thing, on text the plan never saw.
    auto base = Engine::open(f.input, f.threads, "auto");
    if (!base.ok()) return fail(base.status().to_string());
    auto eval_chunks = text_chunks(*(*base)->tokenizer, f.eval_text, f.ctx, f.eval_chunks);
    if (!eval_chunks.ok()) return fail(eval_chunks.status().message());
    auto eval_base = base_rows(**base, *eval_chunks);
    if (!eval_base.ok()) return fail(eval_base.status().to_string());
    base->reset();
    auto out = Engine::open(f.output, f.threads, "auto");
    if (!out.ok()) return fail(out.status().to_string());
    auto kl = compare(**out, *eval_chunks, *eval_base);
    if (!kl.ok()) return fail(kl.status().to_string());
    fmt::print(
        "held-out: {} ({} chunks of {}, {} positions, {} threads): KLD {:.5f} ± {:.5f} "
        "(predicted {:.5f}), top-1 agreement {:.2f} ± {:.2f} %, PPL {:.4f} (base {:.4f})\n",
        f.eval_text, eval_chunks->size(), f.ctx, kl->count, threads, kl->kld.mean, kl->kld.error,
        plan.predicted_kld, 100.0 * kl->same_top.mean, 100.0 * kl->same_top.error, kl->ppl.mean,
        kl->ppl_base.mean);
    return 0;
}

}  // namespace unicorn::cli
