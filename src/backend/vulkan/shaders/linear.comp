#version 450
#extension GL_KHR_shader_subgroup_clustered : enable
// y[t][row] = Σ_i W[row][i] · x[t][i]: a few output rows per workgroup, weights dequantized in
// registers 32 at a time and applied to up to 4 tokens at once (each weight read once per
// 4 tokens), partial sums reduced in shared memory. fp32 throughout.
#include "common.glsl"
layout(local_size_x = WG) in;
// Bits 0-7: the weight type; bit 8: reduce with subgroup operations (the host sets it only
// where the device has clustered subgroup arithmetic of at least LANES invocations).
layout(constant_id = 0) const uint SPEC = 0;
const uint TYPE = SPEC & 0xffu;
const bool SUBGROUP = (SPEC & 0x100u) != 0u;
layout(std430, binding = 0) readonly buffer WBuf { uint W[]; };
layout(std430, binding = 1) readonly buffer XBuf { float X[]; };
layout(std430, binding = 2) writeonly buffer YBuf { float Y[]; };
layout(push_constant) uniform P {
    uint n, k, w_off, w_stride;  // weight: byte offset and row stride
    uint x_off, x_stride, t;     // activations: float offset and row stride, token count
    uint y_off, y_stride;
} p;
#include "dequant.glsl"

#define TOK 4
// ROWS output rows per workgroup, LANES invocations per row: model widths (K = 640…8192) are
// 20…256 chunks of 32, too few to keep 64 invocations busy on one row.
#define LANES 8
#define ROWS (WG / LANES)
shared float red[TOK][WG];

void main() {
    const uint tid = gl_LocalInvocationID.x;
    // A row's LANES invocations are one cluster of a subgroup on the subgroup path.
    const uint slot = SUBGROUP ? gl_SubgroupID * gl_SubgroupSize + gl_SubgroupInvocationID : tid;
    const uint lane = slot % LANES;
    const uint group = gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
    const uint row = group * ROWS + slot / LANES;
    const bool valid = row < p.n;  // invalid rows still take part in the barriers
    const uint wrow = p.w_off + row * p.w_stride;
    for (uint t0 = 0u; t0 < p.t; t0 += TOK) {
        float acc[TOK];
        for (uint j = 0u; j < TOK; ++j) acc[j] = 0.0;
        if (!valid) {
        } else if (TYPE <= T_BF16) {
            for (uint i = lane; i < p.k; i += LANES) {
                const float w = load_float(wrow, i);
                for (uint j = 0u; j < TOK; ++j)
                    if (t0 + j < p.t) acc[j] += w * X[p.x_off + (t0 + j) * p.x_stride + i];
            }
        } else {
            for (uint c = lane; c < p.k / 32u; c += LANES) {
                for (uint g = 0u; g < 8u; ++g) {
                    const vec4 w = dequant4(wrow, c, g);
                    for (uint j = 0u; j < TOK; ++j) {
                        if (t0 + j >= p.t) break;
                        const uint xb = p.x_off + (t0 + j) * p.x_stride + 32u * c + 4u * g;
                        acc[j] += dot(w, vec4(X[xb], X[xb + 1u], X[xb + 2u], X[xb + 3u]));
                    }
                }
            }
        }
        if (SUBGROUP) {
            // No barriers: every invocation of the subgroup runs this (invalid rows add zeros).
            for (uint j = 0u; j < TOK; ++j) acc[j] = subgroupClusteredAdd(acc[j], LANES);
            if (valid && lane == 0u)
                for (uint j = 0u; j < TOK; ++j)
                    if (t0 + j < p.t) Y[p.y_off + (t0 + j) * p.y_stride + row] = acc[j];
            continue;
        }
        for (uint j = 0u; j < TOK; ++j) red[j][tid] = acc[j];
        barrier();
        for (uint h = LANES / 2u; h > 0u; h >>= 1u) {
            if (lane < h)
                for (uint j = 0u; j < TOK; ++j) red[j][tid] += red[j][tid + h];
            barrier();
        }
        if (valid && lane < TOK && t0 + lane < p.t)
            Y[p.y_off + (t0 + lane) * p.y_stride + row] = red[lane][tid - lane];
        barrier();
    }
}
