#include "backend/cpu/kernels/kernels.h"
#include "backend/cpu/kernels/vec.h"

namespace unicorn::cpu {
namespace {

// Rows in parallel once there is enough work to pay for waking the pool.
template <typename F>
void for_rows(ThreadPool& pool, const Tensor& out, F f) {
    const int64_t cols = out.cols();
    const int64_t grain = std::max<int64_t>(1, 32768 / std::max<int64_t>(cols, 1));
    pool.parallel_for(out.rows(), grain, [&](int64_t b, int64_t e) {
        for (int64_t r = b; r < e; ++r) f(r, cols);
    });
}

}  // namespace

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
    for_rows(pool, out, [&](int64_t r, int64_t n) {
        v.add(a.row<float>(r), b.row<float>(r), out.row<float>(r), n);
    });
}

void softcap(ThreadPool& pool, const Tensor& x, float cap, const Tensor& out) {
    const VecOps& v = vec_ops();
    for_rows(pool, out,
             [&](int64_t r, int64_t n) { v.softcap(x.row<float>(r), cap, out.row<float>(r), n); });
}

}  // namespace unicorn::cpu
