#include "core/cpu_features.h"

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "core/log.h"
#include "core/thread_pool.h"

#if defined(__x86_64__)
#include <cpuid.h>
#endif

namespace unicorn {
namespace {

CpuFeatures detect() {
    CpuFeatures f;
#if defined(__x86_64__)
    __builtin_cpu_init();
    f.avx2 = __builtin_cpu_supports("avx2");
    f.fma = __builtin_cpu_supports("fma");
    f.avx512f = __builtin_cpu_supports("avx512f");
    f.avx512bw = __builtin_cpu_supports("avx512bw");
    f.avx512vl = __builtin_cpu_supports("avx512vl");
    f.avx512dq = __builtin_cpu_supports("avx512dq");
    f.avx512vnni = __builtin_cpu_supports("avx512vnni");
    unsigned a = 0, b = 0, c = 0, d = 0;
    if (__get_cpuid(1, &a, &b, &c, &d)) f.f16c = (c >> 29) & 1u;
    if (__get_cpuid_count(7, 1, &a, &b, &c, &d)) {
        f.avx512bf16 = (a >> 5) & 1u;
        f.avxvnni = (a >> 4) & 1u;
    }
#endif
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("model name", 0) == 0) {
            f.model_name = line.substr(line.find(':') + 2);
            break;
        }
    }
    f.logical_cpus = static_cast<int>(std::thread::hardware_concurrency());
    f.physical_cores = ThreadPool::default_thread_count();
    return f;
}

std::atomic<int>& override_level() {
    static std::atomic<int> level{-1};
    return level;
}

IsaLevel env_cap() {
    static const IsaLevel cap = [] {
        const char* env = std::getenv("UNICORN_ISA");
        IsaLevel lv = IsaLevel::kAvx512;
        if (env != nullptr && !parse_isa(env, &lv)) {
            log_warn("UNICORN_ISA='{}' is not one of scalar, avx2, avx512; ignored", env);
            lv = IsaLevel::kAvx512;
        }
        return lv;
    }();
    return cap;
}

}  // namespace

const CpuFeatures& cpu_features() {
    static const CpuFeatures f = detect();
    return f;
}

IsaLevel detected_isa() {
    const CpuFeatures& f = cpu_features();
    if (f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq && f.avx2 && f.fma && f.f16c)
        return IsaLevel::kAvx512;
    if (f.avx2 && f.fma && f.f16c) return IsaLevel::kAvx2;
    return IsaLevel::kScalar;
}

IsaLevel active_isa() {
    int lv = static_cast<int>(detected_isa());
    lv = std::min(lv, static_cast<int>(env_cap()));
    const int ov = override_level().load(std::memory_order_relaxed);
    if (ov >= 0) lv = std::min(static_cast<int>(detected_isa()), ov);
    return static_cast<IsaLevel>(lv);
}

void set_isa_override(IsaLevel level) { override_level().store(static_cast<int>(level)); }

const char* isa_name(IsaLevel level) {
    switch (level) {
        case IsaLevel::kScalar:
            return "scalar";
        case IsaLevel::kAvx2:
            return "avx2";
        case IsaLevel::kAvx512:
            return "avx512";
    }
    return "?";
}

bool parse_isa(const std::string& s, IsaLevel* out) {
    if (s == "scalar")
        *out = IsaLevel::kScalar;
    else if (s == "avx2")
        *out = IsaLevel::kAvx2;
    else if (s == "avx512")
        *out = IsaLevel::kAvx512;
    else
        return false;
    return true;
}

}  // namespace unicorn
