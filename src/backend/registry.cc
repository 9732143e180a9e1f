#include "backend/registry.h"

#include <fmt/format.h>

#include "backend/cpu/cpu_backend.h"
#include "core/cpu_features.h"

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
    return {cpu};
}

Result<std::unique_ptr<Backend>> create_backend(const std::string& device, ThreadPool& pool) {
    if (device == "cpu" || device == "auto" || device.empty()) {
        return std::unique_ptr<Backend>(std::make_unique<CpuBackend>(pool));
    }
    return invalid_argument(fmt::format("unknown device '{}' (available: cpu)", device));
}

}  // namespace unicorn
