// The CUDA backend: every op of the llama, gemma3 and gemma3n forward passes on one NVIDIA
// GPU. Activations and the KV cache live in device memory (a caching allocator hands out
// buffers, so a decode step does not call cudaMalloc); weights arrive as host tensors
// (mmapped files) and are uploaded once, on first use, then served from a cache keyed by their
// host address. Embedding tables that were never uploaded (Gemma 3n's per-layer table, by
// design) are gathered on the host and only the batch's rows travel.
//
// Everything runs in order on the legacy default stream; host-side index arrays (positions,
// token ids, row lists) are staged through small device buffers.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "backend/backend.h"
#include "backend/cuda/device.h"

namespace unicorn::cuda {

class CudaBackend final : public Backend {
  public:
    // Fails (clearly) when the device does not exist or cannot be initialised.
    static Result<std::unique_ptr<Backend>> create(int device);
    ~CudaBackend() override;

    std::string name() const override;
    bool is_device() const override { return true; }
    bool supports(OpKind op, DType weight) const override;

    Result<Tensor> alloc(DType dtype, Shape shape) override;
    Status copy_rows(const Tensor& src, std::span<const int64_t> src_rows, const Tensor& dst,
                     std::span<const int64_t> dst_rows, int64_t n) override;
    Result<Tensor> to_host(const Tensor& t) override;

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

    // Bytes of weights uploaded so far (for `info`/logs).
    size_t weight_bytes() const { return weight_bytes_; }

  private:
    explicit CudaBackend(int device) : device_(device) {}
    // The device copy of a tensor: itself when already on the device, else the cached upload of
    // the host tensor (contiguous rows), uploading it the first time.
    Result<Tensor> device_copy(const Tensor& t);
    // Small host arrays copied into a device scratch buffer that stays valid until the next
    // stage() call on the slot (ops run in stream order, so reuse is safe). Slots: 0 query
    // positions, 1 key positions, 2/3 copy_rows source/destination rows, 4 token ids.
    static constexpr int kStageSlots = 5;
    Result<const void*> stage(const void* host, size_t bytes, int slot);

    struct Pool;  // caching allocator for activations
    int device_;
    std::shared_ptr<Pool> pool_;
    struct WeightKey {
        const void* data;
        int64_t rows, cols;
        size_t stride;
        DType dtype;
        static WeightKey of(const Tensor& t) {
            return {t.data(), t.rows(), t.cols(), t.row_stride(), t.dtype()};
        }
        bool operator<(const WeightKey& o) const;
    };
    std::map<WeightKey, std::shared_ptr<DeviceBuffer>> weights_;
    size_t weight_bytes_ = 0;
    std::vector<DeviceBuffer> scratch_;         // one per stage slot
    std::vector<std::vector<uint8_t>> staged_;  // what each slot holds now
    std::mutex mu_;
};

}  // namespace unicorn::cuda
