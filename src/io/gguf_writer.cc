#include "io/gguf_writer.h"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace unicorn::io {
namespace {

constexpr uint32_t kWriteVersion = 3;
constexpr size_t kMaxTensorName = 63;  // ggml: names must be shorter than GGML_MAX_NAME (64)

template <typename T>
void put(std::vector<uint8_t>& out, T v) {
    const auto* p = reinterpret_cast<const uint8_t*>(&v);
    out.insert(out.end(), p, p + sizeof(T));
}

void put_string(std::vector<uint8_t>& out, const std::string& s) {
    put<uint64_t>(out, s.size());
    out.insert(out.end(), s.begin(), s.end());
}

uint64_t align_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

}  // namespace

void GgufWriter::set_alignment(uint32_t alignment) { set_u32("general.alignment", alignment); }

void GgufWriter::set(const std::string& key, GgufValue value) {
    auto [it, inserted] = kv_index_.emplace(key, kv_.size());
    if (inserted) {
        kv_.emplace_back(key, std::move(value));
    } else {
        kv_[it->second].second = std::move(value);
    }
}

Status GgufWriter::check_tensor(const std::string& name, DType dtype, const Shape& shape,
                                size_t nbytes) const {
    if (name.empty() || name.size() > kMaxTensorName) {
        return invalid_argument(
            fmt::format("tensor name '{}' must be 1 to {} bytes", name, kMaxTensorName));
    }
    if (tensor_index_.count(name) != 0)
        return invalid_argument(fmt::format("duplicate tensor '{}'", name));
    const int64_t row = shape.rank() == 0 ? 1 : shape.dim(-1);
    if (row % dtype_block_size(dtype) != 0) {
        return invalid_argument(
            fmt::format("tensor '{}' ({} {}): row length {} is not a multiple of the "
                        "block size {}",
                        name, dtype_name(dtype), shape.to_string(), row, dtype_block_size(dtype)));
    }
    const size_t rows = row == 0 ? 0 : static_cast<size_t>(shape.numel() / row);
    const size_t expected = rows * dtype_row_bytes(dtype, row);
    if (expected != nbytes) {
        return invalid_argument(fmt::format("tensor '{}' ({} {}) needs {} bytes, given {}", name,
                                            dtype_name(dtype), shape.to_string(), expected,
                                            nbytes));
    }
    return ok_status();
}

Status GgufWriter::add_tensor(const std::string& name, DType dtype, const Shape& shape,
                              const void* data, size_t nbytes) {
    UNI_RETURN_IF_ERROR(check_tensor(name, dtype, shape, nbytes));
    const auto* p = static_cast<const uint8_t*>(data);
    auto bytes = std::make_shared<std::vector<uint8_t>>(p, p + nbytes);
    tensor_index_.emplace(name, tensors_.size());
    tensors_.push_back({name, dtype, shape, bytes->data(), nbytes, bytes, {}});
    return ok_status();
}

Status GgufWriter::add_tensor(const std::string& name, const Tensor& tensor) {
    if (!tensor.contiguous() && tensor.rows() > 1) {
        return invalid_argument(
            fmt::format("tensor '{}' is a strided view; GGUF stores contiguous rows", name));
    }
    const size_t nbytes = static_cast<size_t>(tensor.rows()) * tensor.row_bytes();
    UNI_RETURN_IF_ERROR(check_tensor(name, tensor.dtype(), tensor.shape(), nbytes));
    tensor_index_.emplace(name, tensors_.size());
    tensors_.push_back(
        {name, tensor.dtype(), tensor.shape(), tensor.data(), nbytes, tensor.owner(), {}});
    return ok_status();
}

Status GgufWriter::add_generated_tensor(const std::string& name, DType dtype, const Shape& shape,
                                        RowFiller fill) {
    if (!fill) return invalid_argument(fmt::format("tensor '{}' has no fill function", name));
    const int64_t row = shape.rank() == 0 ? 1 : shape.dim(-1);
    const size_t nbytes =
        row == 0 || row % dtype_block_size(dtype) != 0
            ? 0  // check_tensor reports the bad row length; an empty tensor has no bytes
            : static_cast<size_t>(shape.numel() / row) * dtype_row_bytes(dtype, row);
    UNI_RETURN_IF_ERROR(check_tensor(name, dtype, shape, nbytes));
    tensor_index_.emplace(name, tensors_.size());
    tensors_.push_back({name, dtype, shape, nullptr, nbytes, nullptr, std::move(fill)});
    return ok_status();
}

std::vector<GgufWriter::StagedTensor> GgufWriter::staged_tensors() const {
    std::vector<StagedTensor> out;
    out.reserve(tensors_.size());
    for (const PendingTensor& t : tensors_)
        out.push_back({t.name, t.dtype, t.shape, t.data, t.nbytes});
    return out;
}

GgufWriter::FillPlan GgufWriter::fill_plan(const PendingTensor& t) const {
    FillPlan plan;
    const int64_t row = t.shape.rank() == 0 ? 1 : t.shape.dim(-1);
    if (row == 0 || t.nbytes == 0) return plan;
    plan.rows = t.shape.numel() / row;
    plan.row_bytes = dtype_row_bytes(t.dtype, row);
    plan.rows_per_chunk =
        std::max<int64_t>(1, static_cast<int64_t>(fill_chunk_bytes_ / plan.row_bytes));
    return plan;
}

Result<uint32_t> GgufWriter::alignment() const {
    auto it = kv_index_.find("general.alignment");
    if (it == kv_index_.end()) return kGgufDefaultAlignment;
    const GgufValue& v = kv_[it->second].second;
    if (v.type() != GgufType::kU32) {
        return invalid_argument(
            fmt::format("general.alignment must be u32, found {}", v.to_string()));
    }
    const uint64_t a = *v.as_u64();
    if (a == 0 || (a & (a - 1)) != 0) {
        return invalid_argument(fmt::format("general.alignment {} is not a power of two", a));
    }
    return static_cast<uint32_t>(a);
}

Status GgufWriter::encode_header(std::vector<uint8_t>* header,
                                 std::vector<uint64_t>* offsets) const {
    UNI_ASSIGN_OR_RETURN(const uint32_t align, alignment());
    std::vector<uint8_t>& out = *header;
    out.insert(out.end(), {'G', 'G', 'U', 'F'});
    put<uint32_t>(out, kWriteVersion);
    put<uint64_t>(out, tensors_.size());
    put<uint64_t>(out, kv_.size());
    for (const auto& [key, value] : kv_) {
        put_string(out, key);
        put<uint32_t>(out, static_cast<uint32_t>(value.type()));
        value.encode(out);
    }
    uint64_t offset = 0;
    offsets->clear();
    for (const PendingTensor& t : tensors_) {
        put_string(out, t.name);
        put<uint32_t>(out, static_cast<uint32_t>(t.shape.rank()));
        for (int j = t.shape.rank() - 1; j >= 0; --j)
            put<uint64_t>(out, static_cast<uint64_t>(t.shape[j]));
        put<uint32_t>(out, static_cast<uint32_t>(t.dtype));
        put<uint64_t>(out, offset);
        offsets->push_back(offset);
        offset = align_up(offset + t.nbytes, align);
    }
    out.resize(align_up(out.size(), align), 0);
    return ok_status();
}

Result<std::vector<uint8_t>> GgufWriter::to_bytes() const {
    std::vector<uint8_t> out;
    std::vector<uint64_t> offsets;
    UNI_RETURN_IF_ERROR(encode_header(&out, &offsets));
    const size_t base = out.size();
    for (size_t i = 0; i < tensors_.size(); ++i) {
        const PendingTensor& t = tensors_[i];
        out.resize(base + offsets[i], 0);  // padding after the previous tensor
        if (!t.fill) {
            const auto* p = static_cast<const uint8_t*>(t.data);
            out.insert(out.end(), p, p + t.nbytes);
            continue;
        }
        const size_t start = out.size();
        out.resize(start + t.nbytes);
        const FillPlan plan = fill_plan(t);
        for (int64_t r = 0; r < plan.rows; r += plan.rows_per_chunk) {
            const int64_t n = std::min(plan.rows_per_chunk, plan.rows - r);
            UNI_RETURN_IF_ERROR(t.fill(r, n, out.data() + start + r * plan.row_bytes));
        }
    }
    // The last tensor is padded too, as gguf-py and ggml write it: ggml's reader loads the data
    // section as one blob of padded tensors (llama.cpp reads an imatrix that way).
    UNI_ASSIGN_OR_RETURN(const uint32_t align, alignment());
    out.resize(base + align_up(out.size() - base, align), 0);
    return out;
}

Status GgufWriter::write(const std::string& path) const {
    std::vector<uint8_t> header;
    std::vector<uint64_t> offsets;
    UNI_RETURN_IF_ERROR(encode_header(&header, &offsets));

    const std::string tmp = path + ".tmp";
    std::FILE* f = std::fopen(tmp.c_str(), "wb");
    if (f == nullptr)
        return io_error(fmt::format("cannot create '{}': {}", tmp, std::strerror(errno)));

    // Any failure below removes the partial file and reports the first error.
    auto fail = [&](const std::string& what) {
        const std::string msg = fmt::format("{} '{}': {}", what, tmp, std::strerror(errno));
        std::fclose(f);
        std::remove(tmp.c_str());
        return io_error(msg);
    };
    if (std::fwrite(header.data(), 1, header.size(), f) != header.size())
        return fail("cannot write");
    uint64_t written = 0;  // bytes of the data section so far
    static const uint8_t kZeros[256] = {};
    std::vector<uint8_t> chunk;  // generated tensors' bytes, one chunk at a time
    for (size_t i = 0; i < tensors_.size(); ++i) {
        while (written < offsets[i]) {
            const size_t n =
                static_cast<size_t>(std::min<uint64_t>(sizeof(kZeros), offsets[i] - written));
            if (std::fwrite(kZeros, 1, n, f) != n) return fail("cannot write");
            written += n;
        }
        const PendingTensor& t = tensors_[i];
        if (t.fill) {
            const FillPlan plan = fill_plan(t);
            for (int64_t r = 0; r < plan.rows; r += plan.rows_per_chunk) {
                const int64_t n = std::min(plan.rows_per_chunk, plan.rows - r);
                const size_t bytes = static_cast<size_t>(n) * plan.row_bytes;
                if (chunk.size() < bytes) chunk.resize(bytes);
                if (Status s = t.fill(r, n, chunk.data()); !s.ok()) {
                    std::fclose(f);
                    std::remove(tmp.c_str());
                    return s;
                }
                if (std::fwrite(chunk.data(), 1, bytes, f) != bytes) return fail("cannot write");
            }
        } else if (t.nbytes > 0 && std::fwrite(t.data, 1, t.nbytes, f) != t.nbytes) {
            return fail("cannot write");
        }
        written += t.nbytes;
    }
    {  // the last tensor padded too (to_bytes() says why)
        UNI_ASSIGN_OR_RETURN(const uint32_t align, alignment());
        const uint64_t end = align_up(written, align);
        while (written < end) {
            const size_t n = static_cast<size_t>(std::min<uint64_t>(sizeof(kZeros), end - written));
            if (std::fwrite(kZeros, 1, n, f) != n) return fail("cannot write");
            written += n;
        }
    }
    if (std::fflush(f) != 0) return fail("cannot write");
    if (::fsync(::fileno(f)) != 0) return fail("cannot sync");
    if (std::fclose(f) != 0) {
        const std::string msg = fmt::format("cannot close '{}': {}", tmp, std::strerror(errno));
        std::remove(tmp.c_str());
        return io_error(msg);
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        const std::string msg =
            fmt::format("cannot rename '{}' to '{}': {}", tmp, path, std::strerror(errno));
        std::remove(tmp.c_str());
        return io_error(msg);
    }
    return ok_status();
}

}  // namespace unicorn::io
