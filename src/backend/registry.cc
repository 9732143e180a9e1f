#include "backend/registry.h"

#include <fmt/format.h>

#include "backend/cpu/cpu_backend.h"
#include "backend/plugin_backend.h"
#include "core/cpu_features.h"
#ifdef UNICORN_HAVE_CUDA
#include "backend/cuda/cuda_backend.h"
#include "backend/cuda/device.h"
#endif
#ifdef UNICORN_HAVE_VULKAN
#include "backend/vulkan/device.h"
#include "backend/vulkan/vulkan_backend.h"
#endif

namespace unicorn {

std::vector<DeviceInfo> list_devices() {
    const CpuFeatures& f = cpu_features();
    DeviceInfo cpu;
    cpu.name = "cpu";
    cpu.description =
        fmt::format("{} — {} kernels (detected {}), {} cores / {} threads{}{}",
                    f.model_name.empty() ? "unknown CPU" : f.model_name, isa_name(active_isa()),
                    isa_name(detected_isa()), f.physical_cores, f.logical_cpus,
                    f.avx512vnni ? ", VNNI" : "", f.avx512bf16 ? ", BF16" : "");
    cpu.available = true;
    std::vector<DeviceInfo> out{cpu};
#ifdef UNICORN_HAVE_CUDA
    auto cuda = cuda::cuda_devices();
    if (cuda.ok()) {
        for (const cuda::CudaDeviceInfo& d : *cuda) {
            DeviceInfo g;
            g.name = fmt::format("cuda:{}", d.index);
            g.description = fmt::format(
                "{} — compute capability {}.{}, {} multiprocessors, {:.1f} GiB ({:.1f} GiB free)",
                d.name, d.cc_major, d.cc_minor, d.multiprocessors,
                static_cast<double>(d.total_bytes) / (1 << 30),
                static_cast<double>(d.free_bytes) / (1 << 30));
            g.available = true;
            out.push_back(std::move(g));
        }
    } else {
        out.push_back({"cuda", "", false, cuda.status().message()});
    }
#else
    out.push_back({"cuda", "", false, "this build has no CUDA backend (nvcc was not found)"});
#endif
#ifdef UNICORN_HAVE_VULKAN
    auto vk = vulkan::vulkan_devices();
    if (vk.ok()) {
        for (const vulkan::VulkanDeviceInfo& d : *vk) {
            DeviceInfo g;
            g.name = fmt::format("vulkan:{}", d.index);
            g.description = fmt::format(
                "{} — {}, Vulkan {}.{}, {:.1f} GiB device-local, subgroup {}, fp16 {}, int8 {}",
                d.name, d.type, VK_API_VERSION_MAJOR(d.api_version),
                VK_API_VERSION_MINOR(d.api_version),
                static_cast<double>(d.device_local_bytes) / (1 << 30), d.subgroup_size,
                d.fp16 ? "yes" : "no", d.int8 ? "yes" : "no");
            g.available = true;
            out.push_back(std::move(g));
        }
    } else {
        out.push_back({"vulkan", "", false, vk.status().message()});
    }
#else
    out.push_back({"vulkan", "", false,
                   "this build has no Vulkan backend (Vulkan headers or glslc were not found)"});
#endif
    for (DeviceInfo& d : plugin_devices()) out.push_back(std::move(d));
    return out;
}

Result<std::unique_ptr<Backend>> create_backend(const std::string& device, ThreadPool& pool) {
    if (device == "cpu" || device == "auto" || device.empty()) {
        return std::unique_ptr<Backend>(std::make_unique<CpuBackend>(pool));
    }
    if (device == "cuda" || device.rfind("cuda:", 0) == 0) {
#ifdef UNICORN_HAVE_CUDA
        int index = 0;
        if (device.size() > 5) {
            const std::string n = device.substr(5);
            if (n.empty() || n.find_first_not_of("0123456789") != std::string::npos)
                return invalid_argument(fmt::format("bad device '{}' (expected cuda:N)", device));
            index = std::stoi(n);
        }
        auto b = cuda::CudaBackend::create(index);
        if (!b.ok()) return b.status().with_context("--device " + device);
        return b;
#else
        return unsupported("--device " + device + ": this build has no CUDA backend");
#endif
    }
    if (device == "vulkan" || device.rfind("vulkan:", 0) == 0) {
#ifdef UNICORN_HAVE_VULKAN
        int index = 0;
        if (device.size() > 7) {
            const std::string n = device.substr(7);
            if (n.empty() || n.size() > 6 || n.find_first_not_of("0123456789") != std::string::npos)
                return invalid_argument(fmt::format("bad device '{}' (expected vulkan:N)", device));
            index = std::stoi(n);
        }
        auto b = vulkan::VulkanBackend::create(index);
        if (!b.ok()) return b.status().with_context("--device " + device);
        return std::unique_ptr<Backend>(std::move(*b));
#else
        return unsupported("--device " + device + ": this build has no Vulkan backend");
#endif
    }
    if (device.rfind("plugin:", 0) == 0) {
        auto b = create_plugin_backend(device.substr(7), pool.size());
        if (!b.ok()) return b.status().with_context("--device " + device);
        return b;
    }
    return invalid_argument(fmt::format(
        "unknown device '{}' (available: cpu, cuda[:N], vulkan[:N] where built, plugin:NAME)",
        device));
}

}  // namespace unicorn
