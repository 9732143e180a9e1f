// The CUDA backend: every op of the llama, gemma3 and gemma3n forward passes on one NVIDIA
// GPU. Activations and the KV cache live in device memory (a caching allocator hands out
// buffers, so a decode step does not call cudaMalloc); weights arrive as host tensors
// (mmapped files) and are uploaded once, on first use, then served from a cache keyed by their
// host address. Embedding tables that were never uploaded (Gemma 3n's per-layer table, by
// design) are gathered on the host and only the batch's rows travel.
//
// Everything runs in order on the backend's own stream. Ops are recorded, not launched, and run
// when a result is read (to_host): a recurring step — every decode step — replays as one CUDA
// graph (step_recorder.h). Host-side arrays (positions, token ids, row lists, key counts) are
// staged into the step's arena, never passed as launch arguments. UNICORN_CUDA_GRAPHS=0 turns
// the graphs off (every launch direct), for comparison.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "backend/backend.h"
#include "backend/cuda/device.h"
#include "backend/cuda/kernels/gemm.h"
#include "backend/cuda/step_recorder.h"

namespace unicorn::cuda {

class CudaBackend final : public Backend {
  public:
    // Fails (clearly) when the device does not exist or cannot be initialised.
    static Result<std::unique_ptr<Backend>> create(int device);
    ~CudaBackend() override;

    std::string name() const override;
    // Used memory of the whole device (cudaMemGetInfo: total - free, other processes included).
    int64_t device_memory_bytes() const override;
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
    Status altup_coefs(const Tensor& x, const Tensor& norm_w, const Tensor& router_w,
                       const Tensor& coef_w, float eps, const Tensor& out) override;

    // Bytes of weights uploaded so far (for `info`/logs).
    size_t weight_bytes() const { return weight_bytes_; }
    // How recorded steps ran: steps_direct, steps_captured (into a graph), steps_replayed.
    std::vector<std::pair<std::string, int64_t>> counters() const override;

  private:
    explicit CudaBackend(int device) : device_(device) {}
    // Records fn(args…, stream) for the current step; every argument is part of the step's
    // identity (a graph is replayed only for launches with identical arguments).
    template <typename... P, typename... A>
    Status enqueue(const char* name, Status (*fn)(P...), A... args);
    // The device copy of a tensor: itself when already on the device, else the cached upload of
    // the host tensor (contiguous rows), uploading it the first time.
    Result<Tensor> device_copy(const Tensor& t);
    // A host array in the step's arena (valid on the device when the step runs).
    Result<const void*> stage(const void* host, size_t bytes) { return rec_->stage(host, bytes); }

    struct Pool;  // caching allocators (activations; to_host results)
    int device_;
    cudaStream_t stream_ = nullptr;
    std::unique_ptr<StepRecorder> rec_;
    std::unique_ptr<GemmContext> gemm_;       // created on the first many-token linear
    std::vector<uint64_t> words_;             // enqueue()'s scratch
    std::shared_ptr<Pool> pool_, host_pool_;  // device memory, pinned host memory
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
    double sync_s_ = 0;  // host time waiting for steps to finish (to_host)
    std::mutex mu_;
};

}  // namespace unicorn::cuda
