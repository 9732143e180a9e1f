// CUDA runtime errors as Status: every CUDA call and every launch is checked (a kernel that
// failed to launch returns nothing else). Implemented in device.cc, so .cu files need no fmt
// (whose compile-time format checks nvcc's C++20 mode rejects).
#pragma once

#include "core/status.h"

namespace unicorn::cuda {

// `error` is a cudaError_t.
Status cuda_status(int error, const char* what);
// The error of the last launch on this thread (and clears it).
Status last_launch(const char* kernel);

}  // namespace unicorn::cuda
