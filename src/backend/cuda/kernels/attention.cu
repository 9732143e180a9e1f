// Causal GQA attention, one block of 8 warps per (query row t, head h). Each warp runs its own
// online softmax over a share of the S keys (chunks of kKeys adjacent keys, chunk c to warp
// c mod 8), so nothing S-sized is kept and warps never wait on each other; the block then merges
// the 8 partial results (flash-decoding's combine, within the block). Per chunk:
//   • a masked key (k_pos > q_pos, or q_pos − k_pos ≥ window when window > 0) scores −inf and is
//     never loaded; a visible one scores (q·k)·scale, then softcap·tanh(score/softcap) when
//     softcap > 0 (the cap before the mask, as ops/ref). Lane l holds dims l, l + 32, … of q in
//     registers and of each key; a warp reduction gives the dot. All the chunk's K loads are
//     issued before any is used (the loop is unrolled), as are its V loads: one warp keeps
//     kKeys·kDims loads per lane in flight, which is what bounds a block's bandwidth.
//   • the warp's running max m rises to the chunk's; its running sum l and accumulator (lane l:
//     dims l + 32i) are rescaled by exp(m_old − m_new) and the weights exp(score − m_new) added.
// Merge: M = max over warps, out = Σ_w e^(m_w−M)·acc_w / Σ_w e^(m_w−M)·l_w; a query with no
// visible key (M = −inf) gets zeros.
// Split-K (flash-decoding): a decode step has a handful of (query, head) pairs, too few blocks
// for the GPU, so the keys are cut into `splits` ranges of split_len, one block each (grid y);
// each writes its merged, unnormalized accumulator with its M and L to `partials`, and a second
// kernel merges the splits the same way. The key count may come from device memory (n_keys) so
// that a decode step's launch does not change while the cache grows (StepRecorder). All fp32
// (ops/ref: double): q·k to ~1e-6 relative, outputs to ~1e-5 at worst. Query head h reads KV head h
// / (n_heads / n_kv_heads); keys in any order.
#include <algorithm>
#include <string>

#include "backend/cuda/cuda_status.h"
#include "backend/cuda/kernels/kernels.h"
#include "backend/cuda/kernels/launch.cuh"

namespace unicorn::cuda {
namespace {

constexpr int kWarps = 8, kThreads = 32 * kWarps;
constexpr int kMaxHeadDim = 1024;

struct Args {
    ConstView q, k, v;
    const int32_t* q_pos;
    const int32_t* k_pos;
    int n_heads, group, head_dim;
    float scale, softcap;
    int window;
    View out;
    const int32_t* n_keys;  // null: k.rows
    int64_t split_len;      // keys per block (grid y)
    float* partials;        // null: one split, write out directly
};

// Where split `sp` of (t, h) keeps head_dim accumulators, then M and L.
__device__ inline float* partial_at(const Args& a, int64_t t, int h, int sp) {
    const int64_t row = (t * a.n_heads + h) * gridDim.y + sp;
    return a.partials + row * (a.head_dim + 2);
}

// kDims: dims per lane (head_dim ≤ 32·kDims); kKeys: keys per chunk (kKeys·kDims registers of
// loads in flight per lane, per phase).
template <int kDims, int kKeys>
__global__ void __launch_bounds__(kThreads) attention_kernel(Args a) {
    wait_for_inputs();
    extern __shared__ float acc_s[];  // [kWarps][head_dim]: the warps' partial accumulators
    __shared__ float m_s[kWarps], l_s[kWarps];
    const int lane = threadIdx.x & 31, warp = threadIdx.x / 32;
    const int64_t t = blockIdx.x / a.n_heads;
    const int h = blockIdx.x % a.n_heads, hd = a.head_dim;
    const int64_t kv_off = static_cast<int64_t>(h / a.group) * hd;
    const int32_t qp = a.q_pos[t];
    const int64_t s_all = a.n_keys != nullptr ? *a.n_keys : a.k.rows;
    const int64_t s_begin = static_cast<int64_t>(blockIdx.y) * a.split_len;
    const int64_t s_len = min(s_all, s_begin + a.split_len);

    const float* qrow = a.q.data + t * a.q.stride + static_cast<int64_t>(h) * hd;
    float q[kDims], acc[kDims];
#pragma unroll
    for (int i = 0; i < kDims; ++i) {
        const int d = lane + 32 * i;
        q[i] = d < hd ? qrow[d] : 0.0f;
        acc[i] = 0.0f;
    }
    float m = -INFINITY, l = 0.0f;

    for (int64_t s0 = s_begin + static_cast<int64_t>(warp) * kKeys; s0 < s_len;
         s0 += kWarps * kKeys) {
        bool vis[kKeys];
        bool any = false;
#pragma unroll
        for (int u = 0; u < kKeys; ++u) {
            vis[u] = false;
            if (s0 + u < s_len) {
                const int32_t kp = a.k_pos[s0 + u];
                vis[u] = kp <= qp && (a.window == 0 || qp - kp < a.window);
            }
            any |= vis[u];
        }
        if (!any) continue;  // uniform over the warp
        // Scores (masked: −inf).
        float x[kKeys][kDims];
#pragma unroll
        for (int u = 0; u < kKeys; ++u) {
            const float* krow = a.k.data + (s0 + u) * a.k.stride + kv_off;
#pragma unroll
            for (int i = 0; i < kDims; ++i) {
                const int d = lane + 32 * i;
                x[u][i] = vis[u] && d < hd ? krow[d] : 0.0f;
            }
        }
        float sc[kKeys];
        float chunk_max = -INFINITY;
#pragma unroll
        for (int u = 0; u < kKeys; ++u) {
            float dot = 0.0f;
#pragma unroll
            for (int i = 0; i < kDims; ++i) dot += q[i] * x[u][i];
#pragma unroll
            for (int o = 16; o > 0; o >>= 1) dot += __shfl_xor_sync(0xffffffffu, dot, o);
            sc[u] = dot * a.scale;
            if (a.softcap > 0.0f) sc[u] = a.softcap * tanhf(sc[u] / a.softcap);
            if (!vis[u]) sc[u] = -INFINITY;
            chunk_max = fmaxf(chunk_max, sc[u]);
        }
        // Rescale to the new max (m = −inf before the first visible key: alpha = 0) and add
        // the chunk's weighted values.
        const float m_new = fmaxf(m, chunk_max);
        const float alpha = expf(m - m_new);
        float p[kKeys];
        l *= alpha;
#pragma unroll
        for (int u = 0; u < kKeys; ++u) {
            p[u] = vis[u] ? expf(sc[u] - m_new) : 0.0f;
            l += p[u];
        }
        m = m_new;
#pragma unroll
        for (int u = 0; u < kKeys; ++u) {
            const float* vrow = a.v.data + (s0 + u) * a.v.stride + kv_off;
#pragma unroll
            for (int i = 0; i < kDims; ++i) {
                const int d = lane + 32 * i;
                x[u][i] = vis[u] && d < hd ? vrow[d] : 0.0f;
            }
        }
#pragma unroll
        for (int i = 0; i < kDims; ++i) {
            float sum = acc[i] * alpha;
#pragma unroll
            for (int u = 0; u < kKeys; ++u) sum += p[u] * x[u][i];
            acc[i] = sum;
        }
    }

    // Merge the warps.
#pragma unroll
    for (int i = 0; i < kDims; ++i) {
        const int d = lane + 32 * i;
        if (d < hd) acc_s[warp * hd + d] = acc[i];
    }
    if (lane == 0) m_s[warp] = m, l_s[warp] = l;
    __syncthreads();
    float big_m = -INFINITY;
#pragma unroll
    for (int w = 0; w < kWarps; ++w) big_m = fmaxf(big_m, m_s[w]);
    float f[kWarps];  // e^(m_w − M); a warp that saw no visible key has m_w = −inf: 0
    float big_l = 0.0f;
#pragma unroll
    for (int w = 0; w < kWarps; ++w) {
        f[w] = big_m == -INFINITY ? 0.0f : expf(m_s[w] - big_m);
        big_l += f[w] * l_s[w];
    }
    if (a.partials != nullptr) {
        float* part = partial_at(a, t, h, static_cast<int>(blockIdx.y));
        for (int d = threadIdx.x; d < hd; d += kThreads) {
            float o = 0.0f;
#pragma unroll
            for (int w = 0; w < kWarps; ++w) o += f[w] * acc_s[w * hd + d];
            part[d] = o;
        }
        if (threadIdx.x == 0) part[hd] = big_m, part[hd + 1] = big_l;
        return;
    }
    const float inv = big_l > 0.0f ? 1.0f / big_l : 0.0f;  // no visible key: zeros
    float* orow = a.out.data + t * a.out.stride + static_cast<int64_t>(h) * hd;
    for (int d = threadIdx.x; d < hd; d += kThreads) {
        float o = 0.0f;
#pragma unroll
        for (int w = 0; w < kWarps; ++w) o += f[w] * acc_s[w * hd + d];
        orow[d] = o * inv;
    }
}

// Merges the splits of one (t, h) per block, as the block merged its warps.
__global__ void __launch_bounds__(kThreads) combine_kernel(Args a, int splits) {
    wait_for_inputs();
    const int64_t t = blockIdx.x / a.n_heads;
    const int h = blockIdx.x % a.n_heads, hd = a.head_dim;
    const float* base = a.partials + (t * a.n_heads + h) * splits * (hd + 2);
    float big_m = -INFINITY;
    for (int sp = 0; sp < splits; ++sp) big_m = fmaxf(big_m, base[sp * (hd + 2) + hd]);
    float big_l = 0.0f;
    for (int sp = 0; sp < splits; ++sp) {
        const float* p = base + sp * (hd + 2);
        if (big_m != -INFINITY) big_l += expf(p[hd] - big_m) * p[hd + 1];
    }
    const float inv = big_l > 0.0f ? 1.0f / big_l : 0.0f;
    float* orow = a.out.data + t * a.out.stride + static_cast<int64_t>(h) * hd;
    for (int d = threadIdx.x; d < hd; d += kThreads) {
        float o = 0.0f;
        for (int sp = 0; sp < splits; ++sp) {
            const float* p = base + sp * (hd + 2);
            if (p[hd] != -INFINITY) o += expf(p[hd] - big_m) * p[d];
        }
        orow[d] = o * inv;
    }
}

template <int kDims, int kKeys>
Status launch(const Args& a, int64_t t, int splits, cudaStream_t s) {
    const size_t smem = sizeof(float) * kWarps * static_cast<size_t>(a.head_dim);  // ≤ 32 KiB
    const dim3 grid(static_cast<unsigned>(t * a.n_heads), static_cast<unsigned>(splits));
    launch_kernel(attention_kernel<kDims, kKeys>, grid, kThreads, smem, s, a);
    UNI_RETURN_IF_ERROR(last_launch("attention"));
    if (a.partials == nullptr) return ok_status();
    launch_kernel(combine_kernel, static_cast<unsigned>(t * a.n_heads), kThreads, 0, s, a, splits);
    return last_launch("attention (split combine)");
}

}  // namespace

int attention_splits(int64_t t, int n_heads, int64_t max_keys) {
    // Enough blocks to fill the GPU (~2 per SM on the largest parts), ≥ 64 keys per block.
    const int64_t blocks = std::max<int64_t>(1, t * n_heads);
    const int64_t want = std::min((max_keys + 63) / 64, (256 + blocks - 1) / blocks);
    return static_cast<int>(std::clamp<int64_t>(want, 1, 64));
}

Status attention(ConstView q, const int32_t* q_pos, ConstView k, ConstView v, const int32_t* k_pos,
                 const int32_t* n_keys, int n_heads, int n_kv_heads, int head_dim, float scale,
                 int window, float softcap, int splits, float* partials, View out, void* stream) {
    if (head_dim <= 0 || head_dim > kMaxHeadDim || n_kv_heads <= 0 || n_heads % n_kv_heads != 0)
        return invalid_argument("CUDA attention: head_dim " + std::to_string(head_dim) +
                                " (at most " + std::to_string(kMaxHeadDim) + "), heads " +
                                std::to_string(n_heads) + "/" + std::to_string(n_kv_heads));
    if (q.rows == 0 || n_heads == 0) return ok_status();
    if (splits < 1 || (splits > 1 && partials == nullptr))
        return invalid_argument("CUDA attention: " + std::to_string(splits) +
                                " splits need a partials buffer");
    const int64_t split_len = std::max<int64_t>(1, (k.rows + splits - 1) / splits);
    const Args a{
        q,     k,       v,      q_pos, k_pos,  n_heads,   n_heads / n_kv_heads,           head_dim,
        scale, softcap, window, out,   n_keys, split_len, splits > 1 ? partials : nullptr};
    const auto s = static_cast<cudaStream_t>(stream);
    // Registers: kKeys·kDims loads in flight per lane, the same for each head_dim class.
    if (head_dim <= 64) return launch<2, 8>(a, q.rows, splits, s);
    if (head_dim <= 128) return launch<4, 4>(a, q.rows, splits, s);
    if (head_dim <= 256) return launch<8, 4>(a, q.rows, splits, s);
    if (head_dim <= 512) return launch<16, 2>(a, q.rows, splits, s);
    return launch<32, 1>(a, q.rows, splits, s);
}

}  // namespace unicorn::cuda
