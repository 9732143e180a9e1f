#version 450
#extension GL_EXT_control_flow_attributes : enable
// y[t][row] = Σ_i W[row][i] · x[t][i] for many tokens (prefill): each workgroup computes a
// BM-row × BN-token tile, stepping through K one 32-element chunk (one quant block) at a time.
// The chunk's weights are dequantized once into shared memory and reused by all BN tokens
// (linear.comp reuses them for 4), the activations once and reused by all BM rows. fp32.
#include "common.glsl"
layout(local_size_x = WG) in;
layout(constant_id = 0) const uint TYPE = 0;  // vulkan::type_code()
layout(std430, binding = 0) readonly buffer WBuf { uint W[]; };
layout(std430, binding = 1) readonly buffer XBuf { float X[]; };
layout(std430, binding = 2) writeonly buffer YBuf { float Y[]; };
// linear.comp's push constants, same units.
layout(push_constant) uniform P {
    uint n, k, w_off, w_stride;
    uint x_off, x_stride, t;
    uint y_off, y_stride;
} p;
#include "dequant.glsl"

// 64 invocations × (8 rows × 4 tokens) = 64 × 32. The host's kTiledRows/kTiledTokens match.
#define BM 64
#define BN 32
#define BK 32
#define TM 8
#define TN 4
#if WG != (BM / TM) * (BN / TN)
#error one register block per invocation
#endif
// Tiles are stored k-major so the inner loop reads a column of rows and a column of tokens;
// the +1 padding makes both the cooperative stores and those reads free of bank conflicts.
// (32 × 65 + 32 × 33) floats = 12.25 KiB, under the 16 KiB every Vulkan device has.
#define WS (BM + 1)
#define XS (BN + 1)
shared float ws[BK * WS];
shared float xs[BK * XS];

void main() {
    const uint tid = gl_LocalInvocationID.x;
    const uint m0 = gl_WorkGroupID.x * BM, t0 = gl_WorkGroupID.y * BN;
    const uint rm = tid / (BN / TN), tn = tid % (BN / TN);  // this invocation's register block
    vec4 acc[TM];  // acc[i][j]: row m0 + TM·rm + i, token t0 + TN·tn + j
    [[unroll]] for (uint i = 0u; i < TM; ++i) acc[i] = vec4(0.0);

    for (uint k0 = 0u; k0 < p.k; k0 += BK) {
        // Weights: rows past n and (float types only) columns past K load as zeros, so the
        // accumulation below needs no bounds checks. The load loops are left to the driver to
        // unroll: dequant4 holds every type's branch until specialization, and copies of it
        // would multiply the SPIR-V.
        if (TYPE <= T_BF16) {
            // Adjacent invocations take adjacent columns of one row: contiguous reads.
            const uint kk = tid % BK;
            for (uint j = 0u; j < BM * BK / WG; ++j) {
                const uint r = tid / BK + j * (WG / BK);
                float v = 0.0;
                if (m0 + r < p.n && k0 + kk < p.k)
                    v = load_float(p.w_off + (m0 + r) * p.w_stride, k0 + kk);
                ws[kk * WS + r] = v;
            }
        } else {
            // Eight invocations per row, four elements each: one 32-element chunk.
            const uint g = tid % 8u;
            for (uint j = 0u; j < BM * 8u / WG; ++j) {
                const uint r = tid / 8u + j * (WG / 8u);
                vec4 v = vec4(0.0);
                if (m0 + r < p.n) v = dequant4(p.w_off + (m0 + r) * p.w_stride, k0 / BK, g);
                [[unroll]] for (uint e = 0u; e < 4u; ++e) ws[(4u * g + e) * WS + r] = v[e];
            }
        }
        // Activations: tokens past T and columns past K as zeros.
        {
            const uint kk = tid % BK;
            [[unroll]] for (uint j = 0u; j < BN * BK / WG; ++j) {
                const uint c = tid / BK + j * (WG / BK);
                float v = 0.0;
                if (t0 + c < p.t && k0 + kk < p.k) v = X[p.x_off + (t0 + c) * p.x_stride + k0 + kk];
                xs[kk * XS + c] = v;
            }
        }
        barrier();
        // Not force-unrolled: on lavapipe that ran prefill ~1.4× slower; GPU compilers unroll
        // by their own measure.
        for (uint kk = 0u; kk < BK; ++kk) {
            const uint xb = kk * XS + TN * tn;
            const vec4 x = vec4(xs[xb], xs[xb + 1u], xs[xb + 2u], xs[xb + 3u]);
            [[unroll]] for (uint i = 0u; i < TM; ++i) acc[i] += ws[kk * WS + TM * rm + i] * x;
        }
        barrier();
    }

    [[unroll]] for (uint j = 0u; j < TN; ++j) {
        const uint t = t0 + TN * tn + j;
        if (t >= p.t) break;
        [[unroll]] for (uint i = 0u; i < TM; ++i) {
            const uint row = m0 + TM * rm + i;
            if (row < p.n) Y[p.y_off + t * p.y_stride + row] = acc[i][j];
        }
    }
}
