#version 450
// Causal attention with grouped KV heads, per-key positions, a sliding window and a score
// softcap: one workgroup per (query head, query row), keys in tiles of WG with an online
// softmax (running max and sum). Each invocation scores one key of the tile, then accumulates
// the output dimensions d ≡ tid (mod WG). A query that sees no key gets zeros (as ops::ref).
#include "common.glsl"
layout(local_size_x = WG) in;
#define MAX_HEAD_DIM 512
layout(std430, binding = 0) readonly buffer QBuf { float Q[]; };
layout(std430, binding = 1) readonly buffer KBuf { float K[]; };
layout(std430, binding = 2) readonly buffer VBuf { float V[]; };
layout(std430, binding = 3) writeonly buffer OBuf { float O[]; };
layout(std430, binding = 4) readonly buffer PBuf { int POS[]; };
layout(push_constant) uniform P {
    uint q_off, q_stride, k_off, k_stride, v_off, v_stride, o_off, o_stride;
    uint n_keys, group, head_dim, qpos_off, kpos_off;
    float scale, softcap;
    int window;
} p;
shared float qs[MAX_HEAD_DIM];
shared float prob[WG];
shared float red[WG];

float reduce_max(uint tid, float v) {
    red[tid] = v;
    barrier();
    for (uint h = WG / 2u; h > 0u; h >>= 1u) {
        if (tid < h) red[tid] = max(red[tid], red[tid + h]);
        barrier();
    }
    const float r = red[0];
    barrier();
    return r;
}

float reduce_sum(uint tid, float v) {
    red[tid] = v;
    barrier();
    for (uint h = WG / 2u; h > 0u; h >>= 1u) {
        if (tid < h) red[tid] += red[tid + h];
        barrier();
    }
    const float r = red[0];
    barrier();
    return r;
}

void main() {
    const uint h = gl_WorkGroupID.x, t = gl_WorkGroupID.y, tid = gl_LocalInvocationID.x;
    const uint kv = (h / p.group) * p.head_dim;
    const uint qb = p.q_off + t * p.q_stride + h * p.head_dim;
    for (uint d = tid; d < p.head_dim; d += WG) qs[d] = Q[qb + d];
    barrier();
    const int qpos = POS[p.qpos_off + t];
    const float neg_inf = -1.0 / 0.0;
    float m = neg_inf, l = 0.0;
    float acc[MAX_HEAD_DIM / WG];
    for (uint j = 0u; j < MAX_HEAD_DIM / WG; ++j) acc[j] = 0.0;
    for (uint s0 = 0u; s0 < p.n_keys; s0 += WG) {
        const uint s = s0 + tid;
        float score = neg_inf;
        if (s < p.n_keys) {
            const int kpos = POS[p.kpos_off + s];
            if (kpos <= qpos && (p.window == 0 || qpos - kpos < p.window)) {
                const uint kb = p.k_off + s * p.k_stride + kv;
                float dot = 0.0;
                for (uint d = 0u; d < p.head_dim; ++d) dot += qs[d] * K[kb + d];
                score = dot * p.scale;
                if (p.softcap > 0.0) score = p.softcap * safe_tanh(score / p.softcap);
            }
        }
        const float tile_max = reduce_max(tid, score);
        if (tile_max == neg_inf) continue;  // uniform: nothing visible in this tile
        const float new_m = max(m, tile_max);
        const float corr = m == neg_inf ? 0.0 : exp(m - new_m);
        const float e = score == neg_inf ? 0.0 : exp(score - new_m);
        prob[tid] = e;
        l = l * corr + reduce_sum(tid, e);  // reduce_sum's barriers publish prob[]
        const uint tile = min(uint(WG), p.n_keys - s0);
        for (uint j = 0u; j * WG + tid < p.head_dim; ++j) {
            const uint d = j * WG + tid;
            float a = acc[j] * corr;
            for (uint i = 0u; i < tile; ++i)
                if (prob[i] != 0.0) a += prob[i] * V[p.v_off + (s0 + i) * p.v_stride + kv + d];
            acc[j] = a;
        }
        m = new_m;
        barrier();  // prob[] is rewritten by the next tile
    }
    const uint ob = p.o_off + t * p.o_stride + h * p.head_dim;
    for (uint j = 0u; j * WG + tid < p.head_dim; ++j)
        O[ob + j * WG + tid] = l > 0.0 ? acc[j] / l : 0.0;
}
