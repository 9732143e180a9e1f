#include "models/quantize_model.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <numeric>
#include <optional>
#include <vector>

#include "core/thread_pool.h"
#include "io/gguf.h"
#include "io/gguf_writer.h"
#include "models/importance_matrix.h"
#include "models/registry.h"
#include "quant/quantize.h"

namespace unicorn {
namespace {

namespace fs = std::filesystem;

constexpr uint32_t kQuantizationVersion = 2;  // ggml's GGML_QNT_VERSION
// Output chunk per fill call: small enough for a lively progress bar, large enough that
// every thread gets rows.
constexpr size_t kChunkBytes = size_t{4} << 20;

struct SourceTensor {
    std::string name;
    DType dtype;
    Shape shape;  // as stored
    const uint8_t* data;
    size_t nbytes;
};

// The input, whatever its format: metadata in order and tensors in input order.
struct SourceModel {
    std::vector<std::pair<std::string, io::GgufValue>> metadata;
    std::vector<SourceTensor> tensors;
    std::shared_ptr<void> keep_alive;  // the GgufFile or the staging writer the views point into
};

Result<SourceModel> open_gguf(const std::string& path) {
    UNI_ASSIGN_OR_RETURN(io::GgufFile file, io::GgufFile::open(path));
    // The model must load here: this checks the architecture, the hyperparameters and that
    // every tensor it needs is present with the right shape, with the loader's own messages.
    UNI_RETURN_IF_ERROR(load_model(path).status());
    auto keep = std::make_shared<io::GgufFile>(std::move(file));
    SourceModel m;
    m.metadata = keep->metadata();
    for (const io::GgufTensorInfo& t : keep->tensors())
        m.tensors.push_back(
            {t.name, t.dtype, t.shape, static_cast<const uint8_t*>(t.data), t.nbytes});
    m.keep_alive = keep;
    return m;
}

// An HF directory through the converter (names, metadata and fix-ups as `unicorn convert`
// writes them), without a temporary file: most tensors stay views of the safetensors.
Result<SourceModel> open_hf(const std::string& dir) {
    auto staged = std::make_shared<io::GgufWriter>();
    UNI_RETURN_IF_ERROR(stage_conversion(dir, *staged));
    SourceModel m;
    m.metadata = staged->metadata();
    for (const io::GgufWriter::StagedTensor& t : staged->staged_tensors())
        m.tensors.push_back(
            {t.name, t.dtype, t.shape, static_cast<const uint8_t*>(t.data), t.nbytes});
    m.keep_alive = staged;
    return m;
}

const io::GgufValue* find_key(const SourceModel& m, const std::string& key) {
    for (const auto& [k, v] : m.metadata)
        if (k == key) return &v;
    return nullptr;
}

// A count stored as one number or, per layer, as an array (layer 0's is the one llama.cpp's
// rules read).
Result<int64_t> first_count(const io::GgufValue& v, const std::string& key) {
    if (v.is_array()) {
        if (v.size() == 0) return corrupt(fmt::format("metadata '{}' is an empty array", key));
        return v.at(0).as_i64();
    }
    return v.as_i64();
}

Result<QuantModelFacts> model_facts(const SourceModel& m) {
    QuantModelFacts f;
    const io::GgufValue* arch = find_key(m, "general.architecture");
    if (arch == nullptr) return corrupt("the input has no general.architecture");
    UNI_ASSIGN_OR_RETURN(f.arch, arch->as_string());
    const auto count = [&](const std::string& key, int64_t def) -> Result<int64_t> {
        const io::GgufValue* v = find_key(m, f.arch + "." + key);
        if (v == nullptr) return def;
        return first_count(*v, f.arch + "." + key);
    };
    UNI_ASSIGN_OR_RETURN(f.n_layers, count("block_count", -1));
    if (f.n_layers <= 0) return corrupt(fmt::format("the input has no {}.block_count", f.arch));
    UNI_ASSIGN_OR_RETURN(f.n_heads, count("attention.head_count", 0));
    UNI_ASSIGN_OR_RETURN(f.n_kv_heads, count("attention.head_count_kv", f.n_heads));
    UNI_ASSIGN_OR_RETURN(const int64_t experts, count("expert_count", 0));
    if (experts > 1)
        return unsupported(fmt::format(
            "mixture-of-experts models ({} experts) cannot be quantized by Unicorn", experts));
    return f;
}

// ggml's n_dims: trailing ne[] of 1 (leading dims in PyTorch order) are not written.
Shape ggml_shape(const Shape& s) {
    int first = 0;
    while (first + 1 < s.rank() && s[first] == 1) ++first;
    Shape out;
    for (int i = first; i < s.rank(); ++i) out.push_back(s[i]);
    if (out.rank() == 0) out.push_back(1);
    return out;
}

Status check_paths(const QuantizeOptions& o) {
    std::error_code ec;
    if (!fs::exists(o.input, ec)) return not_found(fmt::format("'{}' does not exist", o.input));
    if (o.output.empty()) return invalid_argument("no output path given");
    if (fs::is_directory(o.output, ec))
        return invalid_argument(fmt::format("output '{}' is a directory", o.output));
    if (fs::exists(o.output, ec) && fs::equivalent(o.input, o.output, ec))
        return invalid_argument(fmt::format(
            "input and output are the same file ('{}'); write the output to a new path", o.output));
    fs::path dir = fs::path(o.output).parent_path();
    if (dir.empty()) dir = ".";
    if (!fs::is_directory(dir, ec))
        return not_found(fmt::format("cannot write '{}': directory '{}' does not exist", o.output,
                                     dir.string()));
    if (::access(dir.c_str(), W_OK) != 0)
        return io_error(fmt::format("cannot write '{}': directory '{}': {}", o.output, dir.string(),
                                    std::strerror(errno)));
    return ok_status();
}

// One output tensor: its source, type, and where progress is reported.
struct Job {
    const SourceTensor* src;
    QuantChoice choice;
    Shape shape;  // as written
    int index;
    const float* importance = nullptr;  // per column, from the imatrix; null: unweighted
};

// The keys llama-quantize --imatrix sets (tools/quantize/quantize.cpp); they replace any the
// input has.
constexpr const char* kImatrixKeys[] = {"quantize.imatrix.file", "quantize.imatrix.dataset",
                                        "quantize.imatrix.entries_count",
                                        "quantize.imatrix.chunks_count"};

bool is_imatrix_key(const std::string& key) {
    for (const char* k : kImatrixKeys)
        if (key == k) return true;
    return false;
}

// The imatrix entry of a tensor that is being quantized, as llama.cpp picks it: by name; an
// entry whose length is not the row length is an error (a model/imatrix mismatch that would
// otherwise silently quantize unweighted), except for token_embd, which llama.cpp lets pass.
Result<const float*> importance_for(const ImportanceMatrix& m, const std::string& name,
                                    const Shape& shape) {
    const std::vector<float>* e = m.find(name);
    if (e == nullptr) return static_cast<const float*>(nullptr);
    if (static_cast<int64_t>(e->size()) == shape.cols()) return e->data();
    if (name == "token_embd.weight") return static_cast<const float*>(nullptr);
    return invalid_argument(fmt::format(
        "importance matrix '{}' has {} values for '{}', whose rows have {}: it was not made "
        "for this model",
        m.path, e->size(), name, shape.cols()));
}

// Replaces the scheme's type of the tensors named in `types` (the hybrid preset).
Status apply_tensor_types(const std::map<std::string, DType>& types,
                          const std::vector<QuantTensor>& described,
                          std::vector<QuantChoice>& choices) {
    size_t used = 0;
    for (size_t k = 0; k < described.size(); ++k) {
        auto it = types.find(described[k].name);
        if (it == types.end()) continue;
        ++used;
        const QuantTensor& t = described[k];
        if (!choices[k].quantizable)
            return invalid_argument(
                fmt::format("tensor '{}' is not quantizable; it keeps its type", t.name));
        if (t.shape.cols() % dtype_block_size(it->second) != 0)
            return invalid_argument(fmt::format(
                "type {} does not fit tensor '{}': rows of {} are not whole {}-element blocks",
                dtype_name(it->second), t.name, t.shape.cols(), dtype_block_size(it->second)));
        choices[k].type = it->second;
        choices[k].fell_back = false;
    }
    if (used != types.size())
        return invalid_argument("a per-tensor type names a tensor the model does not have");
    return ok_status();
}

struct Writer {
    const std::vector<Job>* jobs;
    ThreadPool* pool;
    const QuantizeProgressFn* progress;
    size_t total_bytes_in = 0;
    std::atomic<size_t> bytes_in{0};

    // Rows [row0, row0 + n) of job j, into dst: a copy when the type stays, else each row
    // dequantized to f32 and quantized on its own (so the thread count cannot change a byte).
    Status fill(const Job& j, int64_t row0, int64_t n, void* dst) {
        const int64_t cols = j.shape.cols();
        const DType from = j.src->dtype, to = j.choice.type;
        const size_t src_row = dtype_row_bytes(from, cols), dst_row = dtype_row_bytes(to, cols);
        const uint8_t* src = j.src->data + static_cast<size_t>(row0) * src_row;
        auto* out = static_cast<uint8_t*>(dst);
        std::atomic<int64_t> bad_row{-1};
        if (from == to) {
            std::memcpy(out, src, static_cast<size_t>(n) * src_row);
        } else {
            const int64_t grain = std::max<int64_t>(1, 65536 / std::max<int64_t>(cols, 1));
            pool->parallel_for(n, grain, [&](int64_t b, int64_t e) {
                std::vector<float> row(static_cast<size_t>(cols));
                for (int64_t r = b; r < e; ++r) {
                    quant::dequantize_row(from, src + r * src_row, row.data(), cols);
                    // ggml refuses rows whose quantized values are not finite; catching the
                    // input names the row.
                    if (!std::all_of(row.begin(), row.end(),
                                     [](float v) { return std::isfinite(v); })) {
                        // The lowest such row, whichever thread finds it first.
                        int64_t seen = bad_row.load();
                        while ((seen < 0 || row0 + r < seen) &&
                               !bad_row.compare_exchange_weak(seen, row0 + r)) {
                        }
                        continue;
                    }
                    quant::quantize_row_weighted(to, row.data(), out + r * dst_row, cols,
                                                 j.importance);
                }
            });
        }
        if (bad_row.load() >= 0)
            return invalid_argument(fmt::format("tensor '{}' row {} holds a NaN or infinity",
                                                j.src->name, bad_row.load()));
        bytes_in += static_cast<size_t>(n) * src_row;
        if (*progress) {
            QuantizeProgress p;
            p.index = j.index;
            p.count = static_cast<int>(jobs->size());
            p.name = &j.src->name;
            p.from = from;
            p.to = to;
            p.shape = &j.shape;
            p.rows = j.shape.rows();
            p.rows_done = row0 + n;
            p.bytes_in = bytes_in.load();
            p.total_bytes_in = total_bytes_in;
            p.tensor_bytes_in = j.src->nbytes;
            p.tensor_bytes_out = static_cast<size_t>(p.rows) * dst_row;
            (*progress)(p);
        }
        return ok_status();
    }
};

// ggml ends a file after padding the last tensor to the alignment; GgufWriter stops at its end.
Status pad_to_alignment(const std::string& path, uint64_t alignment, uint64_t* size) {
    std::error_code ec;
    const uint64_t have = fs::file_size(path, ec);
    if (ec) return io_error(fmt::format("cannot read the size of '{}': {}", path, ec.message()));
    *size = (have + alignment - 1) / alignment * alignment;
    if (*size == have) return ok_status();
    std::FILE* f = std::fopen(path.c_str(), "ab");
    if (f == nullptr)
        return io_error(fmt::format("cannot open '{}': {}", path, std::strerror(errno)));
    const std::vector<uint8_t> zeros(*size - have, 0);
    const bool ok = std::fwrite(zeros.data(), 1, zeros.size(), f) == zeros.size();
    if (std::fclose(f) != 0 || !ok)
        return io_error(fmt::format("cannot write '{}': {}", path, std::strerror(errno)));
    return ok_status();
}

Result<uint64_t> write_output(const io::GgufWriter& w, const std::string& output,
                              uint64_t alignment) {
    const std::string tmp = quantize_temp_path(output);
    uint64_t size = 0;
    Status s = w.write(tmp);  // removes its own partial file on failure
    if (s.ok()) s = pad_to_alignment(tmp, alignment, &size);
    if (s.ok() && std::rename(tmp.c_str(), output.c_str()) != 0)
        s = io_error(
            fmt::format("cannot rename '{}' to '{}': {}", tmp, output, std::strerror(errno)));
    if (!s.ok()) {
        std::remove(tmp.c_str());
        return s;
    }
    return size;
}

}  // namespace

std::string quantize_temp_path(const std::string& output) {
    return fmt::format("{}.tmp-{}", output, static_cast<long>(::getpid()));
}

Result<QuantizeSummary> quantize_model(const QuantizeOptions& o,
                                       const QuantizeProgressFn& progress) {
    const auto start = std::chrono::steady_clock::now();
    UNI_RETURN_IF_ERROR(check_paths(o));
    SourceModel src;
    if (fs::is_directory(o.input)) {
        UNI_ASSIGN_OR_RETURN(src, open_hf(o.input));
    } else {
        UNI_ASSIGN_OR_RETURN(src, open_gguf(o.input));
    }
    UNI_ASSIGN_OR_RETURN(const QuantModelFacts facts, model_facts(src));
    QuantRequest request = o.request;
    std::optional<ImportanceMatrix> imatrix;
    if (!o.imatrix_path.empty()) {
        UNI_ASSIGN_OR_RETURN(imatrix, load_importance_matrix(o.imatrix_path));
        request.has_imatrix = true;
    }

    // llama.cpp's order, and its shapes (no leading 1s).
    std::vector<size_t> order(src.tensors.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        return llama_cpp_tensor_less(src.tensors[a].name, src.tensors[b].name);
    });
    std::vector<QuantTensor> described;
    described.reserve(order.size());
    for (size_t i : order)
        described.push_back(
            {src.tensors[i].name, src.tensors[i].dtype, ggml_shape(src.tensors[i].shape)});
    UNI_ASSIGN_OR_RETURN(std::vector<QuantChoice> choices,
                         choose_quant_types(facts, request, described));
    UNI_RETURN_IF_ERROR(apply_tensor_types(o.tensor_types, described, choices));

    QuantizeSummary sum;
    sum.scheme = o.request.scheme.name;
    std::vector<Job> jobs;
    for (size_t k = 0; k < order.size(); ++k) {
        const SourceTensor& t = src.tensors[order[k]];
        const QuantChoice& c = choices[k];
        if (c.type != t.dtype) {
            if (!quant::has_reference(t.dtype))
                return unsupported(fmt::format("tensor '{}' has type {}, which cannot be converted",
                                               t.name, dtype_name(t.dtype)));
            if (dtype_is_quantized(t.dtype) && !o.allow_requantize)
                return invalid_argument(fmt::format(
                    "tensor '{}' is already quantized ({}); requantizing it to {} adds the "
                    "error of both types — pass --allow-requantize to do it anyway",
                    t.name, dtype_name(t.dtype), dtype_name(c.type)));
            ++sum.n_converted;
        }
        sum.n_fallback += c.fell_back ? 1 : 0;
        sum.n_elements += t.shape.numel();
        sum.input_tensor_bytes += t.nbytes;
        sum.output_tensor_bytes += static_cast<size_t>(described[k].shape.rows()) *
                                   dtype_row_bytes(c.type, described[k].shape.cols());
        ++sum.output_types[dtype_name(c.type)];
        Job job{&t, c, described[k].shape, static_cast<int>(k)};
        if (imatrix && c.type != t.dtype) {
            UNI_ASSIGN_OR_RETURN(job.importance, importance_for(*imatrix, t.name, job.shape));
            if (job.importance != nullptr && quant::has_weighted_quantizer(c.type))
                ++sum.n_weighted;
        }
        jobs.push_back(job);
    }
    sum.n_tensors = static_cast<int>(jobs.size());

    io::GgufWriter w;
    w.set_fill_chunk_bytes(kChunkBytes);
    // Every key as the input has it, then the two llama.cpp sets last (it removes and appends
    // them); split keys describe the input's shards, not this file.
    for (const auto& [key, value] : src.metadata) {
        if (key == "general.quantization_version" || key == "general.file_type" ||
            key == "split.no" || key == "split.count" || key == "split.tensors.count" ||
            (imatrix && is_imatrix_key(key)))
            continue;
        w.set(key, value);
    }
    w.set_u32("general.quantization_version", kQuantizationVersion);
    w.set_u32("general.file_type", o.request.scheme.file_type);
    if (imatrix) {
        // llama-quantize copies both strings into 128-byte buffers.
        const auto clip = [](const std::string& v) { return v.substr(0, 127); };
        w.set_string(kImatrixKeys[0], clip(imatrix->path));
        if (!imatrix->datasets.empty()) w.set_string(kImatrixKeys[1], clip(imatrix->datasets[0]));
        w.set_u32(kImatrixKeys[2], static_cast<uint32_t>(imatrix->entries.size()));
        if (imatrix->chunk_count > 0)
            w.set_u32(kImatrixKeys[3], static_cast<uint32_t>(imatrix->chunk_count));
    }
    for (const auto& [key, value] : o.extra_metadata) w.set_string(key, value);
    uint64_t alignment = io::kGgufDefaultAlignment;
    if (const io::GgufValue* a = find_key(src, "general.alignment")) {
        UNI_ASSIGN_OR_RETURN(alignment, a->as_u64());
    }

    ThreadPool pool(o.threads);
    Writer writer{&jobs, &pool, &progress, sum.input_tensor_bytes};
    for (const Job& j : jobs) {
        UNI_RETURN_IF_ERROR(w.add_generated_tensor(
            j.src->name, j.choice.type, j.shape, [&writer, &j](int64_t row0, int64_t n, void* dst) {
                return writer.fill(j, row0, n, dst);
            }));
    }
    UNI_ASSIGN_OR_RETURN(sum.output_file_bytes, write_output(w, o.output, alignment));
    sum.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return sum;
}

}  // namespace unicorn
