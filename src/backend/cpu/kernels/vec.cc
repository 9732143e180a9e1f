#include "backend/cpu/kernels/vec.h"

namespace unicorn::cpu {

const VecOps& vec_ops_for(IsaLevel level) {
    switch (level) {
        case IsaLevel::kAvx512:
            return vec_avx512::kOps;
        case IsaLevel::kAvx2:
            return vec_avx2::kOps;
        case IsaLevel::kScalar:
            break;
    }
    return vec_scalar::kOps;
}

}  // namespace unicorn::cpu
