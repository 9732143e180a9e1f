// Vulkan results as Status: the VkResult's name and what was being done. A lost device is an
// error like any other (the backend refuses further work), never a crash.
#pragma once

#include <vulkan/vulkan.h>

#include "core/status.h"

namespace unicorn::vulkan {

const char* vk_result_name(VkResult r);
// ok for VK_SUCCESS (and the non-error VK_INCOMPLETE), else "vulkan <what>: <VK_ERROR_…>".
Status vk_status(VkResult r, const char* what);

}  // namespace unicorn::vulkan
