#include "backend/cuda/device.h"

#include <cuda_runtime.h>
#include <fmt/format.h>

#include <cstdlib>
#include <cstring>

#include "backend/cuda/cuda_status.h"

namespace unicorn::cuda {

Status cuda_status(int error, const char* what) {
    const auto e = static_cast<cudaError_t>(error);
    if (e == cudaSuccess) return ok_status();
    return device_error(
        fmt::format("CUDA: {} failed: {} ({})", what, cudaGetErrorString(e), cudaGetErrorName(e)));
}

Status last_launch(const char* kernel) { return cuda_status(cudaGetLastError(), kernel); }

Result<std::vector<CudaDeviceInfo>> cuda_devices() {
    int n = 0;
    const cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess)
        return device_error(
            fmt::format("no CUDA device (cudaGetDeviceCount: {})", cudaGetErrorString(e)));
    if (n == 0) return device_error("no CUDA device: the driver reports none");
    std::vector<CudaDeviceInfo> out;
    for (int i = 0; i < n; ++i) {
        cudaDeviceProp p{};
        UNI_RETURN_IF_ERROR(cuda_status(cudaGetDeviceProperties(&p, i), "cudaGetDeviceProperties"));
        CudaDeviceInfo d;
        d.index = i;
        d.name = p.name;
        d.cc_major = p.major;
        d.cc_minor = p.minor;
        d.multiprocessors = p.multiProcessorCount;
        d.total_bytes = p.totalGlobalMem;
        UNI_RETURN_IF_ERROR(cuda_status(cudaSetDevice(i), "cudaSetDevice"));
        size_t free_b = 0, total_b = 0;
        if (cudaMemGetInfo(&free_b, &total_b) == cudaSuccess) d.free_bytes = free_b;
        out.push_back(std::move(d));
    }
    return out;
}

Result<DeviceBuffer> DeviceBuffer::alloc(size_t bytes) {
    DeviceBuffer b;
    if (bytes == 0) return b;
    const cudaError_t e = cudaMalloc(&b.ptr_, bytes);
    if (e != cudaSuccess)
        return resource_exhausted(fmt::format("CUDA: cannot allocate {} bytes of device memory: {}",
                                              bytes, cudaGetErrorString(e)));
    b.bytes_ = bytes;
    return b;
}

DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& o) noexcept {
    if (this != &o) {
        if (ptr_ != nullptr) cudaFree(ptr_);
        ptr_ = o.ptr_;
        bytes_ = o.bytes_;
        o.ptr_ = nullptr;
        o.bytes_ = 0;
    }
    return *this;
}

DeviceBuffer::~DeviceBuffer() {
    if (ptr_ != nullptr) cudaFree(ptr_);
}

Status DeviceBuffer::upload(const void* host, size_t bytes, size_t offset) {
    if (offset + bytes > bytes_)
        return internal_error(
            fmt::format("upload of {} bytes at {} into a buffer of {}", bytes, offset, bytes_));
    return cuda_status(
        cudaMemcpy(static_cast<char*>(ptr_) + offset, host, bytes, cudaMemcpyHostToDevice),
        "cudaMemcpy host→device");
}

Status DeviceBuffer::download(void* host, size_t bytes, size_t offset) const {
    if (offset + bytes > bytes_)
        return internal_error(
            fmt::format("download of {} bytes at {} from a buffer of {}", bytes, offset, bytes_));
    return cuda_status(
        cudaMemcpy(host, static_cast<const char*>(ptr_) + offset, bytes, cudaMemcpyDeviceToHost),
        "cudaMemcpy device→host");
}

bool pdl_enabled() {
    // Per process, for the device current at the first launch (every backend of a process
    // runs the same GPU model here).
    static const bool on = [] {
        const char* e = std::getenv("UNICORN_CUDA_PDL");
        if (e != nullptr && std::strcmp(e, "0") == 0) return false;
        int dev = 0, major = 0;
        if (cudaGetDevice(&dev) != cudaSuccess) return false;
        if (cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev) != cudaSuccess)
            return false;
        return major >= 9;
    }();
    return on;
}

Status synchronize() { return cuda_status(cudaDeviceSynchronize(), "cudaDeviceSynchronize"); }

}  // namespace unicorn::cuda
