// CPU kernels for every op except linear (matmul.h). Each is tested against ops/ref on every
// ISA level (tests/backend/cpu_kernels_test.cc).
#pragma once

#include <span>

#include "core/tensor.h"
#include "core/thread_pool.h"
#include "ops/params.h"

namespace unicorn::cpu {

void embedding(ThreadPool& pool, const Tensor& table, std::span<const int32_t> ids,
               const ops::EmbeddingParams& p, const Tensor& out);
void rms_norm(ThreadPool& pool, const Tensor& x, const Tensor& weight, const ops::RmsNormParams& p,
              const Tensor& out);
void rope(ThreadPool& pool, const Tensor& x, std::span<const int32_t> positions,
          const ops::RopeParams& p);
void attention(ThreadPool& pool, const Tensor& q, std::span<const int32_t> q_pos, const Tensor& k,
               const Tensor& v, std::span<const int32_t> k_pos, const ops::AttentionParams& p,
               const Tensor& out);
void gelu_tanh_mul(ThreadPool& pool, const Tensor& g, const Tensor& u, const Tensor& out);
void silu_mul(ThreadPool& pool, const Tensor& g, const Tensor& u, const Tensor& out);
void add(ThreadPool& pool, const Tensor& a, const Tensor& b, const Tensor& out);
void softcap(ThreadPool& pool, const Tensor& x, float cap, const Tensor& out);
void mul(ThreadPool& pool, const Tensor& a, const Tensor& b, const Tensor& out);
void scale(ThreadPool& pool, const Tensor& x, float s, const Tensor& out);
void gaussian_topk(ThreadPool& pool, const Tensor& x, float z, const Tensor& out);
void match_magnitude(ThreadPool& pool, const Tensor& x, const Tensor& target, float floor,
                     const Tensor& out);
void altup_predict(ThreadPool& pool, const Tensor& streams, const Tensor& coefs, int n_streams,
                   const Tensor& out);
void altup_correct(ThreadPool& pool, const Tensor& pred, const Tensor& actual, const Tensor& coefs,
                   int n_streams, const Tensor& out);

}  // namespace unicorn::cpu
