#include "backend/cpu/cpu_backend.h"

#include "backend/cpu/kernels/kernels.h"
#include "backend/cpu/kernels/matmul.h"

namespace unicorn {

bool CpuBackend::supports(OpKind op, DType weight) const {
    switch (op) {
        case OpKind::kLinear:
            return cpu::matmul_supports(weight);
        case OpKind::kEmbedding:
            return dtype_is_quantized(weight) || weight == DType::kF32 || weight == DType::kF16 ||
                   weight == DType::kBF16;
        case OpKind::kAltupCoefs:  // exec/ runs the ops it fuses
            return false;
        default:
            return weight == DType::kF32;
    }
}

Status CpuBackend::embedding(const Tensor& table, std::span<const int32_t> ids,
                             const ops::EmbeddingParams& p, const Tensor& out) {
    cpu::embedding(pool_, table, ids, p, out);
    return ok_status();
}

Status CpuBackend::linear(const Tensor& x, const Tensor& w, const Tensor& y) {
    cpu::matmul(pool_, x, w, y);
    return ok_status();
}

Status CpuBackend::rms_norm(const Tensor& x, const Tensor& weight, const ops::RmsNormParams& p,
                            const Tensor& out) {
    cpu::rms_norm(pool_, x, weight, p, out);
    return ok_status();
}

Status CpuBackend::rope(const Tensor& x, std::span<const int32_t> positions,
                        const ops::RopeParams& p) {
    cpu::rope(pool_, x, positions, p);
    return ok_status();
}

Status CpuBackend::attention(const Tensor& q, std::span<const int32_t> q_pos, const Tensor& k,
                             const Tensor& v, std::span<const int32_t> k_pos,
                             const ops::AttentionParams& p, const Tensor& out) {
    cpu::attention(pool_, q, q_pos, k, v, k_pos, p, out);
    return ok_status();
}

Status CpuBackend::gelu_tanh_mul(const Tensor& g, const Tensor& u, const Tensor& out) {
    cpu::gelu_tanh_mul(pool_, g, u, out);
    return ok_status();
}

Status CpuBackend::silu_mul(const Tensor& g, const Tensor& u, const Tensor& out) {
    cpu::silu_mul(pool_, g, u, out);
    return ok_status();
}

Status CpuBackend::add(const Tensor& a, const Tensor& b, const Tensor& out) {
    cpu::add(pool_, a, b, out);
    return ok_status();
}

Status CpuBackend::softcap(const Tensor& x, float cap, const Tensor& out) {
    cpu::softcap(pool_, x, cap, out);
    return ok_status();
}

Status CpuBackend::mul(const Tensor& a, const Tensor& b, const Tensor& out) {
    cpu::mul(pool_, a, b, out);
    return ok_status();
}

Status CpuBackend::scale(const Tensor& x, float s, const Tensor& out) {
    cpu::scale(pool_, x, s, out);
    return ok_status();
}

Status CpuBackend::gaussian_topk(const Tensor& x, float z, const Tensor& out) {
    cpu::gaussian_topk(pool_, x, z, out);
    return ok_status();
}

Status CpuBackend::match_magnitude(const Tensor& x, const Tensor& target, float floor,
                                   const Tensor& out) {
    cpu::match_magnitude(pool_, x, target, floor, out);
    return ok_status();
}

Status CpuBackend::altup_predict(const Tensor& streams, const Tensor& coefs, int n_streams,
                                 const Tensor& out) {
    cpu::altup_predict(pool_, streams, coefs, n_streams, out);
    return ok_status();
}

Status CpuBackend::altup_correct(const Tensor& pred, const Tensor& actual, const Tensor& coefs,
                                 int n_streams, const Tensor& out) {
    cpu::altup_correct(pool_, pred, actual, coefs, n_streams, out);
    return ok_status();
}

}  // namespace unicorn
