#version 450
// Rotary embedding in place. The host computes cos/sin of each (token, frequency) angle in
// double (GPU sin/cos are too coarse at large angles) and stages them as pairs in CS.
// x: (head, pair) index, y: token.
#include "common.glsl"
layout(local_size_x = WG) in;
layout(std430, binding = 0) buffer XBuf { float X[]; };
layout(std430, binding = 1) readonly buffer CBuf { float CS[]; };
layout(push_constant) uniform P {
    uint x_off, x_stride, n_heads, head_dim, half_rot, neox, cs_off;
} p;

void main() {
    const uint g = gl_GlobalInvocationID.x, t = gl_WorkGroupID.y;
    if (g >= p.n_heads * p.half_rot) return;
    const uint h = g / p.half_rot, i = g % p.half_rot;
    const uint base = p.x_off + t * p.x_stride + h * p.head_dim;
    const uint a = base + (p.neox != 0u ? i : 2u * i);
    const uint b = base + (p.neox != 0u ? i + p.half_rot : 2u * i + 1u);
    const uint cs = p.cs_off + 2u * (t * p.half_rot + i);
    const float c = CS[cs], s = CS[cs + 1u];
    const float x0 = X[a], x1 = X[b];
    X[a] = x0 * c - x1 * s;
    X[b] = x1 * c + x0 * s;
}
