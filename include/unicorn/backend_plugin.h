/*
 * Unicorn backend plugins: a versioned C ABI for backends that live in a shared library loaded
 * at run time (the route for an NPU backend such as AMD XDNA). Pure C; usable from C and C++.
 *
 * Writing a plugin
 * ----------------
 * 1. Include this header (and nothing else of Unicorn's: this file is the whole contract).
 * 2. Fill one `struct unicorn_plugin_v1` with your name, create/destroy/last_error, supports()
 *    and a function pointer per op you run (NULL for the rest: the engine runs those on its
 *    CPU backend, op by op, so a plugin may start with `linear` alone).
 * 3. Export the entry point, e.g.
 *        UNICORN_PLUGIN_EXPORT const struct unicorn_plugin_v1* unicorn_backend_plugin(
 *            uint32_t host_abi_version) { return &my_plugin; }
 *    It may return NULL when it cannot serve `host_abi_version` (the engine then says so).
 * 4. Build a shared object: `cc -shared -fPIC -fvisibility=hidden my_plugin.c -o libmy.so`
 *    (C++ is fine too; no exception may cross these functions).
 * 5. Run with `UNICORN_BACKEND_PATH=/dir/with/plugins:/or/libmy.so` (colon-separated files
 *    and directories; a directory contributes its `*.so` files). `unicorn devices` lists the
 *    plugin as `plugin:NAME`; `--device plugin:NAME` runs models on it. `--device
 *    plugin:/path/libmy.so` loads one file directly.
 *
 * Rules (version 1)
 * -----------------
 * - Memory: every tensor is in host memory, readable and writable by the CPU, owned by the
 *   engine and valid only during the call. Device memory (buffers the plugin owns) is a
 *   matter for version 2.
 * - Layout: `shape` is outermost first (PyTorch order, `[T, D]`); the innermost dimension is
 *   contiguous; consecutive rows (all outer dimensions flattened) are `row_stride_bytes`
 *   apart, which may exceed the row's own bytes (a strided view). Quantized types are stored
 *   in the GGUF block layouts, rows contiguous in blocks.
 * - Arguments arrive validated (shapes and dtypes consistent); a plugin reports only its own
 *   failures. An output may be the same memory as an input of the same shape (an in-place
 *   update); rope always works in place.
 * - Calls on one instance come from one thread at a time; a plugin may use threads inside.
 * - A function returns UNICORN_PLUGIN_OK or an error code; after an error, last_error()
 *   returns a message valid until the next call on that instance.
 * - Linear computes y = x·Wᵀ with W `[out, in]`; see each op's comment for its contract.
 *
 * Changing anything below (a field, an enum value, a signature) requires a new ABI version.
 */
#ifndef UNICORN_BACKEND_PLUGIN_H
#define UNICORN_BACKEND_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define UNICORN_PLUGIN_ABI_VERSION 1
/* The symbol the engine looks up (a function of type unicorn_backend_plugin_fn). */
#define UNICORN_PLUGIN_ENTRY_SYMBOL "unicorn_backend_plugin"

#if defined(_WIN32)
#define UNICORN_PLUGIN_EXPORT __declspec(dllexport)
#else
#define UNICORN_PLUGIN_EXPORT __attribute__((visibility("default")))
#endif

/* Element types; the numbers are GGUF's (ggml_type). */
enum unicorn_dtype {
    UNICORN_DTYPE_F32 = 0,
    UNICORN_DTYPE_F16 = 1,
    UNICORN_DTYPE_Q4_0 = 2,
    UNICORN_DTYPE_Q4_1 = 3,
    UNICORN_DTYPE_Q5_0 = 6,
    UNICORN_DTYPE_Q5_1 = 7,
    UNICORN_DTYPE_Q8_0 = 8,
    UNICORN_DTYPE_Q8_1 = 9,
    UNICORN_DTYPE_Q2_K = 10,
    UNICORN_DTYPE_Q3_K = 11,
    UNICORN_DTYPE_Q4_K = 12,
    UNICORN_DTYPE_Q5_K = 13,
    UNICORN_DTYPE_Q6_K = 14,
    UNICORN_DTYPE_Q8_K = 15,
    UNICORN_DTYPE_I8 = 24,
    UNICORN_DTYPE_I16 = 25,
    UNICORN_DTYPE_I32 = 26,
    UNICORN_DTYPE_I64 = 27,
    UNICORN_DTYPE_F64 = 28,
    UNICORN_DTYPE_BF16 = 30
};

/* Operations (supports() is asked with these). */
enum unicorn_op {
    UNICORN_OP_EMBEDDING = 0,
    UNICORN_OP_LINEAR = 1,
    UNICORN_OP_RMS_NORM = 2,
    UNICORN_OP_ROPE = 3,
    UNICORN_OP_ATTENTION = 4,
    UNICORN_OP_GELU_TANH_MUL = 5,
    UNICORN_OP_SILU_MUL = 6,
    UNICORN_OP_ADD = 7,
    UNICORN_OP_SOFTCAP = 8,
    UNICORN_OP_MUL = 9,
    UNICORN_OP_SCALE = 10,
    UNICORN_OP_GAUSSIAN_TOPK = 11,
    UNICORN_OP_MATCH_MAGNITUDE = 12,
    UNICORN_OP_ALTUP_PREDICT = 13,
    UNICORN_OP_ALTUP_CORRECT = 14,
    UNICORN_OP_ALTUP_COEFS = 15,
    UNICORN_OP_COUNT = 16
};

/* Return codes. */
enum unicorn_plugin_status {
    UNICORN_PLUGIN_OK = 0,
    UNICORN_PLUGIN_ERROR = 1,         /* the device failed; the step fails with last_error() */
    UNICORN_PLUGIN_UNSUPPORTED = 2,   /* this call's arguments are outside what it runs */
    UNICORN_PLUGIN_OUT_OF_MEMORY = 3, /* an allocation failed */
    UNICORN_PLUGIN_INVALID = 4        /* bad arguments (a plugin bug or an engine bug) */
};

#define UNICORN_TENSOR_MAX_RANK 4

/* A view of host memory (see "Layout" above). */
struct unicorn_tensor {
    int32_t dtype; /* enum unicorn_dtype */
    int32_t rank;  /* 0 … UNICORN_TENSOR_MAX_RANK (0: a scalar) */
    int64_t shape[UNICORN_TENSOR_MAX_RANK];
    int64_t row_stride_bytes; /* bytes between consecutive rows */
    void* data;               /* NULL only when the tensor has no elements */
};

struct unicorn_embedding_params {
    float scale; /* multiplies every looked-up row (Gemma: sqrt(d_model); Llama: 1) */
};

struct unicorn_rms_norm_params {
    float eps;
    /* NULL, or F32 [rows, D] added to the normalised output (a fused residual add). */
    const struct unicorn_tensor* residual;
};

enum unicorn_rope_mode {
    UNICORN_ROPE_NORMAL = 0, /* rotate pairs (2i, 2i+1) */
    UNICORN_ROPE_NEOX = 1    /* rotate pairs (i, i + rot_dim/2) */
};

struct unicorn_rope_params {
    int32_t n_heads;
    int32_t head_dim;
    int32_t rot_dim;       /* leading dims of each head that rotate (<= head_dim) */
    int32_t mode;          /* enum unicorn_rope_mode */
    const float* inv_freq; /* [rot_dim/2], frequency scaling already applied */
};

struct unicorn_attention_params {
    int32_t n_heads;
    int32_t n_kv_heads; /* query head h uses KV head h / (n_heads / n_kv_heads) */
    int32_t head_dim;
    float scale;    /* multiplies q·k */
    int32_t window; /* 0: global; else key visible iff q_pos - k_pos < window */
    float softcap;  /* 0: none; else scores = c·tanh(scores/c) before the mask */
};

/* Shorthand for the tensor arguments below. */
typedef const struct unicorn_tensor* unicorn_tensor_ref;

struct unicorn_plugin_v1 {
    /* Always the first member, in every version: UNICORN_PLUGIN_ABI_VERSION of the header the
     * plugin was built with. */
    uint32_t abi_version;
    /* Short name, [A-Za-z0-9_.-]+; the device is called "plugin:<name>". */
    const char* name;
    /* One line for `unicorn devices` (may be NULL). */
    const char* description;

    /* Makes an instance. n_threads: the engine's thread count (a hint). On failure returns an
     * error code and writes a NUL-terminated message into error[0 … error_size-1]. */
    int32_t (*create)(int32_t n_threads, void** state, char* error, size_t error_size);
    void (*destroy)(void* state);
    /* The message of the instance's last failed call. */
    const char* (*last_error)(void* state);
    /* Nonzero when the instance runs `op` (enum unicorn_op) with weights of `weight_dtype`
     * (F32 for ops without a weight). NULL: every op whose pointer below is set, any dtype. */
    int32_t (*supports)(void* state, int32_t op, int32_t weight_dtype);

    /* The ops; NULL = unsupported (the engine runs it on its CPU backend). Shapes as in the
     * engine's ops/ headers: x [T, D] activations, out preallocated by the engine. */

    /* out[i] = table[ids[i]] · scale; table any dtype [V, D], out F32 [n_ids, D]. */
    int32_t (*embedding)(void* state, unicorn_tensor_ref table, const int32_t* ids, int64_t n_ids,
                         const struct unicorn_embedding_params* p, unicorn_tensor_ref out);
    /* y = x·Wᵀ; x F32 [T, in], w any dtype [out, in], y F32 [T, out]. */
    int32_t (*linear)(void* state, unicorn_tensor_ref x, unicorn_tensor_ref w,
                      unicorn_tensor_ref y);
    /* out = x / sqrt(mean(x²) + eps) ⊙ weight (+ residual); weight NULL: no scale. */
    int32_t (*rms_norm)(void* state, unicorn_tensor_ref x, unicorn_tensor_ref weight,
                        const struct unicorn_rms_norm_params* p, unicorn_tensor_ref out);
    /* In place on x F32 [T, n_heads·head_dim]; positions[T]. */
    int32_t (*rope)(void* state, unicorn_tensor_ref x, const int32_t* positions,
                    int64_t n_positions, const struct unicorn_rope_params* p);
    /* Causal GQA attention of q [Tq, H·Dh] over k, v [Tk, Hkv·Dh]; out [Tq, H·Dh]. */
    int32_t (*attention)(void* state, unicorn_tensor_ref q, const int32_t* q_pos, int64_t n_q_pos,
                         unicorn_tensor_ref k, unicorn_tensor_ref v, const int32_t* k_pos,
                         int64_t n_k_pos, const struct unicorn_attention_params* p,
                         unicorn_tensor_ref out);
    /* out = gelu_tanh(g) ⊙ u */
    int32_t (*gelu_tanh_mul)(void* state, unicorn_tensor_ref g, unicorn_tensor_ref u,
                             unicorn_tensor_ref out);
    /* out = silu(g) ⊙ u */
    int32_t (*silu_mul)(void* state, unicorn_tensor_ref g, unicorn_tensor_ref u,
                        unicorn_tensor_ref out);
    /* out = a + b (same shape) */
    int32_t (*add)(void* state, unicorn_tensor_ref a, unicorn_tensor_ref b, unicorn_tensor_ref out);
    /* out = cap·tanh(x/cap) */
    int32_t (*softcap)(void* state, unicorn_tensor_ref x, float cap, unicorn_tensor_ref out);
    /* out = a ⊙ b; b same shape as a or one row broadcast over a's rows */
    int32_t (*mul)(void* state, unicorn_tensor_ref a, unicorn_tensor_ref b, unicorn_tensor_ref out);
    /* out = x·s */
    int32_t (*scale)(void* state, unicorn_tensor_ref x, float s, unicorn_tensor_ref out);
    /* out = max(0, x − (mean + z·std)) per row */
    int32_t (*gaussian_topk)(void* state, unicorn_tensor_ref x, float z, unicorn_tensor_ref out);
    /* out = x rescaled to the RMS of target, per row (RMS of x floored at `floor`) */
    int32_t (*match_magnitude)(void* state, unicorn_tensor_ref x, unicorn_tensor_ref target,
                               float floor, unicorn_tensor_ref out);
    /* AltUp: streams F32 [A·T, D] mixed by coefs F32 [T, A·A]; out [A·T, D]. */
    int32_t (*altup_predict)(void* state, unicorn_tensor_ref streams, unicorn_tensor_ref coefs,
                             int32_t n_streams, unicorn_tensor_ref out);
    /* AltUp: pred [A·T, D] corrected by actual [T, D] with coefs [T, A]; out [A·T, D]. */
    int32_t (*altup_correct)(void* state, unicorn_tensor_ref pred, unicorn_tensor_ref actual,
                             unicorn_tensor_ref coefs, int32_t n_streams, unicorn_tensor_ref out);
    /* Fused: out = tanh(RMSNorm(x; norm_w, eps)·router_wᵀ)·coef_wᵀ; out F32 [T, J]. */
    int32_t (*altup_coefs)(void* state, unicorn_tensor_ref x, unicorn_tensor_ref norm_w,
                           unicorn_tensor_ref router_w, unicorn_tensor_ref coef_w, float eps,
                           unicorn_tensor_ref out);
};

/* The entry point's type: returns the plugin's table (static storage), or NULL. */
typedef const struct unicorn_plugin_v1* (*unicorn_backend_plugin_fn)(uint32_t host_abi_version);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* UNICORN_BACKEND_PLUGIN_H */
