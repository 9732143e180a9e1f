#include "backend/vulkan/vulkan_backend.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <tuple>
#include <vector>

#include "quant/quantize.h"

namespace unicorn::vulkan {

bool shader_supports(DType t) {
    switch (t) {
        case DType::kF32:
        case DType::kF16:
        case DType::kBF16:
        case DType::kQ8_0:
        case DType::kQ4_0:
        case DType::kQ4_K:
        case DType::kQ5_K:
        case DType::kQ6_K:
        case DType::kQ4_1:
        case DType::kQ5_0:
        case DType::kQ5_1:
            return true;
        default:
            return false;
    }
}

uint32_t type_code(DType t) {
    switch (t) {
        case DType::kF16:
            return 1;
        case DType::kBF16:
            return 2;
        case DType::kQ8_0:
            return 3;
        case DType::kQ4_0:
            return 4;
        case DType::kQ4_K:
            return 5;
        case DType::kQ5_K:
            return 6;
        case DType::kQ6_K:
            return 7;
        case DType::kQ4_1:
            return 8;
        case DType::kQ5_0:
            return 9;
        case DType::kQ5_1:
            return 10;
        default:
            return 0;  // F32
    }
}

bool VulkanBackend::WeightKey::operator<(const WeightKey& o) const {
    return std::tie(data, rows, cols, stride, dtype) <
           std::tie(o.data, o.rows, o.cols, o.stride, o.dtype);
}

Result<std::unique_ptr<VulkanBackend>> VulkanBackend::create(int device) {
    std::unique_ptr<VulkanBackend> b(new VulkanBackend());
    UNI_ASSIGN_OR_RETURN(std::unique_ptr<Device> dev, Device::open(device));
    b->dev_ = std::move(dev);
    b->mem_ = std::make_shared<Memory>(b->dev_);
    UNI_ASSIGN_OR_RETURN(b->cmd_, Commands::create(b->dev_, b->mem_));
    return b;
}

VulkanBackend::~VulkanBackend() {
    cmd_.reset();  // waits for the device before weights and pools go
}

std::string VulkanBackend::name() const { return fmt::format("vulkan:{}", dev_->info().index); }

bool VulkanBackend::supports(OpKind op, DType weight) const {
    switch (op) {
        case OpKind::kLinear:
            return shader_supports(weight);
        case OpKind::kEmbedding:  // device gather for shader types, host gather for the rest
            return quant::has_reference(weight);
        case OpKind::kAltupCoefs:  // no fused shader yet: exec/ runs the four ops it stands for
            return false;
        default:
            return weight == DType::kF32;
    }
}

int64_t VulkanBackend::device_memory_bytes() const {
    return static_cast<int64_t>(mem_->device_bytes());
}

std::vector<std::pair<std::string, int64_t>> VulkanBackend::counters() const {
    return {{"dispatches", cmd_->dispatches()},
            {"submits", cmd_->submits()},
            {"weight_bytes", static_cast<int64_t>(weight_bytes_)}};
}

Result<Tensor> VulkanBackend::alloc(DType dtype, Shape shape) {
    const size_t bytes = dtype_row_bytes(dtype, shape.cols()) * static_cast<size_t>(shape.rows());
    UNI_ASSIGN_OR_RETURN(std::shared_ptr<void> owner, mem_->take(bytes));
    void* p = owner.get();
    return Tensor::device_view(dtype, shape, p, std::move(owner));
}

Result<Located> VulkanBackend::locate(const Tensor& t, const char* op) const {
    if (!t.on_device())
        return internal_error(
            fmt::format("vulkan {}: an activation {} is in host memory", op, t.describe()));
    return mem_->resolve(t.data());
}

bool VulkanBackend::uploaded(const Tensor& t) {
    std::lock_guard<std::mutex> lock(mu_);
    return weights_.count({t.data(), t.rows(), t.cols(), t.row_stride(), t.dtype()}) > 0;
}

Result<VulkanBackend::Parts> VulkanBackend::weight_parts(const Tensor& t) {
    Parts out;
    if (t.on_device()) {
        UNI_ASSIGN_OR_RETURN(Located l, mem_->resolve(t.data()));
        out.parts = {l};
        out.rows_per_part = std::max<int64_t>(t.rows(), 1);
        out.row_stride = t.row_stride();
        return out;
    }
    const size_t row = t.row_bytes();
    out.row_stride = row;
    std::lock_guard<std::mutex> lock(mu_);
    const WeightKey key{t.data(), t.rows(), t.cols(), t.row_stride(), t.dtype()};
    auto it = weights_.find(key);
    if (it == weights_.end()) {
        Uploaded up;
        const size_t max_bytes = dev_->limits().maxStorageBufferRange & ~size_t{15};
        up.rows_per_part = std::max<int64_t>(
            1, std::min<int64_t>(t.rows(),
                                 static_cast<int64_t>(max_bytes / std::max<size_t>(row, 1))));
        std::vector<uint8_t> packed;
        for (int64_t r0 = 0; r0 < std::max<int64_t>(t.rows(), 1); r0 += up.rows_per_part) {
            const int64_t n = std::min(up.rows_per_part, t.rows() - r0);
            const size_t bytes = row * static_cast<size_t>(std::max<int64_t>(n, 0));
            UNI_ASSIGN_OR_RETURN(std::shared_ptr<Buffer> buf,
                                 mem_->create(bytes, Memory::Kind::kDevice));
            const void* src = t.row_bytes_ptr(r0);
            if (!t.contiguous() && n > 0) {
                packed.resize(bytes);
                for (int64_t r = 0; r < n; ++r)
                    std::memcpy(packed.data() + static_cast<size_t>(r) * row,
                                t.row_bytes_ptr(r0 + r), row);
                src = packed.data();
            }
            if (bytes > 0) UNI_RETURN_IF_ERROR(cmd_->upload_now(buf.get(), 0, src, bytes));
            up.buffers.push_back(std::move(buf));
            weight_bytes_ += bytes;
        }
        it = weights_.emplace(key, std::move(up)).first;
    }
    out.rows_per_part = it->second.rows_per_part;
    for (const auto& b : it->second.buffers) out.parts.push_back({b.get(), 0});
    return out;
}

Result<Located> VulkanBackend::weight(const Tensor& t, size_t* row_stride) {
    UNI_ASSIGN_OR_RETURN(Parts p, weight_parts(t));
    if (p.parts.size() != 1)
        return unsupported(
            fmt::format("vulkan: {} is larger than one storage buffer", t.describe()));
    *row_stride = p.row_stride;
    return p.parts[0];
}

Status VulkanBackend::copy_rows(const Tensor& src, std::span<const int64_t> src_rows,
                                const Tensor& dst, std::span<const int64_t> dst_rows, int64_t n) {
    if (n == 0) return ok_status();
    UNI_ASSIGN_OR_RETURN(Located s, locate(src, "copy_rows"));
    UNI_ASSIGN_OR_RETURN(Located d, locate(dst, "copy_rows"));
    std::vector<VkBufferCopy> regions(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
        const int64_t sr = src_rows.empty() ? i : src_rows[static_cast<size_t>(i)];
        const int64_t dr = dst_rows.empty() ? i : dst_rows[static_cast<size_t>(i)];
        regions[static_cast<size_t>(i)] = {s.offset + static_cast<size_t>(sr) * src.row_stride(),
                                           d.offset + static_cast<size_t>(dr) * dst.row_stride(),
                                           src.row_bytes()};
    }
    return cmd_->copy(s.buffer, d.buffer, regions);
}

Status VulkanBackend::upload(const Tensor& host, const Tensor& dst) {
    UNI_ASSIGN_OR_RETURN(Located d, locate(dst, "upload"));
    const size_t row = host.row_bytes(), rows = static_cast<size_t>(host.rows());
    UNI_ASSIGN_OR_RETURN(Located s, cmd_->stage(nullptr, row * rows));
    std::vector<VkBufferCopy> regions(rows);
    for (size_t r = 0; r < rows; ++r) {
        std::memcpy(static_cast<uint8_t*>(s.buffer->mapped) + s.offset + r * row,
                    host.row_bytes_ptr(static_cast<int64_t>(r)), row);
        regions[r] = {s.offset + r * row, d.offset + r * dst.row_stride(), row};
    }
    return cmd_->copy(s.buffer, d.buffer, regions);
}

Result<Tensor> VulkanBackend::to_host(const Tensor& t) {
    if (!t.on_device()) return t;
    Tensor h = Tensor::empty(t.dtype(), t.shape());
    if (t.numel() == 0) {
        UNI_RETURN_IF_ERROR(cmd_->flush());
        return h;
    }
    UNI_ASSIGN_OR_RETURN(Located s, mem_->resolve(t.data()));
    UNI_RETURN_IF_ERROR(cmd_->download(s.buffer, s.offset, t.row_bytes(), t.row_stride(),
                                       static_cast<size_t>(t.rows()), h.data()));
    return h;
}

Status VulkanBackend::embedding(const Tensor& table, std::span<const int32_t> ids,
                                const ops::EmbeddingParams& p, const Tensor& out) {
    UNI_ASSIGN_OR_RETURN(Located o, locate(out, "embedding"));
    if (ids.empty()) return ok_status();
    // A table also used as a weight (a tied output head) is already on the device; one split
    // over several buffers is gathered on the host (its rows are still host memory).
    if ((table.on_device() || uploaded(table)) && shader_supports(table.dtype()) &&
        table.row_bytes() * static_cast<size_t>(table.rows()) <=
            dev_->limits().maxStorageBufferRange) {
        size_t stride = 0;
        UNI_ASSIGN_OR_RETURN(Located w, weight(table, &stride));
        UNI_ASSIGN_OR_RETURN(Located i, cmd_->stage(ids.data(), ids.size_bytes()));
        struct {
            uint32_t d, w_off, w_stride, ids_off, o_off, o_stride;
            float scale;
        } pc{static_cast<uint32_t>(table.cols()),
             static_cast<uint32_t>(w.offset),
             static_cast<uint32_t>(stride),
             static_cast<uint32_t>(i.offset / 4),
             static_cast<uint32_t>(o.offset / 4),
             static_cast<uint32_t>(out.row_stride() / 4),
             p.scale};
        const bool quantized = dtype_block_size(table.dtype()) > 1;
        const uint32_t units = static_cast<uint32_t>(quantized ? table.cols() / 32 : table.cols());
        return cmd_->dispatch("embedding", type_code(table.dtype()), {w.buffer, i.buffer, o.buffer},
                              pc, (units + 63) / 64, static_cast<uint32_t>(ids.size()));
    }
    // A table that lives on the host (not uploaded yet, or of a type the shaders do not read):
    // dequantize the batch's rows into the arena, so only those travel.
    const size_t row = sizeof(float) * static_cast<size_t>(table.cols());
    UNI_ASSIGN_OR_RETURN(Located s, cmd_->stage(nullptr, row * ids.size()));
    std::vector<VkBufferCopy> regions(ids.size());
    for (size_t i = 0; i < ids.size(); ++i) {
        float* r =
            reinterpret_cast<float*>(static_cast<uint8_t*>(s.buffer->mapped) + s.offset + i * row);
        quant::dequantize_row(table.dtype(), table.row_bytes_ptr(ids[i]), r, table.cols());
        for (int64_t c = 0; c < table.cols(); ++c) r[c] *= p.scale;
        regions[i] = {s.offset + i * row, o.offset + i * out.row_stride(), row};
    }
    return cmd_->copy(s.buffer, o.buffer, regions);
}

}  // namespace unicorn::vulkan
