#include "runtime/imatrix.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "io/gguf_writer.h"

namespace unicorn::eval {

namespace {

// Through `path`.tmp, renamed only once complete.
Status write_file(const std::string& path, const std::vector<uint8_t>& bytes) {
    const std::string tmp = path + ".tmp";
    std::FILE* f = std::fopen(tmp.c_str(), "wb");
    if (f == nullptr)
        return io_error(fmt::format("cannot write {}: {}", tmp, std::strerror(errno)));
    const bool written = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
    const bool closed = std::fclose(f) == 0;
    std::error_code ec;
    if (written && closed) std::filesystem::rename(tmp, path, ec);
    if (!written || !closed || ec) {
        std::filesystem::remove(tmp);
        return io_error(
            fmt::format("cannot write {}: {}", path, ec ? ec.message() : std::strerror(errno)));
    }
    return ok_status();
}

}  // namespace

void ImatrixCollector::attach(ExecContext& ctx) {
    ctx.set_linear_observer([this](const Tensor& w, const Tensor& x) { observe(w, x); });
}

void ImatrixCollector::observe(const Tensor& weight, const Tensor& x) {
    const auto it = names_.find(weight.data());
    if (it == names_.end() || it->second.rfind("blk.", 0) != 0) return;
    if (x.dtype() != DType::kF32 || x.shape().rank() != 2) return;
    ImatrixEntry& e = entries_[it->second];
    const int64_t k = x.cols();
    if (e.sum_sq.empty()) e.sum_sq.assign(static_cast<size_t>(k), 0.0);
    if (static_cast<int64_t>(e.sum_sq.size()) != k) {
        if (status_.ok())
            status_ =
                internal_error(fmt::format("imatrix: {} seen with inputs of {} and {} columns",
                                           it->second, e.sum_sq.size(), k));
        return;
    }
    for (int64_t r = 0; r < x.rows(); ++r) {
        const float* row = x.row<float>(r);
        for (int64_t c = 0; c < k; ++c)
            e.sum_sq[c] += static_cast<double>(row[c]) * static_cast<double>(row[c]);
    }
    e.count += x.rows();
}

Status ImatrixCollector::write(const std::string& path, const ImatrixMeta& meta) const {
    UNI_RETURN_IF_ERROR(status_);
    if (entries_.empty())
        return invalid_argument("imatrix: no linear weight named blk.* was observed");
    io::GgufWriter w;
    w.set_string("general.type", "imatrix");
    w.set("imatrix.datasets", io::GgufValue::string_array(meta.datasets));
    w.set_u32("imatrix.chunk_count", static_cast<uint32_t>(meta.chunk_count));
    w.set_u32("imatrix.chunk_size", static_cast<uint32_t>(meta.chunk_size));
    for (const auto& [name, e] : entries_) {  // std::map: name order, as llama-imatrix sorts
        std::vector<float> sums(e.sum_sq.begin(), e.sum_sq.end());
        const float count = static_cast<float>(e.count);
        const int64_t k = static_cast<int64_t>(sums.size());
        // llama-imatrix makes these [K, n_mat] and [1, n_mat]; with one matrix (no experts)
        // ggml stores them with the trailing 1 dropped: [K] and [1].
        UNI_RETURN_IF_ERROR(w.add_tensor(name + ".in_sum2", DType::kF32, Shape{k}, sums.data(),
                                         sums.size() * sizeof(float)));
        UNI_RETURN_IF_ERROR(
            w.add_tensor(name + ".counts", DType::kF32, Shape{1}, &count, sizeof(float)));
    }
    // The writer pads the last tensor, which llama.cpp's imatrix reader needs (it loads the data
    // section as one blob of padded tensors).
    UNI_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, w.to_bytes());
    return write_file(path, bytes);
}

}  // namespace unicorn::eval
