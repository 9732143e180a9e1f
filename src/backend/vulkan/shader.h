// The compute shaders (shaders/*.comp), compiled to SPIR-V by glslc at build time and embedded
// in the binary (cmake/vulkan_shaders.cmake generates the table).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace unicorn::vulkan {

struct EmbeddedShader {
    const char* name;  // the file name without .comp
    const uint32_t* code;
    const size_t* words;
};

const std::vector<EmbeddedShader>& embedded_shaders();

}  // namespace unicorn::vulkan
