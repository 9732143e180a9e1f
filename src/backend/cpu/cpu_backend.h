// The CPU backend: SIMD kernels chosen at run time (core/cpu_features.h), threaded with the
// engine's pool. It supports every op and every weight type, so it is also the fallback.
#pragma once

#include "backend/backend.h"
#include "core/thread_pool.h"

namespace unicorn {

class CpuBackend final : public Backend {
  public:
    explicit CpuBackend(ThreadPool& pool) : pool_(pool) {}
    std::string name() const override { return "cpu"; }
    bool supports(OpKind op, DType weight) const override;

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

    ThreadPool& pool() { return pool_; }

  private:
    ThreadPool& pool_;
};

}  // namespace unicorn
