#version 450
// out[i] = dequantize(table[ids[i]]) · scale: one invocation per 32-element chunk (quantized
// tables) or per element (float tables); x: chunks or elements, y: the id.
#include "common.glsl"
layout(local_size_x = WG) in;
layout(constant_id = 0) const uint TYPE = 0;
layout(std430, binding = 0) readonly buffer WBuf { uint W[]; };
layout(std430, binding = 1) readonly buffer IBuf { int ids[]; };
layout(std430, binding = 2) writeonly buffer OBuf { float O[]; };
layout(push_constant) uniform P {
    uint d, w_off, w_stride, ids_off, o_off, o_stride;
    float scale;
} p;
#include "dequant.glsl"

void main() {
    const uint i = gl_WorkGroupID.y;
    const uint x = gl_GlobalInvocationID.x;
    const uint row = p.w_off + uint(ids[p.ids_off + i]) * p.w_stride;
    const uint o = p.o_off + i * p.o_stride;
    if (TYPE <= T_BF16) {
        if (x < p.d) O[o + x] = load_float(row, x) * p.scale;
    } else if (x < p.d / 32u) {
        float v[32];
        dequant32(row, x, v);
        for (uint l = 0u; l < 32u; ++l) O[o + 32u * x + l] = v[l] * p.scale;
    }
}
