#version 450
// Gemma 3n's AltUp mixing over A streams of T tokens (stream i, token t is row i·T + t):
//   0 predict: out[i,t] = S[i,t] + Σ_j C[t][i·A + j] · S[j,t]
//   1 correct: out[i,t] = S[i,t] + (C[t][i] + 1) · (act[t] − S[0,t])   (S = the predictions)
// x: columns, y: output rows. out must not alias S (other streams are read).
#include "common.glsl"
layout(local_size_x = WG) in;
layout(constant_id = 0) const uint OP = 0;
layout(std430, binding = 0) readonly buffer SBuf { float S[]; };
layout(std430, binding = 1) readonly buffer CBuf { float C[]; };
layout(std430, binding = 2) readonly buffer ABuf { float ACT[]; };
layout(std430, binding = 3) writeonly buffer OBuf { float O[]; };
layout(push_constant) uniform P {
    uint a, t_len, cols, s_off, s_stride, c_off, c_stride, act_off, act_stride, o_off, o_stride;
} p;

void main() {
    const uint k = gl_GlobalInvocationID.x, row = gl_WorkGroupID.y;
    if (k >= p.cols) return;
    const uint i = row / p.t_len, t = row % p.t_len;
    const uint cb = p.c_off + t * p.c_stride;
    float y = S[p.s_off + row * p.s_stride + k];
    if (OP == 0u) {
        for (uint j = 0u; j < p.a; ++j)
            y += C[cb + i * p.a + j] * S[p.s_off + (j * p.t_len + t) * p.s_stride + k];
    } else {
        const float innovation = ACT[p.act_off + t * p.act_stride + k] - S[p.s_off + t * p.s_stride + k];
        y += (C[cb + i] + 1.0) * innovation;
    }
    O[p.o_off + row * p.o_stride + k] = y;
}
