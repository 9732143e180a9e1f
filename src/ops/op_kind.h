// The operation catalogue. Every backend answers supports(op, weight dtype) from this list;
// exec/ falls back to the CPU for anything a device lacks.
#pragma once

namespace unicorn {

enum class OpKind {
    kEmbedding,       // rows of a table (any weight dtype) → F32, times a scale
    kLinear,          // y = x·Wᵀ, W any weight dtype
    kRmsNorm,         // x / sqrt(mean(x²) + eps) ⊙ w, per row
    kRope,            // rotary position embedding, normal (interleaved) or NeoX (rotate-half)
    kAttention,       // causal (optionally sliding-window) GQA attention over a KV set
    kGeluTanhMul,     // gelu_tanh(g) ⊙ u
    kSiluMul,         // silu(g) ⊙ u
    kAdd,             // a + b
    kSoftcap,         // c·tanh(x/c)
    kMul,             // a ⊙ b, b same shape or one row broadcast over a's rows
    kScale,           // x·s
    kGaussianTopk,    // Gemma 3n activation sparsity: max(0, x − (mean + z·std)) per row
    kMatchMagnitude,  // x rescaled to the RMS of target, per row (AltUp)
    kAltupPredict,    // AltUp: streams mixed by per-token A×A coefficients
    kAltupCorrect,    // AltUp: predictions corrected by the active stream's innovation
    kAltupCoefs,      // AltUp: coefficients from the router, tanh(W·RMSNorm(x)), mixed by C
    kCount,
};

const char* op_name(OpKind op);

}  // namespace unicorn
