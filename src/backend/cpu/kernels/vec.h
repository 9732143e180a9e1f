// Float vector primitives behind the non-matmul CPU kernels (norms, attention, activations).
// One implementation (vec_impl.inc) written so the compiler vectorizes it, compiled three
// times: baseline x86-64 (the "scalar" level), AVX2+FMA, and AVX-512; vec_ops() picks the
// copy for core::active_isa(), so UNICORN_ISA forces each path in tests.
#pragma once

#include <cstdint>

#include "core/cpu_features.h"

namespace unicorn::cpu {

struct VecOps {
    float (*dot)(const float* a, const float* b, int64_t n);
    float (*sum_sq)(const float* x, int64_t n);
    float (*max)(const float* x, int64_t n);
    // y += a·x
    void (*axpy)(float a, const float* x, float* y, int64_t n);
    // y = x·s·w (w == nullptr: y = x·s)
    void (*scale_mul)(const float* x, float s, const float* w, float* y, int64_t n);
    // x = exp(x - m), returns the sum (softmax numerator)
    float (*exp_shift_sum)(float* x, float m, int64_t n);
    void (*gelu_tanh_mul)(const float* g, const float* u, float* y, int64_t n);
    void (*silu_mul)(const float* g, const float* u, float* y, int64_t n);
    void (*add)(const float* a, const float* b, float* y, int64_t n);
    void (*softcap)(const float* x, float cap, float* y, int64_t n);
};

const VecOps& vec_ops_for(IsaLevel level);
inline const VecOps& vec_ops() { return vec_ops_for(active_isa()); }

namespace vec_scalar {
extern const VecOps kOps;
}
namespace vec_avx2 {
extern const VecOps kOps;
}
namespace vec_avx512 {
extern const VecOps kOps;
}

}  // namespace unicorn::cpu
