// The Vulkan backend: the llama, gemma3 and gemma3n forward passes on any Vulkan 1.2 device
// (discrete and integrated GPUs; Mesa's lavapipe on the CPU, for tests). Activations live in device
// buffers from a caching pool; weights arrive as host tensors (mmapped files) and are uploaded
// once, on first use, then served from a cache keyed by their host address. Host arrays a step
// needs (positions, token ids, RoPE angles) travel through a per-step arena.
//
// Ops are recorded into one command buffer and run when a result is read (to_host), like the
// CUDA backend's recorder. Arithmetic is fp32; the matrix shader reduces with clustered subgroup
// operations where the device has them, through shared memory otherwise (fp16 and int8 paths
// are a later increment, behind capability checks too).
#pragma once

#include <map>
#include <memory>
#include <mutex>

#include "backend/backend.h"
#include "backend/vulkan/commands.h"
#include "backend/vulkan/device.h"
#include "backend/vulkan/memory.h"

namespace unicorn::vulkan {

// Whether the linear/embedding shaders read weights of this type, and the code they know it by
// (shaders/dequant.glsl's T_* values).
bool shader_supports(DType t);
uint32_t type_code(DType t);

class VulkanBackend final : public Backend {
  public:
    // Fails (clearly) when there is no such device or it cannot be initialised.
    static Result<std::unique_ptr<VulkanBackend>> create(int device);
    ~VulkanBackend() override;

    std::string name() const override;
    int64_t device_memory_bytes() const override;  // live device-local buffers
    bool is_device() const override { return true; }
    bool supports(OpKind op, DType weight) const override;

    Result<Tensor> alloc(DType dtype, Shape shape) override;
    Status copy_rows(const Tensor& src, std::span<const int64_t> src_rows, const Tensor& dst,
                     std::span<const int64_t> dst_rows, int64_t n) override;
    Result<Tensor> to_host(const Tensor& t) override;
    // Host rows into a device tensor (recorded: ordered with the ops around it). For tests and
    // callers that bring their own activations.
    Status upload(const Tensor& host, const Tensor& dst);
    std::vector<std::pair<std::string, int64_t>> counters() const override;
    const VulkanDeviceInfo& device_info() const { return dev_->info(); }

    Status embedding(const Tensor& table, std::span<const int32_t> ids,
                     const ops::EmbeddingParams& p, const Tensor& out) override;
    Status linear(const Tensor& x, const Tensor& w, const Tensor& y) override;
    Status rms_norm(const Tensor& x, const Tensor& weight, const ops::RmsNormParams& p,
                    const Tensor& out) override;
    Status rope(const Tensor& x, std::span<const int32_t> positions,
                const ops::RopeParams& p) override;
    Status attention(const Tensor& q, std::span<const int32_t> q_pos, const Tensor& k,
                     const Tensor& v, std::span<const int32_t> k_pos, const ops::AttentionParams& p,
                     const Tensor& out) override;
    Status gelu_tanh_mul(const Tensor& g, const Tensor& u, const Tensor& out) override;
    Status silu_mul(const Tensor& g, const Tensor& u, const Tensor& out) override;
    Status add(const Tensor& a, const Tensor& b, const Tensor& out) override;
    Status softcap(const Tensor& x, float cap, const Tensor& out) override;
    Status mul(const Tensor& a, const Tensor& b, const Tensor& out) override;
    Status scale(const Tensor& x, float s, const Tensor& out) override;
    Status gaussian_topk(const Tensor& x, float z, const Tensor& out) override;
    Status match_magnitude(const Tensor& x, const Tensor& target, float floor,
                           const Tensor& out) override;
    Status altup_predict(const Tensor& streams, const Tensor& coefs, int n_streams,
                         const Tensor& out) override;
    Status altup_correct(const Tensor& pred, const Tensor& actual, const Tensor& coefs,
                         int n_streams, const Tensor& out) override;

  private:
    VulkanBackend() = default;
    // Where a device tensor's bytes are; an error for a host tensor (activations must come
    // from earlier ops).
    Result<Located> locate(const Tensor& t, const char* op) const;
    // A weight's device copy: itself when already on the device, else the cached upload of
    // the host tensor (rows made contiguous), uploading it the first time. A weight larger
    // than one storage buffer may span (lavapipe: 128 MiB; a 262k-token vocabulary head is
    // more) is split into parts of whole rows, each its own buffer.
    struct Parts {
        std::vector<Located> parts;  // consecutive row ranges
        int64_t rows_per_part = 0;
        size_t row_stride = 0;
    };
    Result<Parts> weight_parts(const Tensor& t);
    // The same for weights that must be one buffer (norm weights, rows).
    Result<Located> weight(const Tensor& t, size_t* row_stride);
    bool uploaded(const Tensor& t);
    Status elementwise(uint32_t op, const char* name, const Tensor& a, const Tensor& b,
                       int64_t b_rows, float s, const Tensor& out);
    Status row_stats(uint32_t op, const char* name, const Tensor& x, const Tensor& target, float s,
                     const Tensor& out);
    Status altup(uint32_t op, const char* name, const Tensor& s, const Tensor& act,
                 const Tensor& coefs, int n_streams, const Tensor& out);

    std::shared_ptr<Device> dev_;
    std::shared_ptr<Memory> mem_;
    std::unique_ptr<Commands> cmd_;
    struct WeightKey {
        const void* data;
        int64_t rows, cols;
        size_t stride;
        DType dtype;
        bool operator<(const WeightKey& o) const;
    };
    struct Uploaded {
        std::vector<std::shared_ptr<Buffer>> buffers;
        int64_t rows_per_part = 0;
    };
    std::map<WeightKey, Uploaded> weights_;
    size_t weight_bytes_ = 0;
    std::mutex mu_;
};

}  // namespace unicorn::vulkan
