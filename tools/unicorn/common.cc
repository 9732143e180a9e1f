#include <cstdio>

#include "commands.h"

namespace unicorn::cli {

int fail(const std::string& message) {
    std::fprintf(stderr, "unicorn: error: %s\n", message.c_str());
    return 1;
}

}  // namespace unicorn::cli
