#include "core/process_memory.h"

#include <cstdio>
#include <cstring>

namespace unicorn {
namespace {

int64_t status_kib(const char* key) {
    std::FILE* f = std::fopen("/proc/self/status", "r");
    if (f == nullptr) return 0;
    char line[256];
    long long kib = 0;
    const size_t n = std::strlen(key);
    while (std::fgets(line, sizeof line, f) != nullptr) {
        if (std::strncmp(line, key, n) == 0 && std::sscanf(line + n, " %lld", &kib) == 1) break;
    }
    std::fclose(f);
    return kib;
}

}  // namespace

int64_t resident_bytes() { return status_kib("VmRSS:") * 1024; }
int64_t peak_resident_bytes() { return status_kib("VmHWM:") * 1024; }

}  // namespace unicorn
