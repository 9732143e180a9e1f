// Backends in shared libraries loaded at run time through the C ABI of
// include/unicorn/backend_plugin.h. UNICORN_BACKEND_PATH names them: colon-separated .so files
// and directories (each contributes its *.so files, in name order). A plugin computes in host
// memory (ABI v1), so it is not a device backend: ExecContext runs every op it lacks on the CPU.
//
// A library that loads and passes the checks stays loaded for the life of the process (its
// code may be referenced by instances and by the plugin's own threads); one that fails is
// unloaded at once.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "backend/registry.h"
#include "core/status.h"

namespace unicorn {

struct PluginInfo {
    std::string path;  // as found (a UNICORN_BACKEND_PATH entry or a file in one of its folders)
    std::string name;  // the device is "plugin:" + name
    std::string description;
};

// The files UNICORN_BACKEND_PATH names (`path_list` in that syntax), and for each entry that
// is neither a file nor a readable folder a message saying so.
std::vector<std::string> backend_plugin_files(const std::string& path_list,
                                              std::vector<std::string>* problems);

// Loads `path` (once per process) and checks its entry point and ABI version.
Result<PluginInfo> load_backend_plugin(const std::string& path);

// One DeviceInfo per UNICORN_BACKEND_PATH file: "plugin:NAME" when it loads, else "plugin"
// with the reason (file and cause).
std::vector<DeviceInfo> plugin_devices();

// `spec` is what follows "plugin:" in a device name: a plugin's name (searched for in
// UNICORN_BACKEND_PATH) or a path to a .so (anything containing '/').
Result<std::unique_ptr<Backend>> create_plugin_backend(const std::string& spec, int n_threads);

}  // namespace unicorn
