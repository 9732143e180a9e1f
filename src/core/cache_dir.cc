#include "core/cache_dir.h"

#include <cstdlib>

namespace unicorn {

std::string cache_dir() {
    if (const char* cache = std::getenv("UNICORN_CACHE")) return cache;
    const char* home = std::getenv("HOME");
    return std::string(home != nullptr ? home : ".") + "/.cache/unicorn";
}

std::string cached_model_path(const std::string& file) { return cache_dir() + "/models/" + file; }

}  // namespace unicorn
