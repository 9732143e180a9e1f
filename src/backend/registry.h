// The only file that knows every backend. Devices that fail to initialise are skipped with a
// logged reason; the CPU backend always exists.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "core/thread_pool.h"

namespace unicorn {

struct DeviceInfo {
    std::string name;         // "cpu", later "cuda:0", "vulkan:0"
    std::string description;  // model name, ISA level, cores
    bool available = false;
    std::string unavailable_reason;
};

std::vector<DeviceInfo> list_devices();

// "cpu", "cuda" / "cuda:N" (CUDA builds), "vulkan" / "vulkan:N" (Vulkan builds), or "auto" (the CPU
// for now: the CUDA path is not yet faster end to end — see docs/perf.md). Unknown names are an
// error. "plugin:NAME" loads a backend plugin found through UNICORN_BACKEND_PATH
// (backend/plugin_backend.h).
Result<std::unique_ptr<Backend>> create_backend(const std::string& device, ThreadPool& pool);

}  // namespace unicorn
