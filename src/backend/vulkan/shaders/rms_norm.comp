#version 450
// out = x / sqrt(mean(x²) + eps) · w (+ residual): one workgroup per row. Each invocation
// reads and writes the same columns, so out may alias x or the residual.
#include "common.glsl"
layout(local_size_x = WG) in;
layout(std430, binding = 0) readonly buffer XBuf { float X[]; };
layout(std430, binding = 1) readonly buffer WBuf { float Wt[]; };
layout(std430, binding = 2) readonly buffer RBuf { float R[]; };
layout(std430, binding = 3) buffer OBuf { float O[]; };
layout(push_constant) uniform P {
    uint cols, x_off, x_stride, w_off, has_w, r_off, r_stride, has_r, o_off, o_stride;
    float eps;
} p;
shared float red[WG];

void main() {
    const uint r = gl_WorkGroupID.x, tid = gl_LocalInvocationID.x;
    const uint xb = p.x_off + r * p.x_stride;
    float ss = 0.0;
    for (uint j = tid; j < p.cols; j += WG) ss += X[xb + j] * X[xb + j];
    red[tid] = ss;
    barrier();
    for (uint h = WG / 2u; h > 0u; h >>= 1u) {
        if (tid < h) red[tid] += red[tid + h];
        barrier();
    }
    const float inv = 1.0 / sqrt(red[0] / float(p.cols) + p.eps);
    for (uint j = tid; j < p.cols; j += WG) {
        float y = X[xb + j] * inv;
        if (p.has_w != 0u) y *= Wt[p.w_off + j];
        if (p.has_r != 0u) y += R[p.r_off + r * p.r_stride + j];
        O[p.o_off + r * p.o_stride + j] = y;
    }
}
