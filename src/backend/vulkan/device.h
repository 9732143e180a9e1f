// A Vulkan device opened for compute: the instance, the chosen physical device, one compute
// queue, its memory types and limits, a command pool and a pipeline cache. Listing devices
// (`unicorn devices`) creates only an instance.
#pragma once

#include <vulkan/vulkan.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"

namespace unicorn::vulkan {

struct VulkanDeviceInfo {
    int index = 0;
    std::string name;
    std::string type;  // "integrated", "discrete", "virtual", "cpu", "other"
    uint64_t device_local_bytes = 0;
    uint32_t subgroup_size = 0;
    bool fp16 = false;  // shaderFloat16
    bool int8 = false;  // shaderInt8
    // Clustered subgroup arithmetic in compute shaders (subgroupClusteredAdd), subgroups of at
    // least 8 invocations: the linear shader's barrier-free reduction.
    bool subgroup_clustered = false;
    uint32_t api_version = 0;
};

// Every Vulkan device with a compute queue; an error saying why when there is none (no loader,
// no driver, no device).
Result<std::vector<VulkanDeviceInfo>> vulkan_devices();

class Device {
  public:
    static Result<std::unique_ptr<Device>> open(int index);
    ~Device();
    Device(const Device&) = delete;
    Device& operator=(const Device&) = delete;

    VkDevice handle() const { return device_; }
    VkQueue queue() const { return queue_; }
    uint32_t queue_family() const { return queue_family_; }
    VkCommandPool command_pool() const { return cmd_pool_; }
    VkPipelineCache pipeline_cache() const { return pipeline_cache_; }
    const VulkanDeviceInfo& info() const { return info_; }
    const VkPhysicalDeviceLimits& limits() const { return limits_; }
    // A memory type index with all of `want`'s flags among `allowed` (a requirement's bits), or
    // -1 when none has them.
    int memory_type(uint32_t allowed, VkMemoryPropertyFlags want) const;
    // Whether buffers can be device-local and host-mapped at once (unified-memory iGPUs,
    // lavapipe): then the host writes and reads them directly, with no staging copies.
    // UNICORN_VULKAN_STAGING=1 forces the staging path (to test it on such devices).
    bool unified() const { return unified_; }
    // Whether shaders may use subgroup reductions (UNICORN_VULKAN_SUBGROUPS=0: never, to test
    // and compare the shared-memory fallback).
    bool use_subgroups() const { return use_subgroups_; }
    // Once a submission failed with VK_ERROR_DEVICE_LOST every later call reports it.
    bool lost() const { return lost_; }
    void mark_lost() { lost_ = true; }

  private:
    Device() = default;
    VkInstance instance_ = VK_NULL_HANDLE;
    VkPhysicalDevice physical_ = VK_NULL_HANDLE;
    VkDevice device_ = VK_NULL_HANDLE;
    VkQueue queue_ = VK_NULL_HANDLE;
    uint32_t queue_family_ = 0;
    VkCommandPool cmd_pool_ = VK_NULL_HANDLE;
    VkPipelineCache pipeline_cache_ = VK_NULL_HANDLE;
    VkPhysicalDeviceMemoryProperties mem_{};
    VkPhysicalDeviceLimits limits_{};
    VulkanDeviceInfo info_;
    bool unified_ = false;
    bool use_subgroups_ = false;
    bool lost_ = false;
};

}  // namespace unicorn::vulkan
