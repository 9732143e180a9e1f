#include "backend/cpu/kernels/for_rows.h"
#include "backend/cpu/kernels/kernels.h"
#include "backend/cpu/kernels/vec.h"

namespace unicorn::cpu {

void gelu_tanh_mul(ThreadPool& pool, const Tensor& g, const Tensor& u, const Tensor& out) {
    const VecOps& v = vec_ops();
    for_rows(pool, out, [&](int64_t r, int64_t n) {
        v.gelu_tanh_mul(g.row<float>(r), u.row<float>(r), out.row<float>(r), n);
    });
}

void silu_mul(ThreadPool& pool, const Tensor& g, const Tensor& u, const Tensor& out) {
    const VecOps& v = vec_ops();
    for_rows(pool, out, [&](int64_t r, int64_t n) {
        v.silu_mul(g.row<float>(r), u.row<float>(r), out.row<float>(r), n);
    });
}

void add(ThreadPool& pool, const Tensor& a, const Tensor& b, const Tensor& out) {
    const VecOps& v = vec_ops();
    // b repeats every b.rows() rows (ops/elementwise.h).
    for_rows(pool, out, [&](int64_t r, int64_t n) {
        v.add(a.row<float>(r), b.row<float>(r % b.rows()), out.row<float>(r), n);
    });
}

void softcap(ThreadPool& pool, const Tensor& x, float cap, const Tensor& out) {
    const VecOps& v = vec_ops();
    for_rows(pool, out,
             [&](int64_t r, int64_t n) { v.softcap(x.row<float>(r), cap, out.row<float>(r), n); });
}

void mul(ThreadPool& pool, const Tensor& a, const Tensor& b, const Tensor& out) {
    const VecOps& v = vec_ops();
    // b is a's shape or one row broadcast over a's rows (rank-1 [N] is one row too).
    const bool broadcast = b.rows() != a.rows() || b.shape().rank() == 1;
    for_rows(pool, out, [&](int64_t r, int64_t n) {
        // x·1·w is exactly x·w.
        v.scale_mul(a.row<float>(r), 1.0f, b.row<float>(broadcast ? 0 : r), out.row<float>(r), n);
    });
}

void scale(ThreadPool& pool, const Tensor& x, float s, const Tensor& out) {
    const VecOps& v = vec_ops();
    for_rows(pool, out, [&](int64_t r, int64_t n) {
        v.scale_mul(x.row<float>(r), s, nullptr, out.row<float>(r), n);
    });
}

}  // namespace unicorn::cpu
