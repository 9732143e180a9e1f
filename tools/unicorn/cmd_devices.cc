// unicorn devices: the processors Unicorn found.
#include <fmt/format.h>

#include "backend/registry.h"
#include "commands.h"

namespace unicorn::cli {

Runner add_devices(CLI::App& app) {
    return [] {
        for (const DeviceInfo& d : list_devices()) {
            fmt::print("{:<10} {}{}\n", d.name, d.available ? d.description : "unavailable: ",
                       d.available ? "" : d.unavailable_reason);
        }
        return 0;
    };
}

}  // namespace unicorn::cli
