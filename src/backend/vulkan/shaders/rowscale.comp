#version 450
// Gemma 3n's per-row statistics ops, one workgroup per row (OP picks one):
//   0 gaussian_topk:   out = max(0, x − (mean + s·std)), std without Bessel's correction
//   1 match_magnitude: out = x · rms(target) / sqrt(max(mean(x²), s))
// Each invocation writes only the columns it read, so out may alias x.
#include "common.glsl"
layout(local_size_x = WG) in;
layout(constant_id = 0) const uint OP = 0;
layout(std430, binding = 0) readonly buffer XBuf { float X[]; };
layout(std430, binding = 1) readonly buffer TBuf { float T[]; };
layout(std430, binding = 2) buffer OBuf { float O[]; };
layout(push_constant) uniform P {
    uint cols, x_off, x_stride, t_off, t_stride, o_off, o_stride;
    float s;
} p;
shared float red[WG];

float row_sum(uint tid, float v) {
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
    const uint r = gl_WorkGroupID.x, tid = gl_LocalInvocationID.x;
    const uint xb = p.x_off + r * p.x_stride, ob = p.o_off + r * p.o_stride;
    const float n = float(p.cols);
    if (OP == 0u) {
        float s = 0.0;
        for (uint j = tid; j < p.cols; j += WG) s += X[xb + j];
        const float mean = row_sum(tid, s) / n;
        float ss = 0.0;
        for (uint j = tid; j < p.cols; j += WG) ss += (X[xb + j] - mean) * (X[xb + j] - mean);
        const float cutoff = mean + p.s * sqrt(row_sum(tid, ss) / n);
        for (uint j = tid; j < p.cols; j += WG) O[ob + j] = max(0.0, X[xb + j] - cutoff);
    } else {
        const uint tb = p.t_off + r * p.t_stride;
        float sx = 0.0, st = 0.0;
        for (uint j = tid; j < p.cols; j += WG) {
            sx += X[xb + j] * X[xb + j];
            st += T[tb + j] * T[tb + j];
        }
        const float ms_x = row_sum(tid, sx) / n, ms_t = row_sum(tid, st) / n;
        const float factor = sqrt(ms_t) / sqrt(max(ms_x, p.s));
        for (uint j = tid; j < p.cols; j += WG) O[ob + j] = X[xb + j] * factor;
    }
}
