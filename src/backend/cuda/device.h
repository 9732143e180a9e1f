// CUDA device discovery and device memory. This header has no CUDA types, so the registry and
// the CLI include it whether or not the CUDA backend is built.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/status.h"

namespace unicorn::cuda {

struct CudaDeviceInfo {
    int index = 0;
    std::string name;
    int cc_major = 0, cc_minor = 0;
    int multiprocessors = 0;
    size_t total_bytes = 0, free_bytes = 0;
};

// Every CUDA device the runtime sees, or why there are none (no driver, no device, the
// backend not built) as an error Status.
Result<std::vector<CudaDeviceInfo>> cuda_devices();

// Plain device memory (cudaMalloc), freed on destruction.
class DeviceBuffer {
  public:
    DeviceBuffer() = default;
    static Result<DeviceBuffer> alloc(size_t bytes);
    DeviceBuffer(DeviceBuffer&& o) noexcept : ptr_(o.ptr_), bytes_(o.bytes_) {
        o.ptr_ = nullptr;
        o.bytes_ = 0;
    }
    DeviceBuffer& operator=(DeviceBuffer&& o) noexcept;
    DeviceBuffer(const DeviceBuffer&) = delete;
    DeviceBuffer& operator=(const DeviceBuffer&) = delete;
    ~DeviceBuffer();

    void* data() const { return ptr_; }
    size_t bytes() const { return bytes_; }
    Status upload(const void* host, size_t bytes, size_t offset = 0);
    Status download(void* host, size_t bytes, size_t offset = 0) const;

  private:
    void* ptr_ = nullptr;
    size_t bytes_ = 0;
};

Status synchronize();

// Whether kernel launches use programmatic dependent launch (kernels/launch.cuh): on for
// compute capability 9.0+ unless UNICORN_CUDA_PDL=0.
bool pdl_enabled();

}  // namespace unicorn::cuda
