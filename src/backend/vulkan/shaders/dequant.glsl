// Reading weights of every supported type from a `uint` storage buffer named W, at any byte
// offset (rows of 34- and 210-byte blocks are not word aligned). TYPE is the including shader's
// specialization constant; its values match vulkan::type_code() on the host.
#define T_F32 0
#define T_F16 1
#define T_BF16 2
#define T_Q8_0 3
#define T_Q4_0 4
#define T_Q4_K 5
#define T_Q5_K 6
#define T_Q6_K 7
#define T_Q4_1 8
#define T_Q5_0 9
#define T_Q5_1 10

uint wbyte(uint o) { return (W[o >> 2] >> ((o & 3u) * 8u)) & 0xffu; }
// Four bytes from any offset: one or two word loads instead of four byte extractions.
uint wword(uint o) {
    const uint s = (o & 3u) * 8u;
    if (s == 0u) return W[o >> 2];
    return (W[o >> 2] >> s) | (W[(o >> 2) + 1u] << (32u - s));
}
uint byte_of(uint w, uint e) { return (w >> (8u * e)) & 0xffu; }
uint wu16(uint o) { return wbyte(o) | (wbyte(o + 1u) << 8u); }
float whalf(uint o) { return unpackHalf2x16(wu16(o)).x; }
int wi8(uint o) { return int(wbyte(o) << 24u) >> 24; }

// Element i of a float-typed row starting at byte `row`.
float load_float(uint row, uint i) {
    if (TYPE == T_F32) return uintBitsToFloat(W[(row >> 2) + i]);
    if (TYPE == T_F16) return whalf(row + 2u * i);
    return uintBitsToFloat(wu16(row + 2u * i) << 16u);  // BF16
}

// 6-bit scale and min j of a Q4_K/Q5_K super-block whose 12 packed scale bytes start at `s`.
void scale_min_k4(uint s, uint j, out float sc, out float m) {
    if (j < 4u) {
        sc = float(wbyte(s + j) & 63u);
        m = float(wbyte(s + j + 4u) & 63u);
    } else {
        sc = float((wbyte(s + j + 4u) & 0xfu) | ((wbyte(s + j - 4u) >> 6u) << 4u));
        m = float((wbyte(s + j + 4u) >> 4u) | ((wbyte(s + j) >> 6u) << 4u));
    }
}

// Elements [32c + 4g, 32c + 4g + 4) of a quantized row starting at byte `row` (g < 8): every
// supported type keeps one scale (and min) per 32 elements or finer, so a 32-element chunk is
// the unit of work, read four elements (one or two words) at a time. Returned as a vec4 so
// callers keep values in registers (local arrays become memory on some drivers, lavapipe's).
vec4 dequant4(uint row, uint c, uint g) {
    vec4 v = vec4(0.0);
    if (TYPE == T_Q8_0) {
        const uint b = row + c * 34u;
        const uint w = wword(b + 2u + 4u * g);
        v = vec4(float(int(w << 24u) >> 24), float(int(w << 16u) >> 24),
                 float(int(w << 8u) >> 24), float(int(w) >> 24)) * whalf(b);
    } else if (TYPE == T_Q4_0 || TYPE == T_Q4_1) {
        // Elements 0-15: low nibbles of the 16 bytes; 16-31: high nibbles.
        const uint b = row + c * (TYPE == T_Q4_0 ? 18u : 20u);
        const uint w = wword(b + (TYPE == T_Q4_0 ? 2u : 4u) + 4u * (g & 3u));
        const uint sh = (g >> 2u) * 4u;
        const vec4 q = vec4((w >> sh) & 0xfu, (w >> (sh + 8u)) & 0xfu, (w >> (sh + 16u)) & 0xfu,
                            (w >> (sh + 24u)) & 0xfu);
        v = TYPE == T_Q4_0 ? (q - 8.0) * whalf(b) : q * whalf(b) + whalf(b + 2u);
    } else if (TYPE == T_Q5_0 || TYPE == T_Q5_1) {
        // d (and m for Q5_1), 32 high bits (bit l for element l), 16 bytes of nibbles.
        const uint b = row + c * (TYPE == T_Q5_0 ? 22u : 24u);
        const uint hb = b + (TYPE == T_Q5_0 ? 2u : 4u);
        const uint qh = wword(hb) >> (4u * g);
        const uint w = wword(hb + 4u + 4u * (g & 3u));
        const uint sh = (g >> 2u) * 4u;
        const vec4 q = vec4(((w >> sh) & 0xfu) | ((qh & 1u) << 4u),
                            ((w >> (sh + 8u)) & 0xfu) | (((qh >> 1u) & 1u) << 4u),
                            ((w >> (sh + 16u)) & 0xfu) | (((qh >> 2u) & 1u) << 4u),
                            ((w >> (sh + 24u)) & 0xfu) | (((qh >> 3u) & 1u) << 4u));
        v = TYPE == T_Q5_0 ? (q - 16.0) * whalf(b) : q * whalf(b) + whalf(b + 2u);
    } else if (TYPE == T_Q4_K || TYPE == T_Q5_K) {
        const uint sub = c & 7u;
        const uint b = row + (c >> 3u) * (TYPE == T_Q4_K ? 144u : 176u);
        float sc, m;
        scale_min_k4(b + 4u, sub, sc, m);
        const float d1 = whalf(b) * sc, m1 = whalf(b + 2u) * m;
        const uint w = wword(b + (TYPE == T_Q4_K ? 16u : 48u) + 32u * (sub >> 1u) + 4u * g);
        const uint sh = (sub & 1u) * 4u;
        vec4 q = vec4((w >> sh) & 0xfu, (w >> (sh + 8u)) & 0xfu, (w >> (sh + 16u)) & 0xfu,
                      (w >> (sh + 24u)) & 0xfu);
        if (TYPE == T_Q5_K) {
            const uint h = wword(b + 16u + 4u * g) >> sub;
            q += vec4(h & 1u, (h >> 8u) & 1u, (h >> 16u) & 1u, (h >> 24u) & 1u) * 16.0;
        }
        v = d1 * q - m1;
    } else if (TYPE == T_Q6_K) {
        const uint b = row + (c >> 3u) * 210u;
        const uint half_ = (c & 7u) >> 2u, quarter = c & 3u;
        const uint wl = wword(b + 64u * half_ + 32u * (quarter & 1u) + 4u * g) >> ((quarter >> 1u) * 4u);
        const uint wh = wword(b + 128u + 32u * half_ + 4u * g) >> (2u * quarter);
        const float s = whalf(b + 208u) * float(wi8(b + 192u + 8u * half_ + 2u * quarter + g / 4u));
        const vec4 q = vec4((wl & 0xfu) | ((wh & 3u) << 4u),
                            ((wl >> 8u) & 0xfu) | (((wh >> 8u) & 3u) << 4u),
                            ((wl >> 16u) & 0xfu) | (((wh >> 16u) & 3u) << 4u),
                            ((wl >> 24u) & 0xfu) | (((wh >> 24u) & 3u) << 4u));
        v = s * (q - 32.0);
    }
    return v;
}

// All 32 elements of chunk c.
void dequant32(uint row, uint c, inout float v[32]) {
    for (uint g = 0u; g < 8u; ++g) {
        const vec4 q = dequant4(row, c, g);
        v[4u * g] = q.x;
        v[4u * g + 1u] = q.y;
        v[4u * g + 2u] = q.z;
        v[4u * g + 3u] = q.w;
    }
}
