// A backend plugin built from the CPU backend, to prove the C ABI of
// include/unicorn/backend_plugin.h end to end: the engine sees only the C table below; inside,
// each op rebuilds Tensor views from the descriptors and calls the CPU kernels (compiled into
// this module, hidden). Built twice (tests/plugin/CMakeLists.txt): "test_cpu" runs every op the
// CPU backend runs; "test_cpu_linear" (UNICORN_TEST_PLUGIN_LINEAR_ONLY) runs only linear, so the
// engine's per-op CPU fallback does the rest.
#include <algorithm>
#include <exception>
#include <initializer_list>
#include <string>

#include "backend/cpu/cpu_backend.h"
#include "core/thread_pool.h"
#include "unicorn/backend_plugin.h"

namespace {

using unicorn::DType;
using unicorn::Shape;
using unicorn::Status;
using unicorn::Tensor;

struct State {
    explicit State(int n_threads) : pool(n_threads), cpu(pool) {}
    unicorn::ThreadPool pool;
    unicorn::CpuBackend cpu;
    std::string error;
};

State& st(void* s) { return *static_cast<State*>(s); }

// A descriptor as a host Tensor view; NULL → an undefined Tensor (an absent argument).
Tensor tensor(const unicorn_tensor* d) {
    if (d == nullptr) return {};
    Shape shape;
    for (int32_t i = 0; i < d->rank; ++i) shape.push_back(d->shape[i]);
    return Tensor::view(static_cast<DType>(d->dtype), shape, d->data,
                        static_cast<size_t>(d->row_stride_bytes));
}

bool bad_rank(const unicorn_tensor* d) {
    return d != nullptr && (d->rank < 0 || d->rank > UNICORN_TENSOR_MAX_RANK);
}

// Runs fn (returning a Status); no exception leaves the module.
template <typename F>
int32_t guarded(void* s, std::initializer_list<const unicorn_tensor*> tensors, F&& fn) {
    State& state = st(s);
    for (const unicorn_tensor* t : tensors) {
        if (bad_rank(t)) {
            state.error = "tensor rank outside 0…4";
            return UNICORN_PLUGIN_INVALID;
        }
    }
    try {
        const Status status = fn(state.cpu);
        if (status.ok()) return UNICORN_PLUGIN_OK;
        state.error = status.message();
        return UNICORN_PLUGIN_ERROR;
    } catch (const std::exception& e) {
        state.error = e.what();
        return UNICORN_PLUGIN_ERROR;
    }
}

int32_t create(int32_t n_threads, void** state, char* error, size_t error_size) {
    try {
        *state = new State(n_threads);
        return UNICORN_PLUGIN_OK;
    } catch (const std::exception& e) {
        if (error_size > 0) {
            const std::string msg = e.what();
            const size_t n = std::min(msg.size(), error_size - 1);
            msg.copy(error, n);
            error[n] = 0;
        }
        return UNICORN_PLUGIN_OUT_OF_MEMORY;
    }
}

void destroy(void* state) { delete static_cast<State*>(state); }

const char* last_error(void* state) { return st(state).error.c_str(); }

int32_t supports(void* state, int32_t op, int32_t weight_dtype) {
#ifdef UNICORN_TEST_PLUGIN_LINEAR_ONLY
    if (op != UNICORN_OP_LINEAR) return 0;
#endif
    if (op < 0 || op >= UNICORN_OP_COUNT) return 0;
    return st(state).cpu.supports(static_cast<unicorn::OpKind>(op),
                                  static_cast<DType>(weight_dtype))
               ? 1
               : 0;
}

int32_t linear(void* s, unicorn_tensor_ref x, unicorn_tensor_ref w, unicorn_tensor_ref y) {
    return guarded(s, {x, w, y}, [&](unicorn::CpuBackend& cpu) {
        return cpu.linear(tensor(x), tensor(w), tensor(y));
    });
}

#ifndef UNICORN_TEST_PLUGIN_LINEAR_ONLY
int32_t embedding(void* s, unicorn_tensor_ref table, const int32_t* ids, int64_t n_ids,
                  const unicorn_embedding_params* p, unicorn_tensor_ref out) {
    return guarded(s, {table, out}, [&](unicorn::CpuBackend& cpu) {
        unicorn::ops::EmbeddingParams cp;
        cp.scale = p->scale;
        return cpu.embedding(tensor(table), {ids, static_cast<size_t>(n_ids)}, cp, tensor(out));
    });
}

int32_t rms_norm(void* s, unicorn_tensor_ref x, unicorn_tensor_ref weight,
                 const unicorn_rms_norm_params* p, unicorn_tensor_ref out) {
    return guarded(s, {x, weight, p->residual, out}, [&](unicorn::CpuBackend& cpu) {
        const Tensor residual = tensor(p->residual);
        unicorn::ops::RmsNormParams cp;
        cp.eps = p->eps;
        cp.residual = p->residual != nullptr ? &residual : nullptr;
        return cpu.rms_norm(tensor(x), tensor(weight), cp, tensor(out));
    });
}

int32_t rope(void* s, unicorn_tensor_ref x, const int32_t* positions, int64_t n_positions,
             const unicorn_rope_params* p) {
    return guarded(s, {x}, [&](unicorn::CpuBackend& cpu) {
        unicorn::ops::RopeParams cp;
        cp.n_heads = p->n_heads;
        cp.head_dim = p->head_dim;
        cp.rot_dim = p->rot_dim;
        cp.mode = static_cast<unicorn::ops::RopeMode>(p->mode);
        cp.inv_freq = p->inv_freq;
        return cpu.rope(tensor(x), {positions, static_cast<size_t>(n_positions)}, cp);
    });
}

int32_t attention(void* s, unicorn_tensor_ref q, const int32_t* q_pos, int64_t n_q_pos,
                  unicorn_tensor_ref k, unicorn_tensor_ref v, const int32_t* k_pos, int64_t n_k_pos,
                  const unicorn_attention_params* p, unicorn_tensor_ref out) {
    return guarded(s, {q, k, v, out}, [&](unicorn::CpuBackend& cpu) {
        unicorn::ops::AttentionParams cp;
        cp.n_heads = p->n_heads;
        cp.n_kv_heads = p->n_kv_heads;
        cp.head_dim = p->head_dim;
        cp.scale = p->scale;
        cp.window = p->window;
        cp.softcap = p->softcap;
        return cpu.attention(tensor(q), {q_pos, static_cast<size_t>(n_q_pos)}, tensor(k), tensor(v),
                             {k_pos, static_cast<size_t>(n_k_pos)}, cp, tensor(out));
    });
}

int32_t gelu_tanh_mul(void* s, unicorn_tensor_ref g, unicorn_tensor_ref u, unicorn_tensor_ref out) {
    return guarded(s, {g, u, out}, [&](unicorn::CpuBackend& cpu) {
        return cpu.gelu_tanh_mul(tensor(g), tensor(u), tensor(out));
    });
}

int32_t silu_mul(void* s, unicorn_tensor_ref g, unicorn_tensor_ref u, unicorn_tensor_ref out) {
    return guarded(s, {g, u, out}, [&](unicorn::CpuBackend& cpu) {
        return cpu.silu_mul(tensor(g), tensor(u), tensor(out));
    });
}

int32_t add(void* s, unicorn_tensor_ref a, unicorn_tensor_ref b, unicorn_tensor_ref out) {
    return guarded(s, {a, b, out}, [&](unicorn::CpuBackend& cpu) {
        return cpu.add(tensor(a), tensor(b), tensor(out));
    });
}

int32_t softcap(void* s, unicorn_tensor_ref x, float cap, unicorn_tensor_ref out) {
    return guarded(s, {x, out}, [&](unicorn::CpuBackend& cpu) {
        return cpu.softcap(tensor(x), cap, tensor(out));
    });
}

int32_t mul(void* s, unicorn_tensor_ref a, unicorn_tensor_ref b, unicorn_tensor_ref out) {
    return guarded(s, {a, b, out}, [&](unicorn::CpuBackend& cpu) {
        return cpu.mul(tensor(a), tensor(b), tensor(out));
    });
}

int32_t scale(void* s, unicorn_tensor_ref x, float f, unicorn_tensor_ref out) {
    return guarded(s, {x, out},
                   [&](unicorn::CpuBackend& cpu) { return cpu.scale(tensor(x), f, tensor(out)); });
}

int32_t gaussian_topk(void* s, unicorn_tensor_ref x, float z, unicorn_tensor_ref out) {
    return guarded(s, {x, out}, [&](unicorn::CpuBackend& cpu) {
        return cpu.gaussian_topk(tensor(x), z, tensor(out));
    });
}

int32_t match_magnitude(void* s, unicorn_tensor_ref x, unicorn_tensor_ref target, float floor,
                        unicorn_tensor_ref out) {
    return guarded(s, {x, target, out}, [&](unicorn::CpuBackend& cpu) {
        return cpu.match_magnitude(tensor(x), tensor(target), floor, tensor(out));
    });
}

int32_t altup_predict(void* s, unicorn_tensor_ref streams, unicorn_tensor_ref coefs,
                      int32_t n_streams, unicorn_tensor_ref out) {
    return guarded(s, {streams, coefs, out}, [&](unicorn::CpuBackend& cpu) {
        return cpu.altup_predict(tensor(streams), tensor(coefs), n_streams, tensor(out));
    });
}

int32_t altup_correct(void* s, unicorn_tensor_ref pred, unicorn_tensor_ref actual,
                      unicorn_tensor_ref coefs, int32_t n_streams, unicorn_tensor_ref out) {
    return guarded(s, {pred, actual, coefs, out}, [&](unicorn::CpuBackend& cpu) {
        return cpu.altup_correct(tensor(pred), tensor(actual), tensor(coefs), n_streams,
                                 tensor(out));
    });
}
#endif

unicorn_plugin_v1 make_table() {
    unicorn_plugin_v1 t{};
    t.abi_version = UNICORN_PLUGIN_ABI_VERSION;
#ifdef UNICORN_TEST_PLUGIN_LINEAR_ONLY
    t.name = "test_cpu_linear";
    t.description = "test plugin: the CPU backend's linear only";
#else
    t.name = "test_cpu";
    t.description = "test plugin: the CPU backend through the C ABI";
#endif
    t.create = create;
    t.destroy = destroy;
    t.last_error = last_error;
    t.supports = supports;
    t.linear = linear;
#ifndef UNICORN_TEST_PLUGIN_LINEAR_ONLY
    t.embedding = embedding;
    t.rms_norm = rms_norm;
    t.rope = rope;
    t.attention = attention;
    t.gelu_tanh_mul = gelu_tanh_mul;
    t.silu_mul = silu_mul;
    t.add = add;
    t.softcap = softcap;
    t.mul = mul;
    t.scale = scale;
    t.gaussian_topk = gaussian_topk;
    t.match_magnitude = match_magnitude;
    t.altup_predict = altup_predict;
    t.altup_correct = altup_correct;
    // altup_coefs stays NULL: the CPU backend has no fused version either.
#endif
    return t;
}

}  // namespace

extern "C" UNICORN_PLUGIN_EXPORT const unicorn_plugin_v1* unicorn_backend_plugin(
    uint32_t host_abi_version) {
    static const unicorn_plugin_v1 table = make_table();
    return host_abi_version == UNICORN_PLUGIN_ABI_VERSION ? &table : nullptr;
}
