#include "ops/op_kind.h"

namespace unicorn {

const char* op_name(OpKind op) {
    switch (op) {
        case OpKind::kEmbedding:
            return "embedding";
        case OpKind::kLinear:
            return "linear";
        case OpKind::kRmsNorm:
            return "rms_norm";
        case OpKind::kRope:
            return "rope";
        case OpKind::kAttention:
            return "attention";
        case OpKind::kGeluTanhMul:
            return "gelu_tanh_mul";
        case OpKind::kSiluMul:
            return "silu_mul";
        case OpKind::kAdd:
            return "add";
        case OpKind::kSoftcap:
            return "softcap";
        case OpKind::kMul:
            return "mul";
        case OpKind::kScale:
            return "scale";
        case OpKind::kGaussianTopk:
            return "gaussian_topk";
        case OpKind::kMatchMagnitude:
            return "match_magnitude";
        case OpKind::kAltupPredict:
            return "altup_predict";
        case OpKind::kAltupCoefs:
            return "altup_coefs";
        case OpKind::kAltupCorrect:
            return "altup_correct";
        case OpKind::kCount:
            break;
    }
    return "?";
}

}  // namespace unicorn
