#include "backend/registry.h"

#include <fmt/format.h>

#include "backend/cpu/cpu_backend.h"
#include "core/cpu_features.h"
#ifdef UNICORN_HAVE_CUDA
#include "backend/cuda/cuda_backend.h"
#include "backend/cuda/device.h"
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
    return invalid_argument(
        fmt::format("unknown device '{}' (available: cpu, cuda[:N] where built)", device));
}

}  // namespace unicorn
