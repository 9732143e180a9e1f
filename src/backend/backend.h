// A backend = a device + its op table. Arguments arrive validated (ops/params.h), so a backend
// reports only its own failures (allocation, launch, lost device) through Status.
// registry.h is the only place that lists backends.
#pragma once

#include <span>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "core/tensor.h"
#include "ops/op_kind.h"
#include "ops/params.h"

namespace unicorn {

// dst row dst_rows[i] = src row src_rows[i] in host memory (empty spans: 0, 1, …); the CPU's
// copy_rows, and the host KV cache's.
void host_copy_rows(const Tensor& src, std::span<const int64_t> src_rows, const Tensor& dst,
                    std::span<const int64_t> dst_rows, int64_t n);

class Backend {
  public:
    virtual ~Backend() = default;
    virtual std::string name() const = 0;
    // A device backend computes in its own memory (Tensor::on_device); the CPU in host memory.
    virtual bool is_device() const { return false; }
    // Whether this backend runs `op` with a weight of type `weight` (F32 for ops without one).
    virtual bool supports(OpKind op, DType weight) const = 0;

    // Memory. Activations of this backend's ops live where alloc() puts them; weights may
    // arrive in host memory (mmapped files) and a device backend places them itself.
    virtual Result<Tensor> alloc(DType dtype, Shape shape) { return Tensor::empty(dtype, shape); }
    // dst row dst_rows[i] = src row src_rows[i] (both in this backend's memory, same row width;
    // an empty index span means 0, 1, …; both spans, when given, have n entries).
    virtual Status copy_rows(const Tensor& src, std::span<const int64_t> src_rows,
                             const Tensor& dst, std::span<const int64_t> dst_rows, int64_t n);
    // A host copy of t (the CPU returns t itself).
    virtual Result<Tensor> to_host(const Tensor& t) { return t; }
    // Named event counts for tests and `bench` (the CUDA backend: how its steps ran).
    virtual std::vector<std::pair<std::string, int64_t>> counters() const { return {}; }
    // Device memory in use, bytes (`run --stats`, the server's /metrics); 0 for backends that
    // compute in host memory.
    virtual int64_t device_memory_bytes() const { return 0; }

    virtual Status embedding(const Tensor& table, std::span<const int32_t> ids,
                             const ops::EmbeddingParams& p, const Tensor& out) = 0;
    virtual Status linear(const Tensor& x, const Tensor& w, const Tensor& y) = 0;
    virtual Status rms_norm(const Tensor& x, const Tensor& weight, const ops::RmsNormParams& p,
                            const Tensor& out) = 0;
    virtual Status rope(const Tensor& x, std::span<const int32_t> positions,
                        const ops::RopeParams& p) = 0;
    virtual Status attention(const Tensor& q, std::span<const int32_t> q_pos, const Tensor& k,
                             const Tensor& v, std::span<const int32_t> k_pos,
                             const ops::AttentionParams& p, const Tensor& out) = 0;
    virtual Status gelu_tanh_mul(const Tensor& g, const Tensor& u, const Tensor& out) = 0;
    virtual Status silu_mul(const Tensor& g, const Tensor& u, const Tensor& out) = 0;
    virtual Status add(const Tensor& a, const Tensor& b, const Tensor& out) = 0;
    virtual Status softcap(const Tensor& x, float cap, const Tensor& out) = 0;
    virtual Status mul(const Tensor& a, const Tensor& b, const Tensor& out) = 0;
    virtual Status scale(const Tensor& x, float s, const Tensor& out) = 0;
    virtual Status gaussian_topk(const Tensor& x, float z, const Tensor& out) = 0;
    virtual Status match_magnitude(const Tensor& x, const Tensor& target, float floor,
                                   const Tensor& out) = 0;
    virtual Status altup_predict(const Tensor& streams, const Tensor& coefs, int n_streams,
                                 const Tensor& out) = 0;
    virtual Status altup_correct(const Tensor& pred, const Tensor& actual, const Tensor& coefs,
                                 int n_streams, const Tensor& out) = 0;
    // Fused ops: one call for what the model would otherwise run as several. A backend offers
    // one only where supports() says so; elsewhere exec/ runs the ops it stands for, so the
    // default is never reached.
    // out = tanh(RMSNorm(x; norm_w, eps)·router_wᵀ)·coef_wᵀ (ops::altup_coefs).
    virtual Status altup_coefs(const Tensor& x, const Tensor& norm_w, const Tensor& router_w,
                               const Tensor& coef_w, float eps, const Tensor& out);
};

}  // namespace unicorn
