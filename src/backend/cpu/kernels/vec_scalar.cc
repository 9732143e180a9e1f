// The vec_impl.inc primitives compiled for the scalar level (flags from the file name; see
// cmake/layers.cmake).
#include <cmath>
#include <cstdint>

#include "backend/cpu/kernels/vec.h"

namespace unicorn::cpu::vec_scalar {
#include "backend/cpu/kernels/vec_impl.inc"
}  // namespace unicorn::cpu::vec_scalar
