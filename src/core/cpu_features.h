// Run-time CPU feature detection and the ISA level the CPU kernels dispatch on.
// UNICORN_ISA=scalar|avx2|avx512 caps the level (tests force each path with it).
#pragma once

#include <string>

namespace unicorn {

enum class IsaLevel { kScalar = 0, kAvx2 = 1, kAvx512 = 2 };

struct CpuFeatures {
    bool avx2 = false, fma = false, f16c = false;
    bool avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false;
    bool avx512vnni = false, avx512bf16 = false, avxvnni = false;
    std::string model_name;
    int logical_cpus = 1;
    int physical_cores = 1;
};

const CpuFeatures& cpu_features();
// Highest level the CPU supports: AVX2 needs AVX2+FMA+F16C; AVX-512 needs F/BW/VL/DQ.
IsaLevel detected_isa();
// detected_isa() capped by UNICORN_ISA (read once) and by set_isa_override().
IsaLevel active_isa();
// For tests: cap the level for the rest of the process (clamped to detected_isa()).
void set_isa_override(IsaLevel level);
const char* isa_name(IsaLevel level);
// Parses "scalar" / "avx2" / "avx512"; false if unknown.
bool parse_isa(const std::string& s, IsaLevel* out);

}  // namespace unicorn
