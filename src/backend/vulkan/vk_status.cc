#include "backend/vulkan/vk_status.h"

#include <fmt/format.h>

namespace unicorn::vulkan {

const char* vk_result_name(VkResult r) {
    switch (r) {
#define UNI_VK_CASE(x) \
    case x:            \
        return #x;
        UNI_VK_CASE(VK_SUCCESS)
        UNI_VK_CASE(VK_NOT_READY)
        UNI_VK_CASE(VK_TIMEOUT)
        UNI_VK_CASE(VK_INCOMPLETE)
        UNI_VK_CASE(VK_ERROR_OUT_OF_HOST_MEMORY)
        UNI_VK_CASE(VK_ERROR_OUT_OF_DEVICE_MEMORY)
        UNI_VK_CASE(VK_ERROR_INITIALIZATION_FAILED)
        UNI_VK_CASE(VK_ERROR_DEVICE_LOST)
        UNI_VK_CASE(VK_ERROR_MEMORY_MAP_FAILED)
        UNI_VK_CASE(VK_ERROR_LAYER_NOT_PRESENT)
        UNI_VK_CASE(VK_ERROR_EXTENSION_NOT_PRESENT)
        UNI_VK_CASE(VK_ERROR_FEATURE_NOT_PRESENT)
        UNI_VK_CASE(VK_ERROR_INCOMPATIBLE_DRIVER)
        UNI_VK_CASE(VK_ERROR_TOO_MANY_OBJECTS)
        UNI_VK_CASE(VK_ERROR_FORMAT_NOT_SUPPORTED)
        UNI_VK_CASE(VK_ERROR_FRAGMENTED_POOL)
        UNI_VK_CASE(VK_ERROR_OUT_OF_POOL_MEMORY)
        UNI_VK_CASE(VK_ERROR_INVALID_SHADER_NV)
        UNI_VK_CASE(VK_ERROR_FRAGMENTATION)
        UNI_VK_CASE(VK_ERROR_UNKNOWN)
#undef UNI_VK_CASE
        default:
            return "VK_ERROR_(unnamed)";
    }
}

Status vk_status(VkResult r, const char* what) {
    if (r == VK_SUCCESS || r == VK_INCOMPLETE) return ok_status();
    const std::string msg =
        fmt::format("vulkan {}: {} ({})", what, vk_result_name(r), static_cast<int>(r));
    if (r == VK_ERROR_DEVICE_LOST)
        return device_error(msg +
                            " — the GPU driver reset or the device was removed; "
                            "restart, or run with --device cpu");
    if (r == VK_ERROR_OUT_OF_DEVICE_MEMORY || r == VK_ERROR_OUT_OF_HOST_MEMORY)
        return resource_exhausted(msg);
    return device_error(msg);
}

}  // namespace unicorn::vulkan
