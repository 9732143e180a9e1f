// Shared helpers for the quant tests: test data generators, error measures, and the reader for
// the ggml golden file (tests/data/quant/README.md).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "quant/quantize.h"

namespace unicorn::quant::testing {

// The types with a reference implementation, quantized ones first.
inline constexpr DType kQuantTypes[] = {
    DType::kQ4_0, DType::kQ4_1, DType::kQ5_0, DType::kQ5_1, DType::kQ8_0, DType::kQ8_1,
    DType::kQ2_K, DType::kQ3_K, DType::kQ4_K, DType::kQ5_K, DType::kQ6_K, DType::kQ8_K,
};
inline constexpr DType kAllTypes[] = {
    DType::kF32,  DType::kF16,  DType::kBF16, DType::kQ4_0, DType::kQ4_1,
    DType::kQ5_0, DType::kQ5_1, DType::kQ8_0, DType::kQ8_1, DType::kQ2_K,
    DType::kQ3_K, DType::kQ4_K, DType::kQ5_K, DType::kQ6_K, DType::kQ8_K,
};

inline std::vector<uint8_t> quantize(DType t, const std::vector<float>& x) {
    std::vector<uint8_t> q(dtype_row_bytes(t, static_cast<int64_t>(x.size())));
    quantize_row(t, x.data(), q.data(), static_cast<int64_t>(x.size()));
    return q;
}

inline std::vector<float> dequantize(DType t, const std::vector<uint8_t>& q, int64_t n) {
    std::vector<float> y(static_cast<size_t>(n));
    dequantize_row(t, q.data(), y.data(), n);
    return y;
}

// sqrt(Σ(y-x)² / Σx²); 0 for an empty or all-zero x that is reproduced exactly.
inline double rel_rmse(const std::vector<float>& x, const std::vector<float>& y) {
    double num = 0.0;
    double den = 0.0;
    for (size_t i = 0; i < x.size(); ++i) {
        const double e = static_cast<double>(y[i]) - static_cast<double>(x[i]);
        num += e * e;
        den += static_cast<double>(x[i]) * static_cast<double>(x[i]);
    }
    if (den == 0.0) return num == 0.0 ? 0.0 : INFINITY;
    return std::sqrt(num / den);
}

inline std::vector<float> normal_data(size_t n, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> dist(0.0f, 1.0f);
    std::vector<float> x(n);
    for (float& v : x) v = dist(rng);
    return x;
}

// Student-t with 3 degrees of freedom (infinite kurtosis), plus one element in 64 blown up
// ×20: the outliers that real weight matrices have and that a max-abs scale must survive.
inline std::vector<float> heavy_tailed_data(size_t n, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::student_t_distribution<float> dist(3.0f);
    std::uniform_int_distribution<int> pick(0, 63);
    std::vector<float> x(n);
    for (float& v : x) {
        v = dist(rng);
        if (pick(rng) == 0) v *= 20.0f;
    }
    return x;
}

// The deterministic input of the ggml golden file: a 64-bit LCG, values built only from exact
// integer-to-float conversions and single roundings, so C and C++ produce the same bits.
inline uint32_t lcg_next(uint64_t* s) {
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<uint32_t>(*s >> 32);
}

inline std::vector<float> golden_input(int64_t n, uint64_t seed) {
    static constexpr float kScale[8] = {1.0f, 0.25f, 4.0f, 0.001f, 30.0f, 1.0f, 0.03125f, 7.5f};
    std::vector<float> x(static_cast<size_t>(n));
    uint64_t s = seed;
    for (int64_t i = 0; i < n; ++i) {
        const int32_t a = static_cast<int32_t>(lcg_next(&s) >> 8) - 8388608;
        const int32_t b = static_cast<int32_t>(lcg_next(&s) >> 8) - 8388608;
        float v = (static_cast<float>(a) + static_cast<float>(b)) * (1.0f / 8388608.0f);
        if ((lcg_next(&s) & 31u) == 0) v *= 20.0f;
        x[static_cast<size_t>(i)] = v * kScale[(i / 256) % 8];
    }
    if (n >= 4096) {
        // Super-block 13 constant, 14 zero, 15 zero but for two spikes: the degenerate paths.
        for (int64_t i = 13 * 256; i < 14 * 256; ++i) x[static_cast<size_t>(i)] = 0.5f;
        for (int64_t i = 14 * 256; i < 16 * 256; ++i) x[static_cast<size_t>(i)] = 0.0f;
        x[15 * 256 + 77] = -3.0f;
        x[15 * 256 + 200] = 1e-3f;
    }
    return x;
}

struct GoldenRecord {
    std::string tag;  // QUANT, DQBLK, DQOUT, F16, BF16, F16HASH
    uint32_t type = 0;
    uint64_t n = 0;
    std::vector<uint8_t> data;
};

// Reads tests/data/quant/ggml_golden.bin: "UQGOLD01", then records of
// {char tag[8]; u32 ggml_type; u32 0; u64 n_elements; u64 n_bytes; u8 bytes[n_bytes]}.
inline std::vector<GoldenRecord> read_golden(const std::string& path) {
    std::vector<GoldenRecord> out;
    std::ifstream f(path, std::ios::binary);
    char magic[8];
    if (!f.read(magic, 8) || std::memcmp(magic, "UQGOLD01", 8) != 0) return out;
    for (;;) {
        char tag[9] = {};
        uint32_t type = 0;
        uint32_t reserved = 0;
        uint64_t n = 0;
        uint64_t nbytes = 0;
        if (!f.read(tag, 8)) break;
        f.read(reinterpret_cast<char*>(&type), 4);
        f.read(reinterpret_cast<char*>(&reserved), 4);
        f.read(reinterpret_cast<char*>(&n), 8);
        f.read(reinterpret_cast<char*>(&nbytes), 8);
        if (!f || nbytes > (1u << 24)) break;
        GoldenRecord r{tag, type, n, std::vector<uint8_t>(nbytes)};
        if (!f.read(reinterpret_cast<char*>(r.data.data()), static_cast<std::streamsize>(nbytes))) {
            break;
        }
        out.push_back(std::move(r));
    }
    return out;
}

}  // namespace unicorn::quant::testing
