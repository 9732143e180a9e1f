#include "backend/vulkan/memory.h"

#include <fmt/format.h>

#include <algorithm>
#include <bit>

#include "backend/vulkan/vk_status.h"

namespace unicorn::vulkan {

Buffer::~Buffer() {
    if (auto m = memory.lock()) m->forget(*this);
    if (!dev) return;
    VkDevice d = dev->handle();
    if (buffer != VK_NULL_HANDLE) vkDestroyBuffer(d, buffer, nullptr);
    if (mem != VK_NULL_HANDLE) vkFreeMemory(d, mem, nullptr);  // unmaps too
}

void Memory::forget(const Buffer& b) {
    if (b.address == 0) return;
    std::lock_guard<std::mutex> lock(mu_);
    by_address_.erase(b.address);
    if (b.device_local) device_bytes_ -= b.size;
}

size_t Memory::device_bytes() const {
    std::lock_guard<std::mutex> lock(mu_);
    return device_bytes_;
}

Result<std::shared_ptr<Buffer>> Memory::create(size_t bytes, Kind kind) {
    // Whole 16-byte units: shaders read bytes through 32-bit words (a 34-byte Q8_0 row's last
    // bytes are in a word that must lie inside the binding).
    bytes = (std::max<size_t>(bytes, 16) + 15) & ~size_t{15};
    if (bytes > dev_->limits().maxStorageBufferRange)
        return resource_exhausted(fmt::format(
            "vulkan: a buffer of {} bytes exceeds this device's storage-buffer range ({} bytes)",
            bytes, dev_->limits().maxStorageBufferRange));
    auto b = std::make_shared<Buffer>();
    b->dev = dev_;
    b->memory = weak_from_this();
    b->size = bytes;
    VkDevice d = dev_->handle();
    VkBufferCreateInfo bci{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
    bci.size = bytes;
    bci.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                VK_BUFFER_USAGE_TRANSFER_DST_BIT;
    bci.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
    UNI_RETURN_IF_ERROR(vk_status(vkCreateBuffer(d, &bci, nullptr, &b->buffer), "vkCreateBuffer"));
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(d, b->buffer, &req);
    const VkMemoryPropertyFlags host =
        VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
    int type = -1;
    if (kind == Kind::kHost) {
        type = dev_->memory_type(req.memoryTypeBits, host);
    } else if (dev_->unified()) {
        type = dev_->memory_type(req.memoryTypeBits, host | VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
    } else {
        type = dev_->memory_type(req.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
    }
    if (type < 0) return device_error("vulkan: the device has no suitable memory type");
    VkMemoryAllocateInfo ai{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
    ai.allocationSize = req.size;
    ai.memoryTypeIndex = static_cast<uint32_t>(type);
    const VkResult r = vkAllocateMemory(d, &ai, nullptr, &b->mem);
    if (r != VK_SUCCESS) return vk_status(r, fmt::format("allocating {} bytes", bytes).c_str());
    UNI_RETURN_IF_ERROR(vk_status(vkBindBufferMemory(d, b->buffer, b->mem, 0), "binding memory"));
    if (kind == Kind::kHost || dev_->unified())
        UNI_RETURN_IF_ERROR(
            vk_status(vkMapMemory(d, b->mem, 0, VK_WHOLE_SIZE, 0, &b->mapped), "vkMapMemory"));
    std::lock_guard<std::mutex> lock(mu_);
    b->device_local = kind == Kind::kDevice;
    if (b->device_local) device_bytes_ += bytes;
    b->address = next_address_;
    // A gap after each range: an address one past a buffer's end still resolves to it.
    next_address_ += (bytes + 0xffffu + 0x10000u) & ~uintptr_t{0xffff};
    by_address_[b->address] = b.get();
    return b;
}

Result<Located> Memory::resolve(const void* address) const {
    const auto a = reinterpret_cast<uintptr_t>(address);
    std::lock_guard<std::mutex> lock(mu_);
    auto it = by_address_.upper_bound(a);
    if (it != by_address_.begin()) {
        --it;
        Buffer* b = it->second;
        if (a - b->address <= b->size) return Located{b, a - b->address};
    }
    return internal_error(
        fmt::format("vulkan: address {} is not in any Vulkan buffer (a host tensor where a "
                    "device one was expected)",
                    address));
}

Result<std::shared_ptr<void>> Memory::take(size_t bytes) {
    const size_t cls = std::bit_ceil(std::max<size_t>(bytes, 256));
    std::shared_ptr<Buffer> b;
    {
        std::lock_guard<std::mutex> lock(mu_);
        auto& list = free_[cls];
        if (!list.empty()) {
            b = *list.begin();
            list.erase(list.begin());
        }
    }
    if (!b) {
        UNI_ASSIGN_OR_RETURN(b, create(cls, Kind::kDevice));
    }
    // Back to the free list while the pool lives; freed with the last owner after that.
    std::weak_ptr<Memory> weak = weak_from_this();
    // The owner's pointer is the buffer's address in the backend's private address space (tensors
    // slice it like memory; memory.h maps it back to buffer + offset): never dereferenced.
    return std::shared_ptr<void>(
        reinterpret_cast<void*>(b->address),  // NOLINT(performance-no-int-to-ptr)
        [weak, b](void*) mutable {
            if (auto m = weak.lock()) {
                std::shared_ptr<Buffer> keep = std::move(b);
                std::lock_guard<std::mutex> lock(m->mu_);
                m->free_[keep->size].insert(std::move(keep));
            }
        });
}

}  // namespace unicorn::vulkan
