// Invariant checks: a failure is a bug in Unicorn, not bad input, so the process aborts with
// file:line. Bad input must be reported through Status instead (status.h).
#pragma once

#include <fmt/format.h>

namespace unicorn::detail {
[[noreturn]] void check_failed(const char* file, int line, const char* cond,
                               const std::string& msg);
}  // namespace unicorn::detail

#define UNI_CHECK(cond)                                                              \
    do {                                                                             \
        if (!(cond)) ::unicorn::detail::check_failed(__FILE__, __LINE__, #cond, ""); \
    } while (0)

#define UNI_CHECK_MSG(cond, ...)                                                                  \
    do {                                                                                          \
        if (!(cond))                                                                              \
            ::unicorn::detail::check_failed(__FILE__, __LINE__, #cond, fmt::format(__VA_ARGS__)); \
    } while (0)
