// Helpers for the tokenizer tests: where the fetched vectors and models live, file reading.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace unicorn::testing {

// $UNICORN_CACHE, else ~/.cache/unicorn (the fetch scripts' cache).
inline std::filesystem::path unicorn_cache_dir() {
    if (const char* c = std::getenv("UNICORN_CACHE"); c != nullptr && *c != '\0') return c;
    const char* home = std::getenv("HOME");
    return std::filesystem::path(home != nullptr ? home : "/root") / ".cache" / "unicorn";
}

inline bool read_file(const std::filesystem::path& path, std::string& out) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return false;
    std::stringstream ss;
    ss << in.rdbuf();
    out = ss.str();
    return true;
}

inline std::string show_ids(const std::vector<int32_t>& ids) {
    std::string s = "[";
    for (size_t i = 0; i < ids.size(); ++i) s += (i ? " " : "") + std::to_string(ids[i]);
    return s + "]";
}

}  // namespace unicorn::testing
