#version 450
// The elementwise ops over [rows, cols] strided views; OP picks one. B's row is r % b_rows
// (add: b repeating every b_rows rows; mul: b_rows = 1 broadcasts one row). x: columns,
// y: rows (strided by the grid when there are more rows than workgroups in y).
#include "common.glsl"
layout(local_size_x = WG) in;
layout(constant_id = 0) const uint OP = 0;
#define OP_GELU_TANH_MUL 0
#define OP_SILU_MUL 1
#define OP_ADD 2
#define OP_SOFTCAP 3
#define OP_MUL 4
#define OP_SCALE 5
layout(std430, binding = 0) readonly buffer ABuf { float A[]; };
layout(std430, binding = 1) readonly buffer BBuf { float B[]; };
layout(std430, binding = 2) writeonly buffer OBuf { float O[]; };
layout(push_constant) uniform P {
    uint rows, cols, a_off, a_stride, b_off, b_stride, b_rows, o_off, o_stride;
    float s;
} p;

void main() {
    const uint c = gl_GlobalInvocationID.x;
    if (c >= p.cols) return;
    for (uint r = gl_WorkGroupID.y; r < p.rows; r += gl_NumWorkGroups.y) {
        const float a = A[p.a_off + r * p.a_stride + c];
        float y = 0.0;
        if (OP == OP_SOFTCAP) {
            y = p.s * safe_tanh(a / p.s);
        } else if (OP == OP_SCALE) {
            y = a * p.s;
        } else {
            const float b = B[p.b_off + (r % p.b_rows) * p.b_stride + c];
            if (OP == OP_GELU_TANH_MUL) {
                const float k = 0.7978845608028654;  // sqrt(2/π)
                y = 0.5 * a * (1.0 + safe_tanh(k * (a + 0.044715 * a * a * a))) * b;
            } else if (OP == OP_SILU_MUL) {
                y = a / (1.0 + exp(-a)) * b;
            } else if (OP == OP_ADD) {
                y = a + b;
            } else {
                y = a * b;
            }
        }
        O[p.o_off + r * p.o_stride + c] = y;
    }
}
