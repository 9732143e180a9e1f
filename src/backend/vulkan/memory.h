// Vulkan buffers and the addresses tensors carry. A Tensor holds a pointer, and views
// (slice_rows, a KV-cache window) are pointer arithmetic on it, so every buffer gets a range of
// a private address space: a device tensor's data() is such an address (never dereferenced on
// the host), and resolve() turns it back into (buffer, byte offset) when an op is recorded.
#pragma once

#include <vulkan/vulkan.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <unordered_map>

#include "backend/vulkan/device.h"

namespace unicorn::vulkan {

class Memory;

// One VkBuffer bound to its own allocation; `mapped` when host-visible. It keeps the device
// alive: tensors may outlive the backend that made them.
struct Buffer {
    std::shared_ptr<Device> dev;
    std::weak_ptr<Memory> memory;
    VkBuffer buffer = VK_NULL_HANDLE;
    VkDeviceMemory mem = VK_NULL_HANDLE;
    size_t size = 0;
    bool device_local = false;  // counted in Memory::device_bytes()
    void* mapped = nullptr;
    uintptr_t address = 0;  // base of its range in the private address space
    ~Buffer();
};

struct Located {
    Buffer* buffer = nullptr;
    size_t offset = 0;  // bytes from the buffer's start
};

class Memory : public std::enable_shared_from_this<Memory> {
  public:
    explicit Memory(std::shared_ptr<Device> dev) : dev_(std::move(dev)) {}
    enum class Kind {
        kDevice,  // device-local (and mapped on unified-memory devices)
        kHost,    // host-visible and coherent: staging, per-step arrays, read-backs
    };
    Result<std::shared_ptr<Buffer>> create(size_t bytes, Kind kind);
    // The buffer holding `address` and the offset in it; an error for an address no live
    // buffer owns (a host pointer passed as a device tensor).
    Result<Located> resolve(const void* address) const;

    // Pooled device buffers by power-of-two size class (activations): the returned owner's
    // get() is the buffer's address; the buffer goes back to the pool with the last owner.
    // Reuse within a recorded command buffer is safe because every op is separated from the
    // next by a full barrier.
    Result<std::shared_ptr<void>> take(size_t bytes);
    Device& device() { return *dev_; }
    // Bytes of live device-local buffers (weights, KV cache, activation pool).
    size_t device_bytes() const;

  private:
    friend struct Buffer;
    void forget(const Buffer& b);
    std::shared_ptr<Device> dev_;
    mutable std::mutex mu_;
    std::map<uintptr_t, Buffer*> by_address_;  // base → live buffer
    uintptr_t next_address_ = uintptr_t{1} << 44;
    size_t device_bytes_ = 0;
    std::unordered_map<size_t, std::set<std::shared_ptr<Buffer>>> free_;  // size class → free
};

}  // namespace unicorn::vulkan
