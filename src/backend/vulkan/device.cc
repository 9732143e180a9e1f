#include "backend/vulkan/device.h"

#include <fmt/format.h>

#include <cstdlib>
#include <cstring>

#include "backend/vulkan/vk_status.h"

namespace unicorn::vulkan {
namespace {

// Vulkan 1.2: subgroup properties, shaderFloat16/Int8 and the storage-buffer features are core.
constexpr uint32_t kApiVersion = VK_API_VERSION_1_2;

Result<VkInstance> create_instance() {
    VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO};
    app.pApplicationName = "unicorn";
    app.pEngineName = "unicorn";
    app.apiVersion = kApiVersion;
    VkInstanceCreateInfo ci{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
    ci.pApplicationInfo = &app;
    VkInstance inst = VK_NULL_HANDLE;
    const VkResult r = vkCreateInstance(&ci, nullptr, &inst);
    if (r == VK_ERROR_INCOMPATIBLE_DRIVER)
        return device_error("no Vulkan device (no Vulkan 1.2 driver is installed)");
    UNI_RETURN_IF_ERROR(vk_status(r, "vkCreateInstance"));
    return inst;
}

const char* type_name(VkPhysicalDeviceType t) {
    switch (t) {
        case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU:
            return "integrated";
        case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU:
            return "discrete";
        case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU:
            return "virtual";
        case VK_PHYSICAL_DEVICE_TYPE_CPU:
            return "cpu";
        default:
            return "other";
    }
}

// The first queue family that runs compute, or -1.
int compute_family(VkPhysicalDevice pd) {
    uint32_t n = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, nullptr);
    std::vector<VkQueueFamilyProperties> fams(n);
    vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, fams.data());
    for (uint32_t i = 0; i < n; ++i)
        if (fams[i].queueFlags & VK_QUEUE_COMPUTE_BIT) return static_cast<int>(i);
    return -1;
}

VulkanDeviceInfo describe(VkPhysicalDevice pd, int index) {
    VkPhysicalDeviceSubgroupProperties sub{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
    VkPhysicalDeviceProperties2 props{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2};
    props.pNext = &sub;
    vkGetPhysicalDeviceProperties2(pd, &props);
    VkPhysicalDeviceVulkan12Features f12{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
    VkPhysicalDeviceFeatures2 feats{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
    feats.pNext = &f12;
    vkGetPhysicalDeviceFeatures2(pd, &feats);
    VkPhysicalDeviceMemoryProperties mem;
    vkGetPhysicalDeviceMemoryProperties(pd, &mem);
    VulkanDeviceInfo d;
    d.index = index;
    d.name = props.properties.deviceName;
    d.type = type_name(props.properties.deviceType);
    d.subgroup_size = sub.subgroupSize;
    d.subgroup_clustered = sub.subgroupSize >= 8 &&
                           (sub.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) != 0 &&
                           (sub.supportedOperations & VK_SUBGROUP_FEATURE_CLUSTERED_BIT) != 0;
    d.fp16 = f12.shaderFloat16 == VK_TRUE;
    d.int8 = f12.shaderInt8 == VK_TRUE;
    d.api_version = props.properties.apiVersion;
    for (uint32_t i = 0; i < mem.memoryHeapCount; ++i)
        if (mem.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT)
            d.device_local_bytes += mem.memoryHeaps[i].size;
    return d;
}

// Physical devices that can run our shaders: Vulkan 1.2 and a compute queue.
Result<std::vector<VkPhysicalDevice>> usable_devices(VkInstance inst) {
    uint32_t n = 0;
    UNI_RETURN_IF_ERROR(
        vk_status(vkEnumeratePhysicalDevices(inst, &n, nullptr), "vkEnumeratePhysicalDevices"));
    std::vector<VkPhysicalDevice> all(n), out;
    UNI_RETURN_IF_ERROR(
        vk_status(vkEnumeratePhysicalDevices(inst, &n, all.data()), "vkEnumeratePhysicalDevices"));
    for (VkPhysicalDevice pd : all) {
        VkPhysicalDeviceProperties p;
        vkGetPhysicalDeviceProperties(pd, &p);
        if (p.apiVersion >= kApiVersion && compute_family(pd) >= 0) out.push_back(pd);
    }
    if (out.empty()) return device_error("no Vulkan device (none with Vulkan 1.2 and compute)");
    return out;
}

}  // namespace

Result<std::vector<VulkanDeviceInfo>> vulkan_devices() {
    UNI_ASSIGN_OR_RETURN(VkInstance inst, create_instance());
    auto devs = usable_devices(inst);
    std::vector<VulkanDeviceInfo> out;
    if (devs.ok())
        for (size_t i = 0; i < devs->size(); ++i)
            out.push_back(describe((*devs)[i], static_cast<int>(i)));
    vkDestroyInstance(inst, nullptr);
    if (!devs.ok()) return devs.status();
    return out;
}

Result<std::unique_ptr<Device>> Device::open(int index) {
    std::unique_ptr<Device> d(new Device());
    UNI_ASSIGN_OR_RETURN(d->instance_, create_instance());
    UNI_ASSIGN_OR_RETURN(std::vector<VkPhysicalDevice> devs, usable_devices(d->instance_));
    if (index < 0 || index >= static_cast<int>(devs.size()))
        return invalid_argument(fmt::format("no Vulkan device {} (found {})", index, devs.size()));
    d->physical_ = devs[static_cast<size_t>(index)];
    d->info_ = describe(d->physical_, index);
    VkPhysicalDeviceProperties props;
    vkGetPhysicalDeviceProperties(d->physical_, &props);
    d->limits_ = props.limits;
    vkGetPhysicalDeviceMemoryProperties(d->physical_, &d->mem_);
    d->queue_family_ = static_cast<uint32_t>(compute_family(d->physical_));

    const float priority = 1.0f;
    VkDeviceQueueCreateInfo qci{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
    qci.queueFamilyIndex = d->queue_family_;
    qci.queueCount = 1;
    qci.pQueuePriorities = &priority;
    VkDeviceCreateInfo dci{VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
    dci.queueCreateInfoCount = 1;
    dci.pQueueCreateInfos = &qci;
    UNI_RETURN_IF_ERROR(
        vk_status(vkCreateDevice(d->physical_, &dci, nullptr, &d->device_), "vkCreateDevice"));
    vkGetDeviceQueue(d->device_, d->queue_family_, 0, &d->queue_);

    VkCommandPoolCreateInfo pci{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
    pci.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
    pci.queueFamilyIndex = d->queue_family_;
    UNI_RETURN_IF_ERROR(vk_status(vkCreateCommandPool(d->device_, &pci, nullptr, &d->cmd_pool_),
                                  "vkCreateCommandPool"));
    VkPipelineCacheCreateInfo cci{VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO};
    UNI_RETURN_IF_ERROR(
        vk_status(vkCreatePipelineCache(d->device_, &cci, nullptr, &d->pipeline_cache_),
                  "vkCreatePipelineCache"));

    const char* staging = std::getenv("UNICORN_VULKAN_STAGING");
    const bool force_staging = staging != nullptr && std::strcmp(staging, "1") == 0;
    // Unified memory: the device is an iGPU or the CPU and one memory type is all three.
    const bool shares_memory = props.deviceType == VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU ||
                               props.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU;
    d->unified_ = !force_staging && shares_memory &&
                  d->memory_type(~0u, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT |
                                          VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT |
                                          VK_MEMORY_PROPERTY_HOST_COHERENT_BIT) >= 0;
    const char* sg = std::getenv("UNICORN_VULKAN_SUBGROUPS");
    d->use_subgroups_ =
        d->info_.subgroup_clustered && !(sg != nullptr && std::strcmp(sg, "0") == 0);
    return d;
}

Device::~Device() {
    if (device_ != VK_NULL_HANDLE) {
        vkDeviceWaitIdle(device_);
        if (pipeline_cache_ != VK_NULL_HANDLE)
            vkDestroyPipelineCache(device_, pipeline_cache_, nullptr);
        if (cmd_pool_ != VK_NULL_HANDLE) vkDestroyCommandPool(device_, cmd_pool_, nullptr);
        vkDestroyDevice(device_, nullptr);
    }
    if (instance_ != VK_NULL_HANDLE) vkDestroyInstance(instance_, nullptr);
}

int Device::memory_type(uint32_t allowed, VkMemoryPropertyFlags want) const {
    for (uint32_t i = 0; i < mem_.memoryTypeCount; ++i)
        if ((allowed & (1u << i)) && (mem_.memoryTypes[i].propertyFlags & want) == want)
            return static_cast<int>(i);
    return -1;
}

}  // namespace unicorn::vulkan
