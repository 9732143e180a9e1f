// Shared by every shader: the workgroup size (64 = two wave32 or one wave64 on RDNA, two NVIDIA
// warps, fine on lavapipe) and a tanh that neither overflows nor loses small arguments.
#define WG 64

float safe_tanh(float x) {
    const float a = abs(x);
    if (a < 0.125) {  // Taylor to x^7: error below 1e-9 relative, where exp() would cancel
        const float x2 = x * x;
        return x * (1.0 - x2 * (1.0 / 3.0 - x2 * (2.0 / 15.0 - x2 * (17.0 / 315.0))));
    }
    const float t = exp(-2.0 * a);  // in (0, 0.78]: no overflow for any a
    return sign(x) * (1.0 - t) / (1.0 + t);
}
