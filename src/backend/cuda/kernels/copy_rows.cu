// Row copy between byte matrices: dst row dst_rows[i] = src row src_rows[i] (a null index array
// is the identity). blockIdx.y (with its grid stride) walks i, blockIdx.x·256 + threadIdx.x the
// row in units of 16 bytes when both bases, both strides and the row width are 16-byte aligned,
// else 4 bytes when they are 4-byte aligned, else single bytes. Rows must not overlap.
#include <algorithm>
#include <cstdint>

#include "backend/cuda/cuda_status.h"
#include "backend/cuda/kernels/kernels.h"
#include "backend/cuda/kernels/launch.cuh"

namespace unicorn::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int64_t kMaxGridY = 65535;

template <typename U>
__global__ void copy_rows_kernel(const uint8_t* __restrict__ src, size_t src_stride,
                                 uint8_t* __restrict__ dst, size_t dst_stride, int64_t units,
                                 const int64_t* __restrict__ src_rows,
                                 const int64_t* __restrict__ dst_rows, int64_t n) {
    wait_for_inputs();
    const int64_t u = static_cast<int64_t>(blockIdx.x) * kThreads + threadIdx.x;
    if (u >= units) return;
    for (int64_t i = blockIdx.y; i < n; i += gridDim.y) {
        const int64_t rs = src_rows != nullptr ? src_rows[i] : i;
        const int64_t rd = dst_rows != nullptr ? dst_rows[i] : i;
        reinterpret_cast<U*>(dst + rd * dst_stride)[u] =
            reinterpret_cast<const U*>(src + rs * src_stride)[u];
    }
}

template <typename U>
Status launch(const void* src, size_t src_stride, void* dst, size_t dst_stride, size_t row_bytes,
              const int64_t* src_rows, const int64_t* dst_rows, int64_t n, cudaStream_t s) {
    const int64_t units = static_cast<int64_t>(row_bytes / sizeof(U));
    const dim3 grid(static_cast<unsigned>((units + kThreads - 1) / kThreads),
                    static_cast<unsigned>(std::min(n, kMaxGridY)));
    launch_kernel(copy_rows_kernel<U>, grid, kThreads, 0, s, static_cast<const uint8_t*>(src),
                  src_stride, static_cast<uint8_t*>(dst), dst_stride, units, src_rows, dst_rows, n);
    return last_launch("copy_rows");
}

}  // namespace

Status copy_rows(const void* src, size_t src_stride, void* dst, size_t dst_stride, size_t row_bytes,
                 const int64_t* src_rows, const int64_t* dst_rows, int64_t n, void* stream) {
    if (n == 0 || row_bytes == 0) return ok_status();
    const auto s = static_cast<cudaStream_t>(stream);
    const uintptr_t bits = reinterpret_cast<uintptr_t>(src) | reinterpret_cast<uintptr_t>(dst) |
                           src_stride | dst_stride | row_bytes;
    if (bits % 16 == 0)
        return launch<uint4>(src, src_stride, dst, dst_stride, row_bytes, src_rows, dst_rows, n, s);
    if (bits % 4 == 0)
        return launch<uint32_t>(src, src_stride, dst, dst_stride, row_bytes, src_rows, dst_rows, n,
                                s);
    return launch<uint8_t>(src, src_stride, dst, dst_stride, row_bytes, src_rows, dst_rows, n, s);
}

}  // namespace unicorn::cuda
